"""How often one client may try to sign: counted by Flask-Limiter's own strategy and storage.

Flask-Limiter is configured as usual (``RATELIMIT_STORAGE_URI``, ``RATELIMIT_STRATEGY``,
``RATELIMIT_KEY_PREFIX``: memory by default, Redis to share the counts between processes and
machines). Its route decorators, though, resolve, filter and evaluate limits through several
layers on every request, and run once more before each request for app-wide limits: on the
signing endpoints that was a quarter of a signing's CPU. Signing has exactly one budget per client
(``RATELIMIT_SIGN``, or a petition's own ``rate_limit``), so the signing views ask the limiter's
strategy (``limiter.limiter``) themselves, with the keys Flask-Limiter would use: prefix, keyed
hash of the client address, scope.
"""

from __future__ import annotations

import logging
import math
import time
from functools import lru_cache

from flask import current_app
from flask_babel import gettext
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

from petitionkit.extensions import limiter
from petitionkit.ops import metrics
from petitionkit.petitions.models import Petition
from petitionkit.security import client_key

log = logging.getLogger("petitionkit.signatures")

# The budget every signing endpoint shares, unless a petition sets its own.
SHARED_SCOPE = "sign"


class TooManyAttempts(TooManyRequests):
    """429 with ``Retry-After`` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            description=gettext(
                "Too many attempts from your connection. Please wait a moment and try again."
            ),
            retry_after=retry_after,
        )


@lru_cache(maxsize=64)
def _parsed(limit: str) -> tuple[RateLimitItem, ...]:
    """Shortest window first, as Flask-Limiter orders them; raises ValueError if unreadable."""
    return tuple(sorted(parse_many(limit)))


def _petition_limit(petition: Petition | None) -> tuple[RateLimitItem, ...] | None:
    if petition is None or not petition.rate_limit:
        return None
    try:
        return _parsed(petition.rate_limit)
    except ValueError:
        # Better the site-wide limit than none at all.
        log.error("unreadable rate_limit on petition=%s; using RATELIMIT_SIGN", petition.slug)
        return None


def check_signing_limit(petition: Petition | None) -> None:
    """Count one signing attempt of this client; raise ``TooManyAttempts`` once the budget is
    spent. A petition with a limit of its own counts separately, so neither eats into the other.

    If the storage cannot be reached (Redis down) the attempt is let through and the failure
    logged: a signer's work is not refused because a counter is unavailable.
    """
    if not limiter.enabled:
        return
    own = _petition_limit(petition)
    if own is not None and petition is not None:
        items, scope = own, f"{SHARED_SCOPE}:{petition.id}"
    else:
        items, scope = _parsed(str(current_app.config["RATELIMIT_SIGN"])), SHARED_SCOPE
    prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX") or "")
    identifiers = (prefix, client_key(), scope) if prefix else (client_key(), scope)
    strategy = limiter.limiter
    for item in items:
        try:
            allowed = strategy.hit(item, *identifiers)
            if allowed:
                continue
            reset_at = strategy.get_window_stats(item, *identifiers).reset_time
        except Exception as error:  # the storage's own errors differ by backend
            metrics.RATE_LIMIT_STORAGE_ERRORS.inc()
            log.error("rate limit storage failed error=%s; attempt let through",
                      type(error).__name__)
            return
        raise TooManyAttempts(retry_after=max(1, math.ceil(reset_at - time.time())))
