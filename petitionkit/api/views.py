"""The write API: /api/v1 routes for tokens of the workspace's roles, over the same services
as the workspace (petitions/editing.py, signatures/moderation.py, the organisations' approval).

A request carries ``Authorization: Bearer pk_…``; cookies give no authority here, so the routes
need no CSRF token. Errors are JSON ``{"error": …}`` (with ``errors`` per key when a petition is
refused). Each token is rate-limited per client (``RATELIMIT_API``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.exceptions import BadRequest, NotFound, UnsupportedMediaType

from petitionkit.api.openapi import (
    BOOLEAN,
    COUNT,
    ERROR,
    FIELD_ERRORS,
    INTEGER,
    MOMENT,
    OBJECT,
    TEXT,
    document,
    nullable,
    operation,
    record,
)
from petitionkit.api.tokens import ApiToken, limited_to, token_for
from petitionkit.encryption import DATA_SEALER, KeyUnavailable
from petitionkit.extensions import db
from petitionkit.petitions.editing import (
    PetitionFileManaged,
    PetitionInvalid,
    create_petition,
    petition_as_data,
    update_petition,
)
from petitionkit.petitions.loader import KNOWN_KEYS
from petitionkit.petitions.models import Petition
from petitionkit.petitions.services import public_status
from petitionkit.plugins import calls
from petitionkit.plugins.events import LIFECYCLE
from petitionkit.signatures import moderation
from petitionkit.signatures.limits import check_client_limit
from petitionkit.signatures.models import ORGANIZATION, ModerationRun, PersonalData, Signature
from petitionkit.signatures.moderation import Criteria, ModerationError, utc_moment
from petitionkit.signatures.organizations import pending_organizations
from petitionkit.signatures.services import SIGNING_POLICY

bp = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F", bound=Callable[..., Any])
# A petition's text may be longer than MAX_CONTENT_LENGTH allows other requests.
LARGE_BODY = 1024 * 1024
PAGE = 1000
PETITION_BODY = {"type": "object", "description": "The keys of a petition file's front matter "
                 "(docs/petitions.md), plus body (Markdown); a plugin may read further keys.",
                 "properties": {**{key: {} for key in sorted(KNOWN_KEYS)},
                                "slug": TEXT, "title": TEXT, "body": TEXT}}
PETITION = {**record(slug=TEXT, title=TEXT, body=TEXT),
            "description": "The front matter as written, plus slug and body."}
LISTED = record(slug=TEXT, title=TEXT, status=TEXT, kind=TEXT, locale=TEXT, count=COUNT,
                offline=COUNT, organizations=COUNT, file_managed=BOOLEAN, created_at=MOMENT)
STATUS = record(changed=BOOLEAN)


def api_error(status: int, message: str, **extra: Any) -> Response:
    response = jsonify(error=message, **extra)
    response.status_code = status
    return response


def _unauthorized(message: str) -> Response:
    response = api_error(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="petitionkit"'
    return response


def require_token(role: str) -> Callable[[F], F]:
    """A live token of ``role`` or above, counted against its rate limit."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                return _unauthorized(gettext(
                    "Send a token of the workspace: Authorization: Bearer pk_…"))
            token = token_for(db.session(), secret.strip())
            if token is None:
                return _unauthorized(gettext("This token is unknown or has been revoked."))
            check_client_limit(str(current_app.config["RATELIMIT_API"]), f"api-{token.id}")
            if not token.may(role):
                return api_error(403, gettext("This token's role (%(role)s) may not do this.",
                                           role=token.role))
            g.api_token = token
            g.api_petitions = limited_to(db.session(), token)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def token_actor() -> str:
    token: ApiToken = g.api_token
    return f"token {token.id} ({token.name})"


def json_object(limit: int | None = None) -> dict[str, Any]:
    if limit is not None:
        request.max_content_length = limit
    if not request.is_json:
        raise UnsupportedMediaType(gettext("Send JSON (Content-Type: application/json)."))
    try:
        payload = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError) as error:
        raise BadRequest(gettext("The request body is not valid JSON in UTF-8.")) from error
    if not isinstance(payload, dict):
        raise BadRequest(gettext("The request body must be a JSON object."))
    return payload


def petition_at(slug: str) -> Petition:
    """The petition at ``slug`` if the request's token may reach it; otherwise 404, so that a
    token limited to some petitions does not learn which others exist."""
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug[:80]))
    allowed: set[int] | None = g.api_petitions
    if petition is None or (allowed is not None and petition.id not in allowed):
        raise NotFound(gettext("There is no petition at this address."))
    return petition


def _listed(petition: Petition) -> dict[str, Any]:
    return {"slug": petition.slug, "title": petition.title, "status": public_status(petition),
            "kind": petition.kind, "locale": petition.locale,
            "count": petition.signature_count, "offline": petition.offline_count,
            "organizations": petition.organization_count,
            "file_managed": petition.file_managed,
            "created_at": petition.created_at.isoformat()}


@bp.get("/openapi.json")
@operation("This document", tag="meta", responses={200: ("OpenAPI 3.1", OBJECT)})
def openapi_document() -> Response:
    response = jsonify(document(current_app))
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/petitions")
@operation("Every petition with its counts and status", tag="petitions", role="viewer",
           responses={200: ("The petitions", record(
               petitions={"type": "array", "items": LISTED}))})
@require_token("viewer")
def list_petitions() -> Response:
    query = select(Petition).order_by(Petition.created_at.desc(), Petition.id.desc())
    if g.api_petitions is not None:
        query = query.where(Petition.id.in_(g.api_petitions))
    petitions = db.session.scalars(query)
    return jsonify(petitions=[_listed(petition) for petition in petitions])


@bp.post("/petitions")
@operation("Create a petition", tag="petitions", role="editor", request=PETITION_BODY,
           responses={201: ("Created", PETITION), 400: ("Not a JSON object", ERROR),
                      413: ("Too large", ERROR), 415: ("Not JSON", ERROR),
                      422: ("Refused, with a message per key", FIELD_ERRORS)})
@require_token("editor")
def create() -> Response:
    data = json_object(LARGE_BODY)
    try:
        petition = create_petition(db.session(), data, token_actor(), calls.petition_sections(),
                                   LIFECYCLE.of(), steps=calls.step_names())
    except PetitionInvalid as invalid:
        db.session.rollback()
        return api_error(422, gettext("The petition was not saved."), errors=invalid.errors)
    response = jsonify(petition_as_data(petition))
    response.status_code = 201
    return response


@bp.get("/petitions/<slug>/data")
@operation("A petition as front matter and body", tag="petitions", role="editor",
           responses={200: ("The petition", PETITION), 404: ("No such petition", ERROR)})
@require_token("editor")
def read(slug: str) -> Response:
    return jsonify(petition_as_data(petition_at(slug)))


@bp.patch("/petitions/<slug>")
@operation("Change a petition: the keys given (null: back to the default)", tag="petitions",
           role="editor", request=PETITION_BODY,
           responses={200: ("Changed", record(changed={"type": "array", "items": TEXT},
                                              petition=PETITION)),
               400: ("Not a JSON object", ERROR), 404: ("No such petition", ERROR),
               409: ("Managed by its file", ERROR), 413: ("Too large", ERROR),
               415: ("Not JSON", ERROR), 422: ("Refused, with a message per key", FIELD_ERRORS)})
@require_token("editor")
def change(slug: str) -> Response:
    petition = petition_at(slug)
    changes = json_object(LARGE_BODY)
    try:
        changed = update_petition(db.session(), petition, changes, token_actor(),
                                  calls.petition_sections(), LIFECYCLE.of(),
                                  steps=calls.step_names())
    except PetitionFileManaged as managed:
        return api_error(409, str(managed))
    except PetitionInvalid as invalid:
        db.session.rollback()
        return api_error(422, gettext("The petition was not saved."), errors=invalid.errors)
    return jsonify(changed=sorted(changed), petition=petition_as_data(petition))


def signature_record(signature: Signature, opener: Any = None) -> dict[str, Any]:
    """A signature as the API shows it; with ``opener`` (an owner's, where the private key
    is), also the signer's name, address and postal code."""
    record: dict[str, Any] = {
        "id": signature.id, "kind": signature.kind, "status": signature.status,
        "created_at": signature.created_at.isoformat(),
        "confirmed_at": signature.confirmed_at.isoformat() if signature.confirmed_at else None,
        "source": signature.source, "public_name": signature.public_name,
        "name_hidden": signature.name_hidden_at is not None,
        "organization": signature.organization if signature.kind == ORGANIZATION else None,
        "country": signature.country, "invalidation_reason": signature.invalidation_reason,
    }
    if opener is not None and signature.sealed is not None:
        personal = PersonalData.from_json(DATA_SEALER.of().open_json(signature.sealed))
        record.update(name=personal.name, email=personal.email,
                      postal_code=personal.postal_code)
    return record


def personal_opener() -> Any:
    """What opens signers' sealed data, for an owner's token where this process holds the
    private key; otherwise None, and answers carry no personal data."""
    token: ApiToken = g.api_token
    if not token.may("owner"):
        return None
    try:
        return DATA_SEALER.of().opener()
    except KeyUnavailable:
        return None


@bp.get("/petitions/<slug>/signatures")
@operation("The petition's signatures as JSON Lines; names and addresses for owners only, "
           "where the private key is", tag="signatures", role="moderator",
           query={"after": {"type": "integer", "minimum": 0}},
           response_media="application/x-ndjson",
           responses={200: ("One JSON object per line", {"type": "string"}),
                      400: ("A bad cursor", ERROR), 404: ("No such petition", ERROR)})
@require_token("moderator")
def signatures(slug: str) -> Response:
    petition = petition_at(slug)
    after_text = request.args.get("after", "0")
    if not (after_text.isascii() and after_text.isdigit() and len(after_text) < 12):
        raise BadRequest(gettext("after must be a signature number (0 or more)."))
    opener = personal_opener()

    def lines(after: int) -> Iterator[str]:
        while True:
            page = list(db.session.scalars(
                select(Signature).where(Signature.petition_id == petition.id,
                                        Signature.id > after)
                .order_by(Signature.id).limit(PAGE)))
            for signature in page:
                yield json.dumps(signature_record(signature, opener), ensure_ascii=False) + "\n"
            if len(page) < PAGE:
                return
            after = page[-1].id
            db.session.expunge_all()

    return Response(stream_with_context(lines(int(after_text))), mimetype="application/x-ndjson")


SIGNATURE = {**record(
    optional={"name": TEXT, "email": TEXT, "postal_code": nullable(TEXT)},
    id=INTEGER, kind=TEXT, status=TEXT, created_at=MOMENT, confirmed_at=nullable(MOMENT),
    source=nullable(TEXT), public_name=nullable(TEXT), name_hidden=BOOLEAN,
    organization=nullable(TEXT), country=nullable(TEXT), invalidation_reason=nullable(TEXT)),
    "description": "A signature; name, email and postal_code for owners only, where the "
                   "private key is."}
SEARCH = {"type": "object", "description": "One of email (found through the blind index) or "
          "name (part of a public or organisation name).",
          "properties": {"email": {"type": "string", "maxLength": 320},
                         "name": {"type": "string", "maxLength": 200}}}


@bp.post("/petitions/<slug>/signatures/search")
@operation("Find signatures by e-mail address or by name, newest first (at most 50)",
           tag="moderation", role="moderator", request=SEARCH,
           responses={200: ("The signatures found",
                            record(signatures={"type": "array", "items": SIGNATURE})),
                      404: ("No such petition", ERROR),
                      422: ("Neither an address nor a name, or not text", ERROR)})
@require_token("moderator")
def search(slug: str) -> Response:
    petition = petition_at(slug)
    body = json_object()
    email, name = body.get("email") or "", body.get("name") or ""
    if not isinstance(email, str) or not isinstance(name, str):
        return api_error(422, gettext("email and name are text."))
    policy = SIGNING_POLICY.of()
    try:
        found = moderation.find(db.session(), petition, email=email, name=name,
                                rules=policy.rules, index_key=policy.index_key)
    except ModerationError as error:
        return api_error(422, str(error))
    opener = personal_opener()
    return jsonify(signatures=[signature_record(signature, opener) for signature in found])


def _signature(petition: Petition, signature_id: int) -> Signature:
    try:
        return moderation.signature_of(db.session(), petition, signature_id)
    except ModerationError as error:
        raise NotFound(str(error)) from error


MODERATED = {200: ("Done, or nothing to do", STATUS), 404: ("No such signature", ERROR)}


@bp.post("/petitions/<slug>/signatures/<int:signature_id>/hide")
@operation("Hide a public name", tag="moderation", role="moderator", responses=MODERATED)
@require_token("moderator")
def hide(slug: str, signature_id: int) -> Response:
    signature = _signature(petition_at(slug), signature_id)
    return jsonify(changed=moderation.hide_name(db.session(), signature, token_actor()))


@bp.post("/petitions/<slug>/signatures/<int:signature_id>/show")
@operation("Show a hidden public name again", tag="moderation", role="moderator",
           responses=MODERATED)
@require_token("moderator")
def show(slug: str, signature_id: int) -> Response:
    signature = _signature(petition_at(slug), signature_id)
    return jsonify(changed=moderation.show_name(db.session(), signature, token_actor()))


REASON = {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 200}},
          "required": ["reason"]}


@bp.post("/petitions/<slug>/signatures/<int:signature_id>/invalidate")
@operation("Invalidate a signature with a reason", tag="moderation", role="moderator",
           request=REASON, responses={**MODERATED, 400: ("Not a JSON object", ERROR),
                                      415: ("Not JSON", ERROR), 422: ("No reason", ERROR)})
@require_token("moderator")
def invalidate(slug: str, signature_id: int) -> Response:
    signature = _signature(petition_at(slug), signature_id)
    reason = json_object().get("reason")
    if not isinstance(reason, str):
        return api_error(422, gettext("Say why, in a few words: it is kept with the signature."))
    try:
        changed = moderation.invalidate(db.session(), signature, reason, token_actor(),
                                        LIFECYCLE.of())
    except ModerationError as error:
        return api_error(422, str(error))
    return jsonify(changed=changed)


def _moment(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return utc_moment(str(value)[:40])
    except ValueError as error:
        raise ModerationError(gettext("%(name)s must be a time in ISO 8601.", name=name)) from error


BULK = {"type": "object", "properties": {
    "domain": {"type": "string"}, "source": {"type": "string"},
    "since": {"type": "string"}, "until": {"type": "string"},
    "reason": {"type": "string"}, "confirm": {"type": "boolean"}}}


@bp.post("/petitions/<slug>/invalidations")
@operation("Count, then invalidate, the signatures matching a domain, time window or source",
           tag="moderation", role="moderator", request=BULK,
           responses={200: ("How many match (without confirm)",
                            record(matching=COUNT, unindexed=COUNT)),
                      202: ("The run started (with confirm: true)",
                            record(run=INTEGER, total=COUNT)),
                      400: ("Not a JSON object", ERROR), 404: ("No such petition", ERROR),
                      415: ("Not JSON", ERROR), 422: ("Criteria refused", ERROR)})
@require_token("moderator")
def bulk(slug: str) -> Response:
    petition = petition_at(slug)
    body = json_object()
    policy = SIGNING_POLICY.of()
    try:
        texts = {key: body.get(key) or "" for key in ("domain", "source", "reason")}
        if not all(isinstance(value, str) for value in texts.values()):
            raise ModerationError(gettext("domain, source and reason are text."))
        criteria = Criteria.read(domain=texts["domain"], source=texts["source"],
                                 since=_moment(body.get("since"), "since"),
                                 until=_moment(body.get("until"), "until"))
        if body.get("confirm") is not True:
            seen = moderation.preview(db.session(), petition, criteria, policy.index_key)
            return jsonify(matching=seen.matching, unindexed=seen.unindexed)
        run = moderation.start_run(db.session(), petition, criteria, texts["reason"], token_actor(),
                                   policy.index_key)
    except ModerationError as error:
        db.session.rollback()
        return api_error(422, str(error))
    response = jsonify(run=run.id, total=run.total)
    response.status_code = 202
    return response


@bp.get("/petitions/<slug>/invalidations/<int:run_id>")
@operation("How far a bulk invalidation got", tag="moderation", role="moderator",
           responses={200: ("The run", record(run=INTEGER, total=COUNT, done=COUNT,
                                              finished=BOOLEAN)),
                      404: ("No such run", ERROR)})
@require_token("moderator")
def bulk_progress(slug: str, run_id: int) -> Response:
    petition = petition_at(slug)
    run = db.session.get(ModerationRun, run_id)
    if run is None or run.petition_id != petition.id:
        return api_error(404, gettext("There is no such run."))
    return jsonify(run=run.id, total=run.total, done=run.done,
                   finished=run.finished_at is not None)


PENDING_ORGANIZATION = record(id=INTEGER, name=TEXT, website=nullable(TEXT),
                              country=nullable(TEXT), confirmed_at=nullable(MOMENT),
                              approved_at={"type": "null"}, status={"const": "pending"})


@bp.get("/petitions/<slug>/organizations/pending")
@operation("Organisations whose contact confirmed, awaiting approval or rejection",
           tag="moderation", role="moderator",
           responses={200: ("The organisations, first confirmed first", record(
               organizations={"type": "array", "items": PENDING_ORGANIZATION})),
               404: ("No such petition", ERROR)})
@require_token("moderator")
def pending(slug: str) -> Response:
    petition = petition_at(slug)
    return jsonify(organizations=[
        {"id": waiting.signature_id, "name": waiting.name, "website": waiting.website,
         "country": waiting.country,
         "confirmed_at": waiting.confirmed_at.isoformat() if waiting.confirmed_at else None,
         "approved_at": None, "status": "pending"}
        for waiting in pending_organizations(db.session(), petition)])


def _decide(slug: str, signature_id: int, approved: bool) -> Response:
    signature = _signature(petition_at(slug), signature_id)
    try:
        changed = moderation.decide_organization(db.session(), signature, approved, token_actor(),
                                                 LIFECYCLE.of())
    except ModerationError as error:
        return api_error(404, str(error))
    return jsonify(changed=changed)


@bp.post("/petitions/<slug>/organizations/<int:signature_id>/approve")
@operation("Approve an organisation's signature", tag="moderation", role="moderator",
           responses=MODERATED)
@require_token("moderator")
def approve(slug: str, signature_id: int) -> Response:
    return _decide(slug, signature_id, approved=True)


@bp.post("/petitions/<slug>/organizations/<int:signature_id>/reject")
@operation("Reject an organisation's signature", tag="moderation", role="moderator",
           responses=MODERATED)
@require_token("moderator")
def reject(slug: str, signature_id: int) -> Response:
    return _decide(slug, signature_id, approved=False)
