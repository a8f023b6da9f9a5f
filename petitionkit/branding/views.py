"""``/brand.css`` (the accent colour) and ``/brand/logo`` (the logo file from the instance)."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, request, send_file

from petitionkit.branding import BRANDING

bp = Blueprint("branding", __name__)


@bp.get("/brand.css")
def stylesheet() -> Response:
    css = BRANDING.of().stylesheet()
    response = Response(css, mimetype="text/css")
    response.set_etag(hashlib.sha256(css.encode()).hexdigest()[:16])
    response.cache_control.public = True
    response.cache_control.max_age = 300
    response.make_conditional(request)
    return response


@bp.get("/brand/logo")
def logo() -> Response:
    branding = BRANDING.of()
    if not branding.logo_path:
        abort(404)
    response = send_file(branding.logo_path, mimetype=branding.logo_type, max_age=3600,
                         conditional=True, etag=True)
    # An SVG opened on its own is a document: it may draw, never run anything.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    )
    return response
