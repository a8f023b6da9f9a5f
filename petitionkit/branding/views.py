"""``/brand.css`` (the accent colour), ``/brand/logo`` (the logo file from the instance) and the
site's icon (``/favicon.svg``, and ``/favicon.ico`` for browsers and tools that ask for it
without reading the page)."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, request, send_file

from petitionkit.branding import BRANDING

bp = Blueprint("branding", __name__)

_STATIC = Path(__file__).resolve().parent.parent / "static"
# The icon changes with a release at most; a day in caches costs nothing.
ICON_MAX_AGE = 24 * 3600


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



@cache
def _icon(name: str) -> tuple[bytes, str]:
    # A few hundred bytes each, read once per process.
    data = (_STATIC / name).read_bytes()
    return data, hashlib.sha256(data).hexdigest()[:16]


def _icon_response(name: str, mimetype: str) -> Response:
    data, etag = _icon(name)
    response = Response(data, mimetype=mimetype)
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = ICON_MAX_AGE
    response.make_conditional(request)
    return response


@bp.get("/favicon.svg")
def favicon_svg() -> Response:
    """The icon every page links to (``<link rel="icon">``)."""
    response = _icon_response("favicon.svg", "image/svg+xml")
    # An SVG opened on its own is a document: it may draw, never run anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/favicon.ico")
def favicon_ico() -> Response:
    """Asked for by browsers before they read a page, and by feed readers and bookmarks."""
    return _icon_response("favicon.ico", "image/vnd.microsoft.icon")
