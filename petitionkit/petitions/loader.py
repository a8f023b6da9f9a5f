"""Petitions as files: Markdown with YAML front matter, loaded idempotently by slug."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import frontmatter
from sqlalchemy import select
from sqlalchemy.orm import Session

from petitionkit.petitions.markdown import render_markdown
from petitionkit.petitions.models import STATUSES, Petition

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
KINDS = ("petition", "letter", "joint-letter", "urgent-action")

# front-matter key -> model attribute, for values copied as they are.
_PLAIN_FIELDS = {
    "title": "title",
    "summary": "summary",
    "locale": "locale",
    "status": "status",
    "status_line": "status_line",
    "kind": "kind",
    "goal": "goal",
    "consent_text": "consent_text",
    "consent_version": "consent_version",
    "rate_limit": "rate_limit",
}
_KNOWN_KEYS = set(_PLAIN_FIELDS) | {
    "slug", "opens_at", "closes_at", "goal_ladder", "allowed_origins", "share", "asks",
    "letter", "targets", "extra",
}


class PetitionFileError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


@dataclass
class LoadResult:
    slug: str
    created: bool
    changed: list[str] = field(default_factory=list)


def parse_petition_file(path: str | Path) -> dict[str, Any]:
    """Read one file into model attributes, refusing anything unknown or malformed."""
    where = str(path)
    try:
        post = frontmatter.load(str(path))
    except (UnicodeDecodeError, ValueError) as error:
        raise PetitionFileError(where, f"cannot be read: {error}") from error
    meta = dict(post.metadata)
    unknown = set(meta) - _KNOWN_KEYS
    if unknown:
        raise PetitionFileError(where, f"unknown keys: {', '.join(sorted(unknown))}")
    slug = meta.get("slug") or Path(where).stem
    if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
        raise PetitionFileError(where, "slug must be lowercase letters, digits and dashes")
    if not meta.get("title"):
        raise PetitionFileError(where, "a title is required")
    values: dict[str, Any] = {"slug": slug}
    for key, attribute in _PLAIN_FIELDS.items():
        if key in meta:
            values[attribute] = meta[key]
    if values.get("status", "draft") not in STATUSES:
        raise PetitionFileError(where, f"status must be one of {', '.join(STATUSES)}")
    if values.get("kind", "petition") not in KINDS:
        raise PetitionFileError(where, f"kind must be one of {', '.join(KINDS)}")
    if "goal" in values and values["goal"] is not None and not isinstance(values["goal"], int):
        raise PetitionFileError(where, "goal must be a whole number")
    for key in ("opens_at", "closes_at"):
        values[key] = _moment(where, key, meta.get(key))
    asks = meta.get("asks", [])
    if not isinstance(asks, list) or set(asks) - {"country", "postal_code"}:
        raise PetitionFileError(where, "asks may list country and postal_code")
    values["asks_country"] = "country" in asks or "postal_code" in asks
    values["asks_postal_code"] = "postal_code" in asks
    values["goal_settings"] = {"ladder": meta["goal_ladder"]} if "goal_ladder" in meta else {}
    values["allowed_origins"] = [str(o).rstrip("/").lower() for o in meta.get("allowed_origins", [])]
    values["share"] = meta.get("share", {})
    values["letter"] = meta.get("letter", {})
    values["targets"] = meta.get("targets", [])
    values["extra"] = meta.get("extra", {})
    values["body"] = post.content
    values["body_html"] = render_markdown(post.content)
    values.setdefault("summary", "")
    return values


def _moment(where: str, key: str, value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _moment(where, key, datetime.fromisoformat(value))
        except ValueError as error:
            raise PetitionFileError(where, f"{key} is not an ISO 8601 date") from error
    raise PetitionFileError(where, f"{key} is not a date")


def upsert_petition(session: Session, values: dict[str, Any]) -> LoadResult:
    """Create or update by slug; reports which fields changed and never touches the count."""
    petition = session.scalar(select(Petition).where(Petition.slug == values["slug"]))
    if petition is None:
        petition = Petition(signature_count=0, **values)
        session.add(petition)
        session.commit()
        return LoadResult(values["slug"], created=True, changed=sorted(values))
    changed = []
    for key, value in values.items():
        current = getattr(petition, key)
        if isinstance(current, datetime) and current.tzinfo is None:
            current = current.replace(tzinfo=UTC)
        if current != value:
            setattr(petition, key, value)
            changed.append(key)
    session.commit()
    return LoadResult(values["slug"], created=False, changed=changed)
