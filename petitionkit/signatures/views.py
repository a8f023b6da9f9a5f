"""Signing (form and JSON), confirming and cancelling over HTTP."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.wrappers import Response as BaseResponse

from petitionkit.api.openapi import BOOLEAN, ERROR, FIELD_ERRORS, TEXT, nullable, operation, record
from petitionkit.challenges.services import Problem, Ticket
from petitionkit.challenges.views import check_solution, claim, problem_message
from petitionkit.embed.framing import petition_policy
from petitionkit.embed.views import render_embed_page
from petitionkit.extensions import db
from petitionkit.i18n import current_locale_name
from petitionkit.ops import metrics
from petitionkit.petitions.models import Petition
from petitionkit.petitions.services import (
    petition_already_loaded,
    signing_petition,
    signing_petition_or_404,
)
from petitionkit.petitions.views import render_petition_page
from petitionkit.plugins import calls
from petitionkit.plugins.events import LIFECYCLE, Lifecycle
from petitionkit.privacy import services as privacy
from petitionkit.privacy.consent import CONSENT_TEXTS
from petitionkit.security import grant_cors, is_cross_site_post
from petitionkit.signatures import services
from petitionkit.signatures.forms import SignatureForm, SigningPost, read_signing_post
from petitionkit.signatures.limits import check_signing_limit
from petitionkit.signatures.models import CANCELLED, CONFIRMED, Signature
from petitionkit.signatures.rules import CORE_BOOLEAN_FIELDS, CORE_FIELDS, CORE_TEXT_FIELDS
from petitionkit.signatures.services import SIGNING_POLICY
from petitionkit.signatures.tokens import (
    Purpose,
    TokenClaims,
    TokenExpired,
    TokenInvalid,
    make_token,
    read_token,
)

bp = Blueprint("signatures", __name__)
log = logging.getLogger("petitionkit.signatures")


def _refuse_cross_site() -> None:
    if is_cross_site_post():
        metrics.REJECTED.labels(reason="cross_site").inc()
        abort(403, description=gettext(
            "This form was sent from another website, so it was not accepted. "
            "Please sign on the petition's own page."
        ))


def _closed_message(petition: Petition) -> str:
    if petition.status == "archived":
        return gettext("This petition is archived and no longer takes signatures.")
    return gettext("This petition is closed and no longer takes signatures.")


def _accepting(petition: Petition) -> None:
    if not petition.is_open():
        metrics.REJECTED.labels(reason="closed").inc()
        abort(409, description=_closed_message(petition))


def _check_challenge(petition: Petition, post: SigningPost) -> Ticket | None:
    """The proof-of-work check, when the petition asks for one: its problem joins the post's
    errors under ``altcha``; a good solution comes back, to be spent with the signature."""
    ticket, problem = check_solution(petition, post.challenge)
    if problem is not None:
        post.errors = {**post.errors, "altcha": [problem_message(problem)]}
    return ticket


def _count_refusal(post: SigningPost) -> None:
    only_the_check = post.errors.keys() == {"altcha"}
    metrics.REJECTED.labels(reason="challenge" if only_the_check else "invalid").inc()


def _sign(petition: Petition, post: SigningPost, channel: str, ticket: Ticket | None) -> None:
    """Sign a post without errors. Its solution, if any, is spent in the same transaction, so a
    post refused for something else (a typo in the address) can be sent again, corrected, with
    the same one; one already spent becomes the post's error and nothing is written."""
    if post.is_bot:
        # Answer exactly as for a person, so the bot learns nothing; store nothing.
        metrics.REJECTED.labels(reason="honeypot").inc()
        return
    policy: services.SigningPolicy = SIGNING_POLICY.of()
    data = post.signed()
    # The wording this request's form shows (the JSON API: what it would show in this language).
    data = replace(data, consent_text_id=CONSENT_TEXTS.of().id_for(db.engine, petition,
                                                                   data.locale))
    outcome = services.sign(db.engine, petition, data, policy,
                            claim=claim(ticket) if ticket is not None else None)
    if outcome is services.SignOutcome.CLAIM_REFUSED:
        post.errors = {"altcha": [problem_message(Problem.INVALID)]}
        return
    metrics.SIGNINGS.labels(channel=channel).inc()
    # The outcome (new, repeat, capped…) stays out of the log: joined with an access log by
    # time it would tell who had signed before.
    log.info("signing petition=%s channel=%s", petition.slug, channel)


@bp.post("/p/<slug>/sign")
def sign_form(slug: str) -> BaseResponse | tuple[str, int]:
    # Every attempt counts, refused ones too, before anything else is looked at.
    check_signing_limit(signing_petition(slug))
    _refuse_cross_site()
    petition = signing_petition_or_404(slug)
    _accepting(petition)
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise UnsupportedMediaType(gettext("Please send the form as a web form."))
    post = read_signing_post(petition)
    ticket = _check_challenge(petition, post)
    if not post.errors:
        _sign(petition, post, "embed" if post.embedded else "form", ticket)
    if post.errors:
        _count_refusal(post)
        form = SignatureForm(petition, post)
        if post.embedded:
            return render_embed_page(petition, form, status=422)
        return render_petition_page(petition, form, status=422)
    target = "embed.check_email" if post.embedded else "petitions.check_email"
    return redirect(url_for(target, slug=slug, lang=post.page_lang), code=303)


def _json_errors(status: int, message: str, errors: dict[str, list[str]] | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


def _posted_from_the_widget() -> bool:
    # The iframe's own pages are same-origin, so their Referer is sent in full.
    referer = request.headers.get("Referer", "")
    return urlsplit(referer).path.startswith("/embed/") and not is_cross_site_post()


@bp.after_request
def _widget_answers_may_be_framed(response: BaseResponse) -> BaseResponse:
    """Whatever the widget's post gets back ("closed", "too many attempts", "too large") shows
    inside its iframe, so it takes the petition's framing policy like the iframe's own pages."""
    if request.endpoint == "signatures.sign_form" and g.get("embed_policy") is None:
        # The limiter has read the petition already; asking again could raise the very
        # database error this answer reports.
        petition = petition_already_loaded((request.view_args or {}).get("slug"))
        if petition is not None and _posted_from_the_widget():
            g.embed_policy = petition_policy(petition)
    return response


@bp.after_request
def _cors_headers(response: BaseResponse) -> BaseResponse:
    """CORS for the signing API on every answer, for the petition's allowed origins only."""
    if request.endpoint not in ("signatures.sign_api", "signatures.api_preflight"):
        return response
    slug = (request.view_args or {}).get("slug", "")
    grant_cors(response, lambda: signing_petition(slug))
    return response


# The core's fields by their JSON type (signatures/rules.py); a petition's plugins may take more.
SIGNING_BODY = {
    "type": "object", "required": ["name", "email"],
    "description": "The signing form's fields; a plugin may add fields to a petition's form.",
    "properties": {**{key: BOOLEAN for key in sorted(CORE_BOOLEAN_FIELDS)},
                   **{key: nullable(TEXT) for key in sorted(CORE_TEXT_FIELDS)},
                   "email": {"type": "string", "format": "email"}},
}


@bp.route("/api/v1/petitions/<slug>/signatures", methods=["OPTIONS"])
def api_preflight(slug: str) -> Response:
    return Response(status=204)


@bp.post("/api/v1/petitions/<slug>/signatures")
@operation("Sign: the signature waits for its confirmation by e-mail", tag="public",
           request=SIGNING_BODY,
           responses={202: ("Accepted; a mail asks to confirm",
                            record(status={"const": "pending_confirmation"}, message=TEXT)),
                      400: ("Fields of the wrong type", FIELD_ERRORS),
                      403: ("Another site", ERROR), 404: ("No such petition", ERROR),
                      409: ("Closed", ERROR), 413: ("Too large", ERROR),
                      415: ("Not JSON", ERROR), 422: ("Fields to correct", FIELD_ERRORS)})
def sign_api(slug: str) -> Response:
    petition = signing_petition(slug)
    check_signing_limit(petition)
    if petition is None or petition.status == "draft":
        return _json_errors(404, gettext("There is no petition at this address."))
    if is_cross_site_post(allowed=petition.allowed_origins or ()):
        metrics.REJECTED.labels(reason="cross_site").inc()
        return _json_errors(403, gettext(
            "This website is not allowed to collect signatures for this petition."
        ))
    if not petition.is_open():
        metrics.REJECTED.labels(reason="closed").inc()
        return _json_errors(409, _closed_message(petition))
    if not request.is_json:
        return _json_errors(415, gettext("Please send the signature as JSON (application/json)."))
    try:
        payload = request.get_json()
    except BadRequest as unreadable:
        generic = unreadable.description == BadRequest.description
        return _json_errors(400, gettext("The request body is not valid JSON in UTF-8.")
                            if generic else str(unreadable.description))
    problems = _json_shape_problems(payload, _plugin_field_names(petition))
    if problems:
        return _json_errors(400, gettext("Some fields have the wrong type."), problems)
    post = read_signing_post(petition)
    ticket = _check_challenge(petition, post)
    if not post.errors:
        _sign(petition, post, "api", ticket)
    if post.errors:
        _count_refusal(post)
        if post.errors.keys() == {"altcha"}:
            return _json_errors(422, post.errors["altcha"][0], post.errors)
        return _json_errors(422, gettext("Please correct the highlighted fields."), post.errors)
    return _accepted()


def _accepted() -> Response:
    """The answer to every signing, repeats included: the same bytes for everyone who signs in
    a language, so they are made once per language and process."""
    bodies: dict[str, bytes] = current_app.extensions.setdefault(
        "petitionkit.accepted_answers", {}
    )
    locale = current_locale_name()
    if locale not in bodies:
        bodies[locale] = jsonify({
            "status": "pending_confirmation",
            "message": gettext(
                "Thank you! Please check your email and confirm your signature to make it count."
            ),
        }).get_data()
    return Response(bodies[locale], status=202, mimetype="application/json")


def _plugin_field_names(petition: Petition) -> set[str]:
    return {field.name for field in calls.form_fields(petition)}


def _json_shape_problems(
    payload: object, plugin_fields: set[str]
) -> dict[str, list[str]] | None:
    if not isinstance(payload, dict):
        return {"body": [gettext("The body must be a JSON object.")]}
    problems: dict[str, list[str]] = {}
    for key, value in payload.items():
        if key in CORE_BOOLEAN_FIELDS and not isinstance(value, bool):
            problems[key] = [gettext("This must be true or false.")]
        elif key in CORE_TEXT_FIELDS and value is not None and not isinstance(value, str):
            problems[key] = [gettext("This must be text.")]
        elif key not in CORE_FIELDS and key not in plugin_fields:
            problems[key] = [gettext("This field is not known.")]
    return problems or None


def _read(purpose: Purpose, token: str, max_age: int | None) -> tuple[str, TokenClaims | None]:
    """('ok', claims) | ('expired', claims) | ('invalid', None)."""
    try:
        claims = read_token(current_app.config["SECRET_KEY"], purpose, token, max_age)
    except TokenExpired as expired:
        return "expired", expired.claims
    except TokenInvalid:
        return "invalid", None
    return "ok", claims


def _confirm_max_age() -> int:
    return int(current_app.config["CONFIRM_TOKEN_MAX_AGE"])


def _token_invalid() -> tuple[str, int]:
    return render_template("signatures/token_invalid.html"), 400


def _confirmed_page(petition: Petition | None, claims: TokenClaims) -> tuple[str, int]:
    """The thank-you page, with the signer's own report form (their link, as in the mail)."""
    token = make_token(current_app.config["SECRET_KEY"], Purpose.REPORT, claims.signature_id,
                       claims.nonce)
    return render_template("signatures/confirmed.html", petition=petition,
                           report_token=token), 200


def _settled_page(
    signature: Signature, petition: Petition | None, claims: TokenClaims
) -> tuple[str, int] | None:
    """The page for a signature a confirm link can no longer change, or None if still pending."""
    if signature.status == CONFIRMED:
        return _confirmed_page(petition, claims)
    if signature.status == CANCELLED:
        return render_template("signatures/cancelled.html", petition=petition), 410
    return None


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> tuple[str, int]:
    state, claims = _read(Purpose.CONFIRM, token, _confirm_max_age())
    if claims is None:
        return _token_invalid()
    if request.method == "POST":
        _refuse_cross_site()
    signature = services.lookup_for_token(db.session(), claims)
    if signature is None:
        return _token_invalid()
    petition = db.session.get(Petition, signature.petition_id)
    settled = _settled_page(signature, petition, claims)
    if settled is not None:
        return settled
    if state == "expired":
        return render_template("signatures/token_expired.html", token=token), 410
    if petition is None or not petition.is_open():
        return render_template("signatures/closed.html", petition=petition), 409
    if request.method != "POST":
        # Mail scanners and link previews follow links, with GET or HEAD: only a person
        # pressing the button confirms.
        return render_template("signatures/confirm.html", petition=petition, token=token), 200
    events: Lifecycle = LIFECYCLE.of()
    outcome, _ = services.confirm(db.session(), claims.signature_id, claims.nonce, listener=events)
    if outcome is services.ConfirmOutcome.INVALID:
        return _token_invalid()
    if outcome is services.ConfirmOutcome.PETITION_CLOSED:
        return render_template("signatures/closed.html", petition=petition), 409
    if outcome is services.ConfirmOutcome.WITHDRAWN:
        return render_template("signatures/cancelled.html", petition=petition), 410
    if outcome is services.ConfirmOutcome.CONFIRMED:
        events.confirmed(petition)
    return _confirmed_page(petition, claims)


@bp.post("/confirm/<token>/resend")
def resend(token: str) -> tuple[str, int]:
    check_signing_limit(None)
    _refuse_cross_site()
    _state, claims = _read(Purpose.CONFIRM, token, None)
    if claims is None:
        return _token_invalid()
    policy: services.SigningPolicy = SIGNING_POLICY.of()
    found, petition = services.resend_confirmation(db.session(), claims, policy)
    if not found:
        return _token_invalid()
    # The same page whatever happened: a link for a signature that is already settled or whose
    # daily mail allowance is spent sends nothing, and says nothing about it either.
    return render_template("signatures/check_email.html", petition=petition,
                           demo_mail_dir=None), 200


@bp.route("/cancel/<token>", methods=["GET", "POST"])
def cancel(token: str) -> tuple[str, int]:
    # "It wasn't me" must work for as long as the mail exists, so its age is not held against it.
    _state, claims = _read(Purpose.CANCEL, token, None)
    if claims is None:
        return _token_invalid()
    if request.method == "POST":
        _refuse_cross_site()
    signature = services.lookup_for_token(db.session(), claims)
    if signature is None:
        return _token_invalid()
    petition = db.session.get(Petition, signature.petition_id)
    if request.method != "POST":
        # HEAD included: only the button's POST (or a mail program's one-click POST) withdraws.
        if signature.status == CANCELLED:
            return _cancelled_page(signature, petition), 200
        return render_template("signatures/cancel.html", petition=petition, token=token), 200
    # Whoever signed with this address, their name and address go: only the blind index stays,
    # so that the address is not mailed again about this petition.
    _erase(signature, petition, services.WITHDRAWN_BY_SIGNER)
    return _cancelled_page(signature, petition), 200


def _cancelled_page(signature: Signature, petition: Petition | None) -> str:
    return render_template("signatures/cancelled.html", petition=petition,
                           erased=signature.erased_at is not None)


def _erase(signature: Signature, petition: Petition | None, reason: str) -> None:
    events: Lifecycle = LIFECYCLE.of()
    erasure = privacy.erase(db.session(), signature, reason, listener=events)
    if erasure.withdrawn:
        events.withdrawn(petition)


@bp.route("/erase/<token>", methods=["GET", "POST"])
def erase(token: str) -> tuple[str, int]:
    """"Delete my data", from every mail to a signer: the page explains, its button erases."""
    _state, claims = _read(Purpose.ERASE, token, None)
    if claims is None:
        return _token_invalid()
    if request.method == "POST":
        _refuse_cross_site()
    signature = services.lookup_for_token(db.session(), claims)
    if signature is None:
        return _token_invalid()
    petition = db.session.get(Petition, signature.petition_id)
    if signature.erased_at is None:
        if request.method != "POST":
            # Mail scanners and link previews follow links: only the button's POST erases.
            return render_template("signatures/erase.html", petition=petition, token=token,
                                   counted=signature.status == CONFIRMED), 200
        _erase(signature, petition, services.WITHDRAWN_BY_ERASURE)
    return render_template("signatures/erased.html", petition=petition), 200
