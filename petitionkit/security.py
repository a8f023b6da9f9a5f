"""Client identity without raw IP addresses, and cross-site request checks that need no cookie."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import current_app, request


def client_key() -> str:
    """A keyed hash of the client address: rate limits hold per client, storage never sees the IP.

    ``request.remote_addr`` is already the client address: ProxyFix rewrites it from
    X-Forwarded-For only for the configured number of trusted proxies.
    """
    address = (request.remote_addr or "unknown").encode()
    key = current_app.extensions["petitionkit.keys"].client
    return hmac.new(key, address, hashlib.sha256).hexdigest()[:32]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def request_origin() -> str | None:
    """The Origin header, or the origin of the Referer when a browser sent no Origin."""
    origin = request.headers.get("Origin")
    if origin:
        return origin.lower()
    referer = request.headers.get("Referer")
    if referer:
        return origin_of(referer)
    return None


def is_cross_site_post() -> bool:
    """True for a browser post that did not come from one of our own pages.

    The embedded form lives in an iframe served by this engine, so its posts are same-origin even
    on a third-party page and need no cookie: Origin (or Sec-Fetch-Site) tells a forged cross-site
    post apart without the session cookie that third-party-cookie blocking would withhold.
    Clients that send neither header (curl, server-side integrations) are not browsers and so
    cannot be the vehicle of a cross-site request forgery.
    """
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return True
    origin = request_origin()
    if origin is None:
        return False
    return origin not in own_origins()


def own_origins() -> set[str]:
    origins = {origin_of(current_app.config["PUBLIC_URL"])}
    origins.add(origin_of(request.host_url))
    return origins
