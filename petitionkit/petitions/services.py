"""Finding petitions and describing them to the public."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, g
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.petitions.models import Petition, aware, utcnow


def find_petition(slug: str) -> Petition | None:
    """Once per request: the rate limiter and the view both ask."""
    if "\x00" in slug:
        # No petition has one, and PostgreSQL refuses NUL in a text parameter (a 500).
        return None
    cache: dict[str, Petition | None] = g.setdefault("petitions_by_slug", {})
    if slug not in cache:
        cache[slug] = db.session.scalar(select(Petition).where(Petition.slug == slug))
    return cache[slug]


def petition_already_loaded(slug: str | None) -> Petition | None:
    """The petition this request has read, without asking the database again.

    For after-request and error paths, where the error may be the database's own.
    """
    cache: dict[str, Petition | None] = g.get("petitions_by_slug") or {}
    return cache.get(slug) if slug is not None else None


def petition_or_404(slug: str) -> Petition:
    petition = find_petition(slug)
    if petition is None or petition.status == "draft":
        abort(404)
    return petition


def public_summary(petition: Petition, goal: int | None) -> dict[str, Any]:
    return {
        "slug": petition.slug,
        "title": petition.title,
        "summary": petition.summary,
        "count": petition.signature_count,
        "goal": goal,
        "status": public_status(petition),
        "status_line": petition.status_line,
        "opens_at": _iso(petition.opens_at),
        "closes_at": _iso(petition.closes_at),
        "locale": petition.locale,
    }


def public_status(petition: Petition, now: datetime | None = None) -> str:
    """``open`` only while signatures are taken; ``scheduled`` before ``opens_at``."""
    now = now or utcnow()
    if petition.is_open(now):
        return "open"
    if petition.status == "open" and petition.opens_at and now < aware(petition.opens_at):
        return "scheduled"
    return "closed" if petition.status != "draft" else "draft"


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    text: str = moment.isoformat()
    return text if moment.tzinfo else text + "+00:00"


@dataclass(frozen=True)
class CachedBody:
    body: bytes
    etag: str
    expires: float


class SummaryCache:
    """A per-process cache of the public JSON, for at most ``ttl`` seconds.

    Readers of a viral petition poll the count; a second-old count is what a CDN would serve
    anyway, and it keeps the database out of the hot read path.
    """

    def __init__(self) -> None:
        self._items: dict[str, CachedBody] = {}
        self._lock = threading.Lock()

    def get(self, slug: str) -> CachedBody | None:
        item = self._items.get(slug)
        if item is None or item.expires < time.monotonic():
            return None
        return item

    def put(self, slug: str, summary: dict[str, Any], ttl: float) -> CachedBody:
        body = json.dumps(summary, ensure_ascii=False, separators=(",", ":")).encode()
        item = CachedBody(body, hashlib.sha256(body).hexdigest()[:20], time.monotonic() + ttl)
        with self._lock:
            self._items[slug] = item
        return item

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
