"""The proof-of-work check over HTTP: the challenge endpoint, and what the signing views, the
pages and other forms that ask for the check while signing does (anonymous reports, a plugin's
form) ask of it: ``challenge_url`` for the page (with the macros of ``_challenge.html``),
``check_solution`` for the post, ``claim`` to spend its solution in the post's transaction."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, jsonify, url_for
from flask_babel import gettext
from sqlalchemy.engine import Connection

from petitionkit.api.openapi import BOOLEAN, ERROR, operation, record
from petitionkit.challenges import services
from petitionkit.challenges.services import (
    CHALLENGE_POLICY,
    CHALLENGE_SWITCH,
    SPENT_CHALLENGES,
    ChallengePolicy,
    Problem,
    Ticket,
)
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.petitions.services import signing_petition
from petitionkit.security import canonical_origins, request_origin

bp = Blueprint("challenges", __name__)


def _policy() -> ChallengePolicy:
    policy: ChallengePolicy = CHALLENGE_POLICY.of()
    return policy


def challenge_required(petition: Petition) -> bool:
    """Whether signing ``petition`` needs a solved challenge now."""
    policy = _policy()
    if policy.mode != "auto":
        return policy.mode == "always"
    switch: services.AutoSwitch = CHALLENGE_SWITCH.of()
    on = switch.cached(petition.id)
    # The engine only when the database is read: looking it up costs a signing more than the
    # cached answer does.
    return switch.read(db.engine, policy, petition.id) if on is None else on


def challenge_url(petition: Petition) -> str | None:
    """Where the form fetches its challenge, when the petition asks for one now."""
    if not challenge_required(petition):
        return None
    return url_for("challenges.issue", slug=petition.slug)


@bp.app_template_global()
def challenge_needs_javascript() -> str:
    """What a page with JavaScript off says while the petition asks for the check."""
    return problem_message(Problem.MISSING)


def problem_message(problem: Problem) -> str:
    if problem is Problem.MISSING:
        return gettext(
            "To keep automated signing out, this form asks your browser to complete a short "
            "check, which needs JavaScript. Please turn JavaScript on and sign again, or try "
            "again later."
        )
    if problem is Problem.EXPIRED:
        return gettext("The automatic check of your browser expired. Please sign again.")
    return gettext("The automatic check of your browser did not succeed. Please sign again.")


def check_solution(petition: Petition, payload: object) -> tuple[Ticket | None, Problem | None]:
    """The post's solution checked, when the petition asks for one: a ticket to spend once the
    post is otherwise accepted, or the problem. Neither when no check is asked."""
    if not challenge_required(petition):
        return None, None
    outcome = services.verify(_policy(), petition.slug, payload)
    if isinstance(outcome, Problem):
        return None, outcome
    return outcome, None


def claim(ticket: Ticket) -> Callable[[Connection], bool]:
    """Spending the solution, for the transaction that stores the post to take
    (services.sign): called with its connection, True when the solution was not spent
    before."""
    spent: services.SpentChallenges = SPENT_CHALLENGES.of()
    return spent.claim(ticket)


@bp.get("/api/v1/petitions/<slug>/challenge")
@operation("A proof-of-work challenge for signing (docs/signing.md)", tag="public",
           responses={200: ("An ALTCHA challenge, and whether signing needs one now",
                            {**record(required=BOOLEAN), "additionalProperties": True}),
                      404: ("No such petition", ERROR),
                      409: ("The petition is closed", ERROR)})
def issue(slug: str) -> Response:
    """A fresh challenge for signing this petition, and whether signing needs one right now.

    Never cached: each challenge is accepted once. Pages of the petition's allowed origins may
    read it (CORS), as they may post to the signing API.
    """
    petition = signing_petition(slug)
    if petition is None or petition.status == "draft":
        response = jsonify({"error": gettext("There is no petition at this address.")})
        response.status_code = 404
    else:
        challenge = services.issue(_policy(), petition.slug)
        response = jsonify({**challenge.to_dict(), "required": challenge_required(petition)})
        origin = request_origin()
        if origin is not None and origin in canonical_origins(petition.allowed_origins or ()):
            response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Cache-Control"] = "no-store"
    response.headers.add("Vary", "Origin")
    return response
