"""Who may frame a petition: its allowed origins, told to the browser as CSP frame-ancestors."""

from __future__ import annotations

import re

from flask import request

from petitionkit.petitions.models import Petition
from petitionkit.security import origin_of, own_origins

# scheme://host[:port], nothing else: a value that reaches a response header must not smuggle
# in another directive.
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$|^https?://\[[0-9a-f:.]+\](:\d{1,5})?$")


def allowed_origins(petition: Petition) -> list[str]:
    """The petition's listed origins that are well-formed (``*`` allows any site)."""
    origins = []
    for origin in petition.allowed_origins or []:
        value = str(origin).strip().rstrip("/").lower()
        if value == "*" or _ORIGIN.match(value):
            origins.append(value)
    return origins


def frame_origins(petition: Petition) -> list[str]:
    """Every origin the framed document may talk to: the engine's own and the petition's list."""
    return sorted(own_origins()) + allowed_origins(petition)


def embed_policy(frame_ancestors: str) -> str:
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "worker-src 'self'; connect-src 'self'; "
        f"frame-ancestors {frame_ancestors}; form-action 'self'; base-uri 'none'"
    )


def petition_policy(petition: Petition) -> str:
    origins = allowed_origins(petition)
    if "*" in origins:
        return embed_policy("*")
    return embed_policy(" ".join(["'self'", *origins]))


def referring_origin_refused(petition: Petition) -> str | None:
    """The embedding page's origin when the browser named it and the petition does not allow it.

    Browsers send the embedding page's origin as the Referer of the iframe's first request unless
    the page asked for no referrer; when it is absent, frame-ancestors alone decides.
    """
    referer = request.headers.get("Referer")
    if not referer:
        return None
    origin = origin_of(referer)
    origins = allowed_origins(petition)
    if "*" in origins or origin in origins or origin in own_origins():
        return None
    return origin
