"""How often one client may try to sign: counted by Flask-Limiter's own strategy and storage.

Flask-Limiter is configured as usual (``RATELIMIT_STORAGE_URI``, ``RATELIMIT_STRATEGY``,
``RATELIMIT_KEY_PREFIX``: memory by default, Redis to share the counts between processes and
machines). Its route decorators, though, resolve, filter and evaluate limits through several
layers on every request, and run once more before each request for app-wide limits: on the
signing endpoints that was a quarter of a signing's CPU. Signing has exactly one budget per client
(``RATELIMIT_SIGN``, or a petition's own ``rate_limit``), so the signing views ask the limiter's
strategy (``limiter.limiter``) themselves, with the keys Flask-Limiter would use: prefix, keyed
hash of the client address, scope.

When the storage fails (Redis unreachable), ``RATELIMIT_ON_STORAGE_ERROR`` decides: ``memory``
counts in this process's memory with the same strategy, so signing stays up and the limits
still bite (per process, not shared); ``refuse`` answers 503. Either way the process leaves the
storage alone for ``STORAGE_RETRY_SECONDS`` before trying it again, so an outage costs one
failed connection (and its timeout) per process every 30 seconds rather than one per signing.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import RateLimiter
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from petitionkit.config import ConfigurationError
from petitionkit.extensions import limiter
from petitionkit.ops import metrics
from petitionkit.petitions.models import Petition
from petitionkit.registry import Slot
from petitionkit.security import client_key

log = logging.getLogger("petitionkit.signatures")

# The budget every signing endpoint shares, unless a petition sets its own.
SHARED_SCOPE = "sign"
# The budget of reports of actions taken.
REPORT_SCOPE = "report"


class TooManyAttempts(TooManyRequests):
    """429 with ``Retry-After`` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            description=gettext(
                "Too many attempts from your connection. Please wait a moment and try again."
            ),
            retry_after=retry_after,
        )


# What RATELIMIT_ON_STORAGE_ERROR may say.
COUNT_IN_MEMORY = "memory"
REFUSE = "refuse"
# How long a process counts in memory (or refuses) after the storage failed, before trying it
# again; also the Retry-After of the refusal.
STORAGE_RETRY_SECONDS = 30.0


class SigningPaused(ServiceUnavailable):
    """503 with ``Retry-After``: the limits cannot be counted and the operator chose to refuse."""

    def __init__(self) -> None:
        super().__init__(
            description=gettext(
                "Signing is paused for a moment because of a problem on our side. "
                "Nothing was saved; please try again in a minute."
            ),
            retry_after=math.ceil(STORAGE_RETRY_SECONDS),
        )


@dataclass
class StorageFallback:
    """What this app does while the rate-limit storage fails; one per app."""

    mode: str
    _down_until: float = 0.0
    _memory: RateLimiter | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StorageFallback:
        mode = config["RATELIMIT_ON_STORAGE_ERROR"]
        if mode not in (COUNT_IN_MEMORY, REFUSE):
            raise ConfigurationError(
                f'RATELIMIT_ON_STORAGE_ERROR must be "{COUNT_IN_MEMORY}" or "{REFUSE}", '
                f"not {mode!r}"
            )
        return cls(mode=mode)

    def spent(
        self, strategy: RateLimiter, items: tuple[RateLimitItem, ...], identifiers: tuple[str, ...]
    ) -> float | None:
        """Count one attempt in the storage, or as the mode says when it fails; returns when the
        first exhausted limit resets, or None while the budget lasts."""
        if time.monotonic() >= self._down_until:
            try:
                return _spent(strategy, items, identifiers)
            except Exception as error:  # the storage's own errors differ by backend
                metrics.RATE_LIMIT_STORAGE_ERRORS.inc()
                self._down_until = time.monotonic() + STORAGE_RETRY_SECONDS
                log.error(
                    "rate limit storage failed error=%s; %s for %ds", type(error).__name__,
                    "counting in memory" if self.mode == COUNT_IN_MEMORY else "refusing signing",
                    STORAGE_RETRY_SECONDS,
                )
        if self.mode == REFUSE:
            metrics.RATE_LIMIT_FALLBACK.labels(outcome="refused").inc()
            raise SigningPaused()
        metrics.RATE_LIMIT_FALLBACK.labels(outcome="memory").inc()
        return _spent(self._in_memory(strategy), items, identifiers)

    def _in_memory(self, strategy: RateLimiter) -> RateLimiter:
        # Made at the first failure: most instances never need it, and each has a sweeper.
        with self._lock:
            if self._memory is None:
                storage = MemoryStorage()
                sweep_in_one_thread(storage)
                self._memory = type(strategy)(storage)
            return self._memory


def _spent(
    strategy: RateLimiter, items: tuple[RateLimitItem, ...], identifiers: tuple[str, ...]
) -> float | None:
    for item in items:
        if not strategy.hit(item, *identifiers):
            return float(strategy.get_window_stats(item, *identifiers).reset_time)
    return None


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

    If the storage cannot be reached (Redis down) the attempt is counted in memory, or refused
    with ``SigningPaused``, as ``RATELIMIT_ON_STORAGE_ERROR`` says (``StorageFallback``).
    """
    if not limiter.enabled:
        return
    own = _petition_limit(petition)
    if own is not None and petition is not None:
        items, scope = own, f"{SHARED_SCOPE}:{petition.id}"
    else:
        items, scope = _parsed(str(current_app.config["RATELIMIT_SIGN"])), SHARED_SCOPE
    _count_attempt(items, scope)


def check_report_limit() -> None:
    """Count one report of actions taken (``POST /p/SLUG/report`` and its JSON twin) against
    ``RATELIMIT_REPORT``, a budget of its own, counted and failing over like signing's."""
    if not limiter.enabled:
        return
    _count_attempt(_parsed(str(current_app.config["RATELIMIT_REPORT"])), REPORT_SCOPE)


def _count_attempt(items: tuple[RateLimitItem, ...], scope: str) -> None:
    prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX") or "")
    identifiers = (prefix, client_key(), scope) if prefix else (client_key(), scope)
    fallback: StorageFallback = RATE_LIMIT_FALLBACK.of()
    reset_at = fallback.spent(limiter.limiter, items, identifiers)
    if reset_at is not None:
        raise TooManyAttempts(retry_after=max(1, math.ceil(reset_at - time.time())))


def init_rate_limits(app: Flask) -> None:
    """Bind the shared limiter to ``app`` with this app's settings only.

    Flask-Limiter keeps some settings from the first app it was bound to (the key prefix, the
    strategy, whether it is enabled); start each app from the defaults so a second app in the same
    process gets its own configuration.
    """
    limiter._key_prefix = ""
    limiter._strategy = None
    limiter.enabled = True
    limiter.init_app(app)
    if limiter.enabled:  # RATELIMIT_ENABLED = False: Flask-Limiter installs no hooks at all
        _drop_request_hooks(app, limiter)
        sweep_in_one_thread(limiter.storage)


# How often the in-memory counters are swept of expired entries.
MEMORY_SWEEP_SECONDS = 1.0


def sweep_in_one_thread(storage: object) -> bool:
    """Give ``memory://`` one long-lived thread that sweeps expired counters every second.

    The ``limits`` library's memory storage starts a new timer thread, 10 ms long, whenever one
    is not running, so under steady load each signing process starts about a hundred threads a
    second, and every start waits for the new thread to be scheduled. Counting does not depend on
    the sweep: an expired counter is dropped when it is next read. The sweep only frees the
    memory of clients that never come back, which once a second does as well.

    The storage starts a timer only while ``storage.timer`` is not alive; this puts a thread
    that stays alive there. Returns False, changing nothing, for other storages (Redis) or a
    version of the library without these parts. After a fork the thread is gone from the child
    and the library's own timers take over again.
    """
    expire = getattr(MemoryStorage, "_MemoryStorage__expire_events", None)
    if not isinstance(storage, MemoryStorage) or expire is None:
        return False
    reference = weakref.ref(storage)

    def sweep() -> None:
        while True:
            time.sleep(MEMORY_SWEEP_SECONDS)
            live = reference()
            if live is None:  # the app and its limiter are gone
                return
            expire(live)
            del live

    sweeper = threading.Thread(target=sweep, name="petitionkit-ratelimit-sweep", daemon=True)
    sweeper.start()
    storage.timer = sweeper  # type: ignore[assignment]
    return True


def _drop_request_hooks(app: Flask, owner: object) -> None:
    """Unhook ``owner``'s before/after/teardown request functions from ``app``.

    The signing views count their attempts through the limiter's strategy themselves
    (signatures/limits.py), so no route carries a Flask-Limiter limit. Its hooks would only
    resolve empty limits, look for headers to add and reset a context on every request: a few
    percent of each signing. Fails loudly if the limiter no longer installs the hook to drop.
    """

    def owned(function: object) -> bool:
        if isinstance(function, partial):
            return bool(function.args) and function.args[0] is owner
        return getattr(function, "__self__", None) is owner

    registries: tuple[dict[Any, list[Any]], ...] = (
        app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs,
    )
    for registry in registries:
        hooks = registry.get(None, [])
        kept = [function for function in hooks if not owned(function)]
        if len(kept) == len(hooks):
            raise RuntimeError("Flask-Limiter's request hooks were not found; see security.py")
        hooks[:] = kept


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
RATE_LIMIT_FALLBACK: Slot[StorageFallback] = Slot(
    "petitionkit.rate_limit_fallback", StorageFallback
)


def check_client_limit(limit: str, scope: str) -> None:
    """Count one attempt of this client in ``scope`` against ``limit`` (``"10/minute;50/hour"``)
    with the same limiter, storage and fallback as signing; ``TooManyAttempts`` once spent.
    The workspace's sign-in counts its attempts this way."""
    if not limiter.enabled:
        return
    prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX") or "")
    identifiers = (prefix, client_key(), scope) if prefix else (client_key(), scope)
    fallback: StorageFallback = RATE_LIMIT_FALLBACK.of()
    reset_at = fallback.spent(limiter.limiter, _parsed(limit), identifiers)
    if reset_at is not None:
        raise TooManyAttempts(retry_after=max(1, math.ceil(reset_at - time.time())))
