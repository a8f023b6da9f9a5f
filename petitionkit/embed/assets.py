"""The widget's front-end files, from the source tree or the wheel, served with caching.

Each file is also kept gzipped, compressed once when it is first read, and sent that way to
browsers that accept it: the loader and the iframe's scripts are fetched by every visitor of
every page that embeds a petition, and an operator without a compressing proxy would otherwise
send them uncompressed. They hold no secret, so compressing them leaks nothing (BREACH needs a
secret and attacker-chosen text in one response).
"""

from __future__ import annotations

import gzip
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
    gzipped: bytes

    @property
    def gzip_etag(self) -> str:
        # Another representation, so another strong validator (RFC 9110, 8.8.3).
        return self.etag + "-gzip"


@cache
def _read(name: str, stamp: float) -> Asset:
    body = (widgets_dir() / name).read_bytes()
    # mtime=0: the same file always compresses to the same bytes, in every process.
    return Asset(body, hashlib.sha256(body).hexdigest()[:16],
                 gzip.compress(body, compresslevel=9, mtime=0))


def asset(name: str) -> Asset:
    if name not in ASSETS:
        raise KeyError(name)
    path = widgets_dir() / name
    # Keyed on the modification time so an edited file is served without a restart.
    return _read(name, os.stat(path).st_mtime)


def asset_response(name: str, max_age: int, immutable: bool = False) -> Response:
    item = asset(name)
    use_gzip = request.accept_encodings["gzip"] > 0
    etag = item.gzip_etag if use_gzip else item.etag
    cache_control = f"public, max-age={max_age}"
    cache_control += ", immutable" if immutable else f", stale-while-revalidate={max_age * 24}"
    headers = {
        "ETag": f'"{etag}"',
        "Cache-Control": cache_control,
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        # Caches and CDNs keep the two encodings apart.
        "Vary": "Accept-Encoding",
    }
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    return Response(item.gzipped if use_gzip else item.body, headers=headers,
                    mimetype="text/javascript")
