"""Reporting actions taken over HTTP: the signer's own link, the form and the JSON API.

Every post is counted against ``RATELIMIT_REPORT`` first, refused from other sites (the form)
or from origins the petition does not allow (the JSON API), and read with the same rules: see
``actions.services`` for what a report counts for.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.wrappers import Response as BaseResponse

from petitionkit.actions import services
from petitionkit.actions.services import Report, action_label, declared
from petitionkit.api.openapi import BOOLEAN, ERROR, FIELD_ERRORS, TEXT, nullable, operation, record
from petitionkit.challenges.services import Problem
from petitionkit.challenges.views import challenge_url, check_solution, claim, problem_message
from petitionkit.embed.framing import petition_policy
from petitionkit.embed.views import embed_context
from petitionkit.extensions import db
from petitionkit.i18n import current_locale_name
from petitionkit.ops import metrics
from petitionkit.petitions.models import Petition
from petitionkit.petitions.services import signing_petition, signing_petition_or_404
from petitionkit.plugins.events import LIFECYCLE, Lifecycle
from petitionkit.security import grant_cors, is_cross_site_post
from petitionkit.signatures.limits import check_report_limit
from petitionkit.signatures.models import CANCELLED, CONFIRMED
from petitionkit.signatures.services import lookup_for_token
from petitionkit.signatures.tokens import (
    Purpose,
    TokenExpired,
    TokenInvalid,
    make_token,
    read_token,
)

bp = Blueprint("actions", __name__)

# The fields a JSON report may carry.
JSON_FIELDS = frozenset({"actions", "outcome", "target", "token", "altcha"})


class Refusal(Exception):
    """A report refused as a whole: the status and what the reporter is told."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def report_token(signature_id: int, nonce: str) -> str:
    """The signer's own report link's token (in the confirmation mail and page)."""
    return make_token(current_app.config["SECRET_KEY"], Purpose.REPORT, signature_id, nonce)


def report_choices(petition: Petition) -> list[tuple[str, str]]:
    """(key, label in the reader's language) of each action the petition asks about."""
    locale = current_locale_name()
    return [(key, action_label(action, locale, petition.locale))
            for key, action in declared(petition).items()]


def shown_action_counts(petition: Petition) -> list[tuple[str, int]]:
    """(label, count) of the counted reports, for pages; nothing while the count is hidden."""
    if not petition.report_actions or petition.count_hidden:
        return []
    counts = services.action_counts(db.session(), petition).counted
    return [(label, counts[key]) for key, label in report_choices(petition) if counts[key]]


@bp.record_once
def _template_globals(state: Any) -> None:
    state.app.jinja_env.globals.update(
        report_choices=report_choices, shown_action_counts=shown_action_counts,
        report_challenge=challenge_url,
    )


def _signer(petition: Petition, token: str) -> int:
    """The confirmed signature a report link names, or the refusal."""
    invalid = Refusal(400, gettext(
        "This report link is not valid. Please use the link from your e-mail."
    ))
    try:
        claims = read_token(current_app.config["SECRET_KEY"], Purpose.REPORT, token, None)
    except (TokenInvalid, TokenExpired) as error:
        raise invalid from error
    signature = lookup_for_token(db.session(), claims)
    if signature is None or signature.petition_id != petition.id:
        raise invalid
    if signature.status == CANCELLED:
        raise Refusal(410, gettext("This signature was withdrawn, so it cannot report actions."))
    if signature.status != CONFIRMED:
        raise Refusal(409, gettext(
            "Please confirm your signature first (the link in your e-mail); then report here."
        ))
    return signature.id


def _accepting(petition: Petition) -> None:
    if not petition.is_open():
        raise Refusal(409, gettext("This petition is closed and no longer takes reports."))


def _record(
    petition: Petition, values: dict[str, Any]
) -> tuple[int, bool] | dict[str, list[str]]:
    """Check and store one report: (how many actions were new, whether they count), or the
    field errors. Raises ``Refusal`` for a bad link or a closed petition."""
    _accepting(petition)
    token = values.get("token")
    if token is not None and not isinstance(token, str):
        return {"token": [gettext("This must be text.")]}
    signature_id = _signer(petition, token) if token else None
    report = services.read_report(petition, values.get("actions"), values.get("outcome"),
                                  values.get("target"))
    if not isinstance(report, Report):
        return report
    ticket = None
    if signature_id is None:
        # Anonymous reports ask for the same proof-of-work check as signing, while it does.
        ticket, problem = check_solution(petition, values.get("altcha"))
        if problem is not None:
            return {"altcha": [problem_message(problem)]}
    events: Lifecycle = LIFECYCLE.of()
    recorded = services.record_report(
        db.session(), petition, report, signature_id, listener=events,
        claim=claim(ticket) if ticket is not None else None,
    )
    if recorded is None:
        return {"altcha": [problem_message(Problem.INVALID)]}
    events.reported(petition, recorded, counted=signature_id is not None)
    return recorded, signature_id is not None


def _page(template: str, petition: Petition, embed: bool, status: int, **context: Any
          ) -> tuple[str, int]:
    context = {**context, "petition": petition, "embed": embed}
    if embed:
        # Shown inside the widget's iframe: framed by the petition's allowed origins only.
        g.embed_policy = petition_policy(petition)
        context = {**embed_context(petition), **context, "stage": "report"}
    return render_template(template, **context), status


@bp.get("/p/<slug>/report")
def report_page(slug: str) -> tuple[str, int]:
    """The form of the signer's own link (``?token=``), or the anonymous one without it."""
    petition = signing_petition_or_404(slug)
    token = request.args.get("token", "")
    embed = request.args.get("embed") == "1"
    try:
        if token:
            _signer(petition, token)
        _accepting(petition)
    except Refusal as refusal:
        return _page("actions/refused.html", petition, embed, refusal.status,
                     message=refusal.message)
    return _page("actions/report.html", petition, embed, 200, report_token=token or None,
                 errors={})


@bp.post("/p/<slug>/report")
def report_form(slug: str) -> tuple[str, int]:
    check_report_limit()
    if is_cross_site_post():
        metrics.REJECTED.labels(reason="cross_site").inc()
        abort(403, description=gettext(
            "This form was sent from another website, so it was not accepted."
        ))
    petition = signing_petition_or_404(slug)
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise UnsupportedMediaType(gettext("Please send the form as a web form."))
    embed = request.form.get("embed") == "1"
    token = request.form.get("token") or None
    values = {"actions": request.form.getlist("action"), "outcome": request.form.get("outcome"),
              "target": request.form.get("target"), "token": token,
              "altcha": request.form.get("altcha")}
    try:
        outcome = _record(petition, values)
    except Refusal as refusal:
        return _page("actions/refused.html", petition, embed, refusal.status,
                     message=refusal.message)
    if isinstance(outcome, dict):
        return _page("actions/report.html", petition, embed, 422, report_token=token,
                     errors=outcome)
    return _page("actions/reported.html", petition, embed, 200, counted=outcome[1],
                 report_token=token)


def _json_errors(status: int, message: str, errors: dict[str, list[str]] | None = None
                 ) -> Response:
    body: dict[str, Any] = {"error": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


@bp.route("/api/v1/petitions/<slug>/reports", methods=["OPTIONS"])
def api_preflight(slug: str) -> Response:
    return Response(status=204)


@bp.post("/api/v1/petitions/<slug>/reports")
@operation("Report an action taken (docs/petitions.md, report_actions)", tag="public",
           request={"type": "object", "required": ["actions"], "properties": {
               "actions": {"type": "array", "items": TEXT}, "outcome": nullable(TEXT),
               "target": nullable(TEXT), "token": nullable(TEXT), "altcha": nullable(TEXT)}},
           responses={202: ("Recorded", record(status={"const": "recorded"}, counted=BOOLEAN,
                                               message=TEXT)),
                      400: ("Fields of the wrong type", FIELD_ERRORS),
                      403: ("Another site", ERROR), 404: ("No such petition", ERROR),
                      409: ("Closed", ERROR), 413: ("Too large", ERROR),
                      415: ("Not JSON", ERROR), 422: ("Fields to correct", FIELD_ERRORS)})
def report_api(slug: str) -> Response:
    check_report_limit()
    petition = signing_petition(slug)
    if petition is None or petition.status == "draft":
        return _json_errors(404, gettext("There is no petition at this address."))
    if is_cross_site_post(allowed=petition.allowed_origins or ()):
        metrics.REJECTED.labels(reason="cross_site").inc()
        return _json_errors(403, gettext(
            "This website is not allowed to send reports for this petition."
        ))
    if not request.is_json:
        return _json_errors(415, gettext("Please send the report as JSON (application/json)."))
    try:
        payload = request.get_json()
    except BadRequest as unreadable:
        generic = unreadable.description == BadRequest.description
        return _json_errors(400, gettext("The request body is not valid JSON in UTF-8.")
                            if generic else str(unreadable.description))
    if not isinstance(payload, dict):
        return _json_errors(400, gettext("The body must be a JSON object."))
    unknown = sorted(str(key) for key in payload if key not in JSON_FIELDS)
    if unknown:
        return _json_errors(400, gettext("Some fields are not known."),
                            {key: [gettext("This field is not known.")] for key in unknown})
    try:
        outcome = _record(petition, payload)
    except Refusal as refusal:
        return _json_errors(refusal.status, refusal.message)
    if isinstance(outcome, dict):
        return _json_errors(422, gettext("Please correct the highlighted fields."), outcome)
    response = jsonify(status="recorded", counted=outcome[1],
                       message=gettext("Thank you for telling us what you did."))
    response.status_code = 202
    return response


@bp.after_app_request
def _cors_headers(response: BaseResponse) -> BaseResponse:
    """CORS for the reports API on every answer (errors and 429 included), for the petition's
    allowed origins only, as for the signing API."""
    if request.endpoint not in ("actions.report_api", "actions.api_preflight"):
        return response
    slug = (request.view_args or {}).get("slug", "")
    grant_cors(response, lambda: signing_petition(slug))
    return response
