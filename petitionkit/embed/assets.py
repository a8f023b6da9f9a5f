"""The widget's front-end files, from the source tree or the wheel, served with caching."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Response, request

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The wheel carries widgets/ as petitionkit/widgets_dist (pyproject force-include); a source
# checkout has it beside the package.
_CANDIDATES = (_PACKAGE_DIR / "widgets_dist", _PACKAGE_DIR.parent / "widgets")

ASSETS = {"loader.js", "petitionkit.js", "challenge.js"}


def widgets_dir() -> Path:
    for candidate in _CANDIDATES:
        if (candidate / "loader.js").is_file():
            return candidate
    raise FileNotFoundError(
        "The widget files are missing: expected loader.js in "
        + " or ".join(str(path) for path in _CANDIDATES)
    )


@dataclass(frozen=True)
class Asset:
    body: bytes
    etag: str


@cache
def _read(name: str, stamp: float) -> Asset:
    body = (widgets_dir() / name).read_bytes()
    return Asset(body, hashlib.sha256(body).hexdigest()[:16])


def asset(name: str) -> Asset:
    if name not in ASSETS:
        raise KeyError(name)
    path = widgets_dir() / name
    # Keyed on the modification time so an edited file is served without a restart.
    return _read(name, os.stat(path).st_mtime)


def asset_response(name: str, max_age: int, immutable: bool = False) -> Response:
    item = asset(name)
    cache_control = f"public, max-age={max_age}"
    cache_control += ", immutable" if immutable else f", stale-while-revalidate={max_age * 24}"
    headers = {
        "ETag": f'"{item.etag}"',
        "Cache-Control": cache_control,
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if request.if_none_match.contains(item.etag):
        return Response(status=304, headers=headers)
    return Response(item.body, headers=headers, mimetype="text/javascript")
