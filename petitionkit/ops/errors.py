"""Errors a person understands, as HTML or JSON to match the request; never a bare 500."""

from __future__ import annotations

import logging

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
)
from flask_babel import gettext
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from petitionkit.embed.framing import embed_policy, petition_policy
from petitionkit.ops import metrics
from petitionkit.petitions.services import petition_already_loaded

log = logging.getLogger("petitionkit.errors")


def wants_json() -> bool:
    # The read/signing API and oEmbed speak only JSON, whatever the client accepts.
    if request.path.startswith(("/api/", "/oembed")):
        return True
    return request.accept_mimetypes.best == "application/json"


def friendly_message(error: HTTPException) -> str:
    code = error.code or 500
    defaults = {
        400: gettext("The request could not be understood. Please try again."),
        403: gettext("This request is not allowed."),
        404: gettext("There is nothing at this address."),
        405: gettext("This address does not accept that kind of request."),
        409: gettext("This petition is closed and no longer takes signatures."),
        413: gettext("What you sent is far too large. Please shorten it and try again."),
        415: gettext("This address cannot read what was sent."),
        429: gettext("Too many attempts from your connection. Please wait a moment and try again."),
        500: gettext("Something went wrong on our side. Please try again later: signing again "
                     "is safe, nobody is counted twice."),
        503: gettext("This service is unavailable for a moment. Please try again in a minute."),
    }
    if code == 429:
        # The same sentence for every 429, whatever limit was met.
        return defaults[429]
    generic = error.description == type(error).description
    if error.description and not generic:
        return str(error.description)
    return defaults.get(code, str(error.description or error.name))


def handle_http_error(error: HTTPException) -> Response:
    code = error.code or 500
    if code == 429:
        metrics.RATE_LIMITED.inc()
    message = friendly_message(error)
    if wants_json():
        response = jsonify(error=message)
    else:
        _allow_widget_frame()
        response = make_response(render_template("error.html", code=code, message=message))
    response.status_code = code
    # What the error itself says about retrying (Retry-After of a 429) or what is allowed
    # (Allow of a 405) belongs on the page that replaces it.
    for name, value in error.get_headers():
        if name.lower() in ("retry-after", "allow"):
            response.headers[name] = value
    return response


def _allow_widget_frame() -> None:
    """An error met inside the widget (a 429 on a shared connection, a petition that closed
    while the form was open) may be framed where the widget may: under the default
    frame-ancestors 'none' the signer would see the browser's refusal instead of the message."""

    if request.headers.get("Sec-Fetch-Dest") != "iframe" and not request.path.startswith("/embed/"):
        return
    petition = petition_already_loaded((request.view_args or {}).get("slug"))
    if petition is None:
        # The petition was never read (the database is down): the page is only a notice, with
        # nothing worth clickjacking, so any page may show it rather than a browser refusal.
        g.embed_policy = embed_policy("*")
    elif petition.status != "draft":
        g.embed_policy = petition_policy(petition)


def handle_unexpected(error: Exception) -> Response:
    # The route's pattern, not the path: a path can hold the token of an e-mailed link.
    route = request.url_rule.rule if request.url_rule is not None else "?"
    log.exception("unhandled error method=%s route=%s", request.method, route)
    return handle_http_error(InternalServerError())


# How long a client is asked to wait when the database cannot be reached.
RETRY_AFTER_SECONDS = 30
# SQLite's result codes for a database that is there but cannot be used just now (locked, busy,
# unreadable, full); any other error of SQLite's is a fault of ours, not an outage.
_SQLITE_UNAVAILABLE = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR",
                       "SQLITE_FULL", "SQLITE_PROTOCOL", "SQLITE_NOMEM")


def database_unavailable(error: Exception) -> bool:
    """True when the database could not be reached or used just now, as opposed to a fault in a
    statement: no pooled connection came in time, the server refused or dropped the connection,
    or SQLite's file is locked, missing or unreadable."""
    if isinstance(error, PoolTimeoutError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    sqlite_error = getattr(error.orig, "sqlite_errorname", None)
    if isinstance(sqlite_error, str):
        return sqlite_error.startswith(_SQLITE_UNAVAILABLE)
    # PostgreSQL's drivers raise OperationalError for a refused, dropped or shut-down connection.
    return isinstance(error, OperationalError | InterfaceError)


def _unavailable_message() -> str:
    """What was not done, said plainly: a signer must not believe a signature was kept."""
    if request.method == "POST" and request.endpoint in (
        "signatures.sign_form", "signatures.sign_api",
    ):
        return gettext("Your signature was not recorded: the petition cannot be reached just now. "
                       "Please try again in a minute.")
    if request.method == "POST" and request.endpoint == "signatures.confirm":
        return gettext("Your confirmation was not recorded: the petition cannot be reached just "
                       "now. Please try again in a minute.")
    return gettext("This service is unavailable for a moment. Please try again in a minute.")


def handle_database_error(error: Exception) -> Response:
    if not database_unavailable(error):
        if current_app.debug or current_app.testing:
            raise error
        return handle_unexpected(error)
    route = request.url_rule.rule if request.url_rule is not None else "?"
    # The kind of failure only: a driver's message can quote the statement's parameters.
    log.error("database unavailable method=%s route=%s error=%s",
              request.method, route, type(error.__cause__ or error).__name__)
    metrics.DATABASE_UNAVAILABLE.inc()
    unavailable = ServiceUnavailable(description=_unavailable_message(),
                                     retry_after=RETRY_AFTER_SECONDS)
    return handle_http_error(unavailable)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    # In every mode, tests included: an outage is an answer of its own, not a crash.
    for database_error in (DBAPIError, PoolTimeoutError):
        app.register_error_handler(database_error, handle_database_error)
    if not app.debug and not app.testing:
        app.register_error_handler(Exception, handle_unexpected)
