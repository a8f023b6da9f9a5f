"""Client identity without raw IP addresses, and cross-site request checks that need no cookie.

Why no CSRF token: the signing form also lives in an iframe on third-party sites, where browsers
withhold the cookies a session-bound token needs. The browser itself says where a post comes
from: ``Sec-Fetch-Site`` (every current browser) and ``Origin`` (sent on every cross-origin POST,
as ``null`` when the page hides its origin). A post is accepted from our own origin only, and on
the JSON API also from the origins a petition allows.

What counts as ours is the origin exactly (scheme, host and port), not the site: a page on a
sibling subdomain is "same-site" but may belong to someone else, so it is refused like any other.
A request with neither header did not come from a browser and so cannot carry a forgery riding
on a visitor's browser; it still meets the rate limit like everybody else.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import IO, Any, cast
from urllib.parse import parse_qsl, urlsplit

from flask import Request, current_app, request
from flask_babel import gettext
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

from petitionkit.keys import KEYS

_DEFAULT_PORTS = {"http": 80, "https": 443}
# What Sec-Fetch-Site says for a post made by one of our own pages, or typed by the person.
_OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def client_key() -> str:
    """A keyed hash of the client address: rate limits hold per client, storage never sees the IP.

    ``request.remote_addr`` is already the client address: ProxyFix rewrites it from
    X-Forwarded-For only for the configured number of trusted proxies.
    """
    key = KEYS.of().client
    client = client_network(request.remote_addr).encode()
    return hmac.new(key, client, hashlib.sha256).hexdigest()[:32]


# The one budget that every value shares which is not an address at all.
UNPARSEABLE_CLIENT = "unparseable"


def client_network(remote_addr: str | None) -> str:
    """What one client is, for rate limits: an IPv4 address, or an IPv6 /64.

    One IPv6 subscriber is routinely handed a whole /64, so counting single IPv6 addresses would
    give each of them 2**64 budgets. Behind a trusted proxy the address comes from
    X-Forwarded-For as the proxy wrote it, and proxies write one address in several ways:
    ``[2001:db8::3]``, ``[2001:db8::3]:443``, ``203.0.113.5:8080``, ``::ffff:203.0.113.5``; each
    is brought to the one form, so that none of them opens a fresh budget. Whatever is no address
    at all (``unknown``, ``_hidden``, garbage a client slipped past a proxy) counts as one client,
    ``UNPARSEABLE_CLIENT``: varying the garbage gets nothing more.
    """
    address = _parse_address(remote_addr.strip()) if remote_addr else None
    if address is None:
        return UNPARSEABLE_CLIENT
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address written bare, in brackets, or with a port; None for anything else."""
    if text.startswith("["):
        text, bracket, after = text[1:].partition("]")
        if not bracket or (after and not (after.startswith(":") and _is_port(after[1:]))):
            return None
    elif text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has two colons or more
        text, _, port = text.partition(":")
        if not _is_port(port):
            return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and int(text) <= 65535


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` in canonical form (default port dropped), or None if not a URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@lru_cache(maxsize=1024)
def _origin_header(value: str) -> str:
    # An Origin header is only ever an origin (no path, nothing personal), and the same few come
    # with every post, so their canonical forms are kept. Referers are not: they carry paths.
    if value.strip().lower() == "null":
        return "null"
    return origin_of(value) or "null"


def canonical_origins(origins: Iterable[str]) -> frozenset[str]:
    """Configured origins in the form ``origin_of`` gives; ``null`` and non-URLs never match."""
    return _canonical_origins(tuple(origins))


@lru_cache(maxsize=256)
def _canonical_origins(origins: tuple[str, ...]) -> frozenset[str]:
    # The same few lists (our own address, each petition's allowed origins) on every signing.
    found = (origin_of(origin) for origin in origins)
    return frozenset(origin for origin in found if origin is not None)


def request_origin() -> str | None:
    """Where the browser says the request comes from: the Origin header, else the Referer's origin.

    ``"null"`` (an opaque origin: sandboxed frames, ``data:`` pages, hidden referrers) is returned
    as such so that it can never be mistaken for a missing header.
    """
    origin = request.headers.get("Origin")
    if origin is not None:
        return _origin_header(origin)
    referer = request.headers.get("Referer")
    if referer:
        return origin_of(referer) or "null"
    return None


def is_cross_site_post(allowed: Iterable[str] = ()) -> bool:
    """True for a browser post that came from neither our own pages nor an ``allowed`` origin."""
    accepted = own_origins() | canonical_origins(allowed)
    origin = request_origin()
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site.lower() not in _OWN_FETCH_SITES:
        # Cross-origin by the browser's account: only an explicitly allowed origin may pass.
        return origin is None or origin not in canonical_origins(allowed)
    if origin is None:
        return False
    return origin not in accepted


# What a petition's allowed origin may do with its JSON endpoints besides reading the answer.
CORS_GRANT = (
    ("Access-Control-Allow-Methods", "POST, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type"),
    ("Access-Control-Expose-Headers", "Retry-After"),
    ("Access-Control-Max-Age", "600"),
)


def grant_cors(response: Any, find_petition: Callable[[], Any | None]) -> None:
    """CORS for a petition's JSON endpoints (signing, reports): the petition's allowed origins
    may post and read every answer, errors and 429 included; other origins, and every origin
    for a draft or unknown petition, get no CORS headers at all. The petition is looked up only
    for a request that names an origin, so an answer about an unreachable database does not
    ask the database again."""
    # A field line of its own: a list-valued header may come in several lines (RFC 9110 5.3).
    response.headers.add("Vary", "Origin")
    origin = request_origin()
    if origin is None:
        return
    petition = find_petition()
    if petition is None or petition.status == "draft":
        return
    if origin in canonical_origins(petition.allowed_origins or ()):
        response.headers.add("Access-Control-Allow-Origin", origin)
        response.headers.extend(CORS_GRANT)


def own_origins() -> frozenset[str]:
    # scheme://host, what ``request.host_url`` would give without building a whole URL.
    return canonical_origins(
        (current_app.config["PUBLIC_URL"], f"{request.scheme}://{request.host}")
    )


class _ReadableFormDataParser(FormDataParser):
    """URL-encoded forms decoded the way multipart ones already are: bytes that are not UTF-8
    become U+FFFD, which the form then refuses with a message, instead of Werkzeug's default of
    keeping them as literal ``%FF`` text (which would be stored) or dropping the whole body."""

    def _parse_urlencoded(
        self,
        stream: IO[bytes],
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> tuple[IO[bytes], MultiDict[str, str], MultiDict[str, FileStorage]]:
        items = parse_qsl(
            stream.read().decode("utf-8", "replace"), keep_blank_values=True, errors="replace"
        )
        return stream, self.cls(items), self.cls()


class _RefusingLimitedStream(LimitedStream):
    """A body of unknown length (chunked) read up to MAX_CONTENT_LENGTH, refused beyond it.

    Werkzeug's own stream ends a read-everything call at the limit without a word, which would
    hand the form parser or the JSON decoder a silently truncated body.
    """

    def readall(self) -> bytes:
        data = super().readall()
        if self.is_exhausted and self._stream.read(1):
            raise RequestEntityTooLarge()
        return data


class JSONNestedTooDeeply(ValueError):
    """Deeper than the JSON parser can follow (about a thousand levels)."""


class PetitionkitRequest(Request):
    form_data_parser_class = _ReadableFormDataParser
    # (value, None) or (None, why it could not be read): the outcome of the one parse of a body.
    _json_outcome: tuple[Any, ValueError | None] | None = None

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """The JSON body, parsed once per request whoever asks (the language lookup, the view,
        the error page), and refused the same way every time.

        Werkzeug parses again after a failure and lets a ``RecursionError`` through: a body
        nested thousands of levels deep then broke the view and the error page alike.
        """
        if not (force or self.is_json):
            return super().get_json(force=force, silent=silent, cache=cache)
        if self._json_outcome is None:
            data = self.get_data(cache=True)
            try:
                self._json_outcome = (self.json_module.loads(data), None)
            except ValueError as unreadable:
                self._json_outcome = (None, unreadable)
            except RecursionError:
                self._json_outcome = (None, JSONNestedTooDeeply())
        value, failure = self._json_outcome
        if failure is None:
            return value
        if silent:
            return None
        if isinstance(failure, JSONNestedTooDeeply):
            raise BadRequest(gettext("The request body is nested too deeply to be read."))
        return self.on_json_loading_failed(failure)



    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if limit is not None and self.content_length is None and self.environ.get(
            "wsgi.input_terminated"
        ):
            stream = _RefusingLimitedStream(self.environ["wsgi.input"], limit, is_max=True)
            return cast(IO[bytes], stream)
        return get_input_stream(self.environ, max_content_length=limit)
