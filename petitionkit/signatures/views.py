"""Signing (form and JSON), confirming and cancelling over HTTP."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.wrappers import Response as BaseResponse

from petitionkit.embed.views import render_embed_page
from petitionkit.extensions import db, limiter
from petitionkit.ops import metrics
from petitionkit.petitions.models import Petition
from petitionkit.petitions.services import find_petition, petition_or_404
from petitionkit.petitions.views import render_petition_page
from petitionkit.security import is_cross_site_post, request_origin
from petitionkit.signatures import services
from petitionkit.signatures.forms import SignatureForm
from petitionkit.signatures.tokens import (
    Purpose,
    TokenExpired,
    TokenInvalid,
    read_token,
)

bp = Blueprint("signatures", __name__)
log = logging.getLogger("petitionkit.signatures")


def signing_limit() -> str:
    """The petition's own limit where it sets one, else the site-wide limit."""
    slug = (request.view_args or {}).get("slug", "")
    petition = find_petition(slug) if slug else None
    if petition is not None and petition.rate_limit:
        return petition.rate_limit
    return str(current_app.config["RATELIMIT_SIGN"])


def _refuse_cross_site() -> None:
    if is_cross_site_post():
        metrics.REJECTED.labels(reason="cross_site").inc()
        abort(403, description=gettext(
            "This form was sent from another website, so it was not accepted. "
            "Please sign on the petition's own page."
        ))


def _accepting(petition: Petition) -> None:
    if not petition.is_open():
        metrics.REJECTED.labels(reason="closed").inc()
        abort(409, description=gettext("This petition is closed and no longer takes signatures."))


def _signature_input(form: SignatureForm) -> services.SignatureInput:
    signature_input: services.SignatureInput = form.signature_input()
    return signature_input


def _record(petition: Petition, form: SignatureForm, channel: str) -> None:
    if form.is_bot():
        # Answer exactly as for a person, so the bot learns nothing; store nothing.
        metrics.REJECTED.labels(reason="honeypot").inc()
        return
    policy: services.SigningPolicy = current_app.extensions["petitionkit.signing_policy"]
    outcome = services.sign(db.session, petition, _signature_input(form), policy)
    metrics.SIGNINGS.labels(channel=channel).inc()
    log.info("signing petition=%s channel=%s outcome=%s", petition.slug, channel, outcome.value)


@bp.post("/p/<slug>/sign")
@limiter.shared_limit(signing_limit, scope="sign", methods=["POST"])
def sign_form(slug: str) -> BaseResponse | tuple[str, int]:
    _refuse_cross_site()
    petition = petition_or_404(slug)
    _accepting(petition)
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise UnsupportedMediaType(gettext("Please send the form as a web form."))
    form = SignatureForm(petition)
    embedded = form.embed.data == "1"
    if not form.validate():
        metrics.REJECTED.labels(reason="invalid").inc()
        if embedded:
            return render_embed_page(petition, form, status=422)
        return render_petition_page(petition, form, status=422)
    _record(petition, form, "embed" if embedded else "form")
    target = "embed.check_email" if embedded else "petitions.check_email"
    lang = form.lang.data or None
    return redirect(url_for(target, slug=slug, lang=lang), code=303)


def _json_errors(status: int, message: str, errors: dict[str, list[str]] | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


def _cors_headers(petition: Petition | None, response: Response) -> Response:
    origin = request.headers.get("Origin", "").lower()
    if petition is not None and origin and origin in petition.allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        response.headers["Vary"] = "Origin"
    return response


@bp.route("/api/v1/petitions/<slug>/signatures", methods=["OPTIONS"])
def api_preflight(slug: str) -> Response:
    return _cors_headers(find_petition(slug), Response(status=204))


@bp.post("/api/v1/petitions/<slug>/signatures")
@limiter.shared_limit(signing_limit, scope="sign", methods=["POST"])
def sign_api(slug: str) -> Response:
    petition = find_petition(slug)
    if petition is None or petition.status == "draft":
        return _json_errors(404, gettext("There is no petition at this address."))
    origin = request_origin()
    if is_cross_site_post() and origin not in petition.allowed_origins:
        metrics.REJECTED.labels(reason="cross_site").inc()
        return _cors_headers(petition, _json_errors(403, gettext(
            "This website is not allowed to collect signatures for this petition."
        )))
    if not petition.is_open():
        metrics.REJECTED.labels(reason="closed").inc()
        return _cors_headers(petition, _json_errors(
            409, gettext("This petition is closed and no longer takes signatures.")
        ))
    if not request.is_json:
        return _json_errors(415, gettext("Please send the signature as JSON (application/json)."))
    try:
        payload = request.get_json()
    except BadRequest:
        return _json_errors(400, gettext("The request body is not valid JSON in UTF-8."))
    problems = _json_shape_problems(payload, _plugin_field_names(petition))
    if problems:
        return _cors_headers(petition, _json_errors(
            400, gettext("Some fields have the wrong type."), problems
        ))
    form = SignatureForm(petition)
    if not form.validate():
        metrics.REJECTED.labels(reason="invalid").inc()
        return _cors_headers(petition, _json_errors(
            422, gettext("Please correct the highlighted fields."),
            {name: [str(m) for m in messages] for name, messages in form.errors.items()},
        ))
    _record(petition, form, "api")
    response = jsonify({
        "status": "pending_confirmation",
        "message": gettext(
            "Thank you! Please check your email and confirm your signature to make it count."
        ),
    })
    response.status_code = 202
    return _cors_headers(petition, response)


_BOOLEAN_FIELDS = {"consent_updates", "show_name"}
_STRING_FIELDS = {"name", "email", "country", "postal_code", "source", "lang", "website", "embed"}


def _plugin_field_names(petition: Petition) -> set[str]:
    from petitionkit.plugin_forms import plugin_form_fields

    return {field.name for field in plugin_form_fields(petition)}


def _json_shape_problems(
    payload: object, plugin_fields: set[str]
) -> dict[str, list[str]] | None:
    if not isinstance(payload, dict):
        return {"body": [gettext("The body must be a JSON object.")]}
    problems: dict[str, list[str]] = {}
    for key, value in payload.items():
        if key in _BOOLEAN_FIELDS and not isinstance(value, bool):
            problems[key] = [gettext("This must be true or false.")]
        elif key in _STRING_FIELDS and value is not None and not isinstance(value, str):
            problems[key] = [gettext("This must be text.")]
        elif key not in _BOOLEAN_FIELDS | _STRING_FIELDS | plugin_fields:
            problems[key] = [gettext("This field is not known.")]
    return problems or None


def _read(purpose: Purpose, token: str) -> tuple[str, Any]:
    """('ok', claims) | ('expired', claims) | ('invalid', None)."""
    try:
        claims = read_token(
            current_app.config["SECRET_KEY"], purpose, token,
            current_app.config["CONFIRM_TOKEN_MAX_AGE"],
        )
    except TokenExpired as expired:
        return "expired", expired.claims
    except TokenInvalid:
        return "invalid", None
    return "ok", claims


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> tuple[str, int]:
    state, claims = _read(Purpose.CONFIRM, token)
    if state == "invalid":
        return render_template("signatures/token_invalid.html"), 400
    if state == "expired":
        return render_template("signatures/token_expired.html", token=token), 410
    if request.method == "GET":
        # Mail scanners follow links; only a person pressing the button confirms.
        signature = services.lookup_for_token(db.session, claims)
        if signature is None:
            return render_template("signatures/token_invalid.html"), 400
        petition = db.session.get(Petition, signature.petition_id)
        return render_template("signatures/confirm.html", petition=petition, token=token), 200
    _refuse_cross_site()
    outcome, signature = services.confirm(
        db.session, claims.signature_id, claims.nonce,
        listener=current_app.extensions["petitionkit.confirmation_listener"],
    )
    if outcome is services.ConfirmOutcome.INVALID or signature is None:
        return render_template("signatures/token_invalid.html"), 400
    petition = db.session.get(Petition, signature.petition_id)
    if outcome is services.ConfirmOutcome.PETITION_CLOSED:
        return render_template("signatures/closed.html", petition=petition), 409
    if outcome is services.ConfirmOutcome.CONFIRMED:
        metrics.CONFIRMATIONS.inc()
        current_app.extensions["petitionkit.summary_cache"].clear()
        log.info("confirmed petition=%s", petition.slug if petition else "?")
    return render_template("signatures/confirmed.html", petition=petition), 200


@bp.post("/confirm/<token>/resend")
@limiter.shared_limit(signing_limit, scope="sign")
def resend(token: str) -> tuple[str, int]:
    _refuse_cross_site()
    state, claims = _read(Purpose.CONFIRM, token)
    if state == "invalid":
        return render_template("signatures/token_invalid.html"), 400
    policy: services.SigningPolicy = current_app.extensions["petitionkit.signing_policy"]
    petition = services.resend_confirmation(db.session, claims, policy)
    return render_template("signatures/check_email.html", petition=petition,
                           demo_mail_dir=None), 200


@bp.route("/cancel/<token>", methods=["GET", "POST"])
def cancel(token: str) -> tuple[str, int]:
    state, claims = _read(Purpose.CANCEL, token)
    if state == "invalid":
        return render_template("signatures/token_invalid.html"), 400
    # "It wasn't me" must work for as long as the mail exists, so its age is not held against it.
    signature = services.lookup_for_token(db.session, claims)
    if signature is None:
        return render_template("signatures/token_invalid.html"), 400
    petition = db.session.get(Petition, signature.petition_id)
    if request.method == "GET":
        return render_template("signatures/cancel.html", petition=petition, token=token), 200
    _refuse_cross_site()
    outcome = services.cancel(db.session, claims.signature_id, claims.nonce)
    if outcome is services.CancelOutcome.INVALID:
        return render_template("signatures/token_invalid.html"), 400
    metrics.CANCELLATIONS.inc()
    current_app.extensions["petitionkit.summary_cache"].clear()
    return render_template("signatures/cancelled.html", petition=petition), 200
