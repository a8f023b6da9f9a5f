"""Finding petitions and describing them to the public."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, current_app, g
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from petitionkit.actions.services import ActionCounts
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.registry import Slot


def find_petition(slug: str) -> Petition | None:
    """Once per request: the rate limiter and the view both ask."""
    if "\x00" in slug:
        # No petition has one, and PostgreSQL refuses NUL in a text parameter (a 500).
        return None
    cache: dict[str, Petition | None] = g.setdefault("petitions_by_slug", {})
    if slug not in cache:
        cache[slug] = db.session.scalar(select(Petition).where(Petition.slug == slug))
    return cache[slug]


def signing_petition(slug: str) -> Petition | None:
    """Once per request, for the signing endpoints: the petition as this process read it at most
    ``PETITION_CACHE_SECONDS`` ago (see ``PetitionCache``)."""
    if "\x00" in slug:
        return None
    cache: dict[str, Petition | None] = g.setdefault("petitions_by_slug", {})
    if slug not in cache:
        recent: PetitionCache = PETITION_CACHE.of()
        petition = recent.get(slug)
        if petition is None:
            # A session of its own, closed at once: the copy is detached, so no request's commit
            # expires what other threads are reading, and the request holds no connection while
            # the signing takes one of its own (services.sign).
            with Session(db.engine) as loader:
                petition = loader.scalar(select(Petition).where(Petition.slug == slug))
                if petition is not None:
                    loader.expunge(petition)
            if petition is not None:
                recent.put(petition, current_app.config["PETITION_CACHE_SECONDS"])
        cache[slug] = petition
    return cache[slug]


def signing_petition_or_404(slug: str) -> Petition:
    petition = signing_petition(slug)
    if petition is None or petition.status == "draft":
        abort(404)
    return petition


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


def listed_open_petitions(
    session: Session, limit: int, now: datetime | None = None
) -> list[Petition]:
    """The petitions the front page lists: open for signing now and not unlisted, newest first.

    The open window is checked here rather than in SQL: SQLite keeps naive datetimes, and an
    instance has a handful of open petitions, not thousands.
    """
    now = now or utcnow()
    candidates = session.scalars(
        select(Petition)
        .where(Petition.status == "open", Petition.listed.is_(True))
        .order_by(Petition.created_at.desc(), Petition.id.desc())
    )
    found: list[Petition] = []
    for petition in candidates:
        if petition.is_open(now):
            found.append(petition)
            if len(found) == limit:
                break
    return found


def public_summary(
    petition: Petition, goal: int | None, actions: ActionCounts | None = None
) -> dict[str, Any]:
    """What the read API and the widget's count show; below ``show_count_from`` the figures are
    ``None`` (and ``count_hidden`` is true). A goal ladder's step would hint at the hidden count,
    so the goal is hidden with it, and so are the counts of reported actions (``actions``: the
    counted ones, per action; ``actions_anonymous``: reports without a signer's link)."""
    hidden = petition.count_hidden
    actions = actions or ActionCounts({}, {})
    return {
        "slug": petition.slug,
        "title": petition.title,
        "summary": petition.summary,
        "count": None if hidden else petition.signature_count,
        "offline": None if hidden else petition.offline_count,
        "total": None if hidden else petition.total_count,
        "count_hidden": hidden,
        # Approved organisations (a joint letter's signatories): public by name, never hidden.
        "organizations": petition.organization_count,
        # A goal of organisations measures the public list, which nothing hides.
        "goal": None if hidden and not petition.goal_counts_organizations else goal,
        "goal_counts": "organizations" if petition.goal_counts_organizations else "signatures",
        "actions": None if hidden else actions.counted,
        "actions_anonymous": None if hidden else actions.anonymous,
        "status": public_status(petition),
        "status_line": petition.status_line,
        "opens_at": _iso(petition.opens_at),
        "closes_at": _iso(petition.closes_at),
        "locale": petition.locale,
    }


def public_status(petition: Petition, now: datetime | None = None) -> str:
    """``open`` only while signatures are taken; ``scheduled`` before ``opens_at``; ``archived``
    as the file says."""
    now = now or utcnow()
    if petition.status == "archived":
        return "archived"
    if petition.is_open(now):
        return "open"
    if petition.status == "open" and petition.opens_at and now < petition.opens_at:
        return "scheduled"
    return "closed" if petition.status != "draft" else "draft"


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    text: str = moment.isoformat()
    return text if moment.tzinfo else text + "+00:00"


@dataclass(frozen=True)
class _RecentPetition:
    petition: Petition
    expires: float
    generation: int


# Bumped whenever this process writes a petition through the ORM (`petition load`, tests), so a
# change made here is seen at once; changes made by other processes are seen within the TTL.
_petition_writes = 0


@event.listens_for(Petition, "after_insert")
@event.listens_for(Petition, "after_update")
@event.listens_for(Petition, "after_delete")
def _petition_written(*_args: Any) -> None:
    global _petition_writes
    _petition_writes += 1


class PetitionCache:
    """Per-process copies of petitions for the signing endpoints, each for at most ``ttl`` seconds.

    Signing reads the petition on every request (is it open, which limit, which origins, which
    fields); at the rates of a petition that has gone viral that lookup was the largest single
    cost of a signing. The copies are detached ORM objects that nobody writes to. What a stale
    copy can do is bounded: a deadline (``closes_at``) is checked against the clock on every
    request, and a signature taken in the seconds after an operator closed a petition by hand is
    never counted, because confirming reads the petition from the database and refuses when it
    is closed. Pages and the read API keep reading the database (the read API has its own cache).
    """

    def __init__(self) -> None:
        self._items: dict[str, _RecentPetition] = {}

    def get(self, slug: str) -> Petition | None:
        item = self._items.get(slug)
        if (item is None or item.expires < time.monotonic()
                or item.generation != _petition_writes):
            return None
        return item.petition

    def put(self, petition: Petition, ttl: float) -> None:
        if ttl > 0:
            self._items[petition.slug] = _RecentPetition(
                petition, time.monotonic() + ttl, _petition_writes
            )


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


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
SUMMARY_CACHE: Slot[SummaryCache] = Slot("petitionkit.summary_cache", SummaryCache)
PETITION_CACHE: Slot[PetitionCache] = Slot("petitionkit.petition_cache", PetitionCache)
