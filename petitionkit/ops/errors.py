"""Errors a person understands, as HTML or JSON to match the request; never a bare 500."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException, InternalServerError

from petitionkit.ops import metrics

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
        500: gettext("Something went wrong on our side. Your signature, if sent, is safe; "
                     "please try again later."),
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
    from petitionkit.embed.framing import petition_policy
    from petitionkit.petitions.services import petition_already_loaded

    if request.headers.get("Sec-Fetch-Dest") != "iframe" and not request.path.startswith("/embed/"):
        return
    petition = petition_already_loaded((request.view_args or {}).get("slug"))
    if petition is not None and petition.status != "draft":
        g.embed_policy = petition_policy(petition)


def handle_unexpected(error: Exception) -> Response:
    # The route's pattern, not the path: a path can hold the token of an e-mailed link.
    route = request.url_rule.rule if request.url_rule is not None else "?"
    log.exception("unhandled error method=%s route=%s", request.method, route)
    return handle_http_error(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    if not app.debug and not app.testing:
        app.register_error_handler(Exception, handle_unexpected)
