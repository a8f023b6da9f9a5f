"""Creating and changing petitions outside their files: the one service layer the workspace
(/admin) and the write API call.

What is accepted is exactly what a petition file accepts: the data is a file's front matter as
a mapping, plus ``body`` (Markdown), validated by the loader (``parse_petition``), so a rule is
written once. A refusal is ``PetitionInvalid`` with a message per front-matter key, for a form
to show beside its field.

Files and the web meet at one flag. A petition loaded with ``petitionkit petition load`` is
*file-managed*: its file is the source of truth, and an edit here would be undone by the next
load, so it is refused (``PetitionFileManaged``) until ``petitionkit petition release SLUG``
hands the petition over to the web. A petition created here is not file-managed, and loading a
file with its slug is refused unless the load is forced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from petitionkit.admin import access, audit
from petitionkit.admin.models import StaffUser
from petitionkit.petitions.loader import (
    PetitionFileError,
    PetitionListener,
    SectionReader,
    StepCheck,
    parse_petition,
    upsert_petition,
)
from petitionkit.petitions.models import STATUSES, Petition

# The largest body of Markdown accepted (a petition file has no limit but the disk's).
BODY_MAX = 100_000
# The key under which a problem with no single key is reported.
GENERAL = "petition"


class PetitionInvalid(ValueError):
    """The petition cannot be saved; ``errors`` maps front-matter keys (or ``body``, or
    ``petition`` for the whole) to a message a person understands."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


class PetitionFileManaged(Exception):
    """The petition is managed by its file; change the file, or release the petition first."""

    def __init__(self, slug: str) -> None:
        super().__init__(gettext(
            "This petition is managed by its file: change the file and load it again, or hand "
            "it over to the workspace with `petitionkit petition release %(slug)s`.", slug=slug))
        self.slug = slug


def _validated(meta: dict[str, Any], body: object, sections: Mapping[str, SectionReader],
               steps: Mapping[str, StepCheck] | None) -> dict[str, Any]:
    if not isinstance(body, str):
        raise PetitionInvalid({"body": gettext("The text must be text (Markdown).")})
    if len(body) > BODY_MAX:
        raise PetitionInvalid({"body": gettext(
            "The text is longer than %(num)d characters.", num=BODY_MAX)})
    if "image" in meta:
        raise PetitionInvalid({"image": gettext(
            "A picture comes with a petition file, beside it; it cannot be set here.")})
    try:
        return parse_petition("petition", meta, body, sections, steps)
    except PetitionFileError as error:
        raise PetitionInvalid({error.key or GENERAL: error.message}) from error


@dataclass(frozen=True)
class _CreatorSeesIt:
    """Puts a new petition within its creator's limit, in the transaction that creates it, then
    hands the event on."""

    creator: StaffUser
    then: PetitionListener | None

    def petition_saving(self, session: Session, petition: Petition, created: bool,
                        changed: list[str]) -> None:
        if created:
            access.include_created(session, self.creator, petition)
        if self.then is not None:
            self.then.petition_saving(session, petition, created, changed)


def create_petition(session: Session, data: Mapping[str, Any], actor: str,
                    sections: Mapping[str, SectionReader],
                    listener: PetitionListener | None = None,
                    steps: Mapping[str, StepCheck] | None = None,
                    creator: StaffUser | None = None) -> Petition:
    """A new petition from ``data`` (front-matter keys and ``body``), not file-managed.

    When ``creator``, the staff account creating it, is limited to named petitions, the new one
    joins that limit in the same transaction: otherwise its page would answer 404 to the person
    who just wrote it.
    """
    meta = dict(data)
    body = meta.pop("body", "")
    slug = meta.get("slug")
    if not slug:
        raise PetitionInvalid({"slug": gettext("A petition needs a slug: its address, such as "
                                               "free-the-poet.")})
    values = _validated(meta, body, sections, steps)
    if session.scalar(select(Petition.id).where(Petition.slug == values["slug"])) is not None:
        raise PetitionInvalid({"slug": gettext("Another petition already has this address.")})
    values["file_managed"] = False
    audit.record(session, actor, "petition created", values["slug"])
    if creator is not None:
        listener = _CreatorSeesIt(creator, listener)
    upsert_petition(session, values, listener=listener)
    petition = session.scalar(select(Petition).where(Petition.slug == values["slug"]))
    assert petition is not None
    return petition


def update_petition(session: Session, petition: Petition, changes: Mapping[str, Any],
                    actor: str, sections: Mapping[str, SectionReader],
                    listener: PetitionListener | None = None,
                    steps: Mapping[str, StepCheck] | None = None) -> list[str]:
    """Apply ``changes`` (front-matter keys and ``body``; a key set to None takes its default)
    and return the fields that changed. The slug is the petition's address and stays."""
    if petition.file_managed:
        raise PetitionFileManaged(petition.slug)
    data = petition_as_data(petition)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    if data.get("slug") != petition.slug:
        raise PetitionInvalid({"slug": gettext(
            "A petition's address cannot change: links to it are out in the world.")})
    body = data.pop("body", "")
    values = _validated(data, body, sections, steps)
    values["image"] = petition.image  # pictures come with files and stay as they are
    result = upsert_petition(session, values, listener=listener)
    if result.changed:
        audit.record(session, actor, "petition changed",
                     f"{petition.slug}: {', '.join(sorted(result.changed))}")
        session.commit()
    return result.changed


def set_status(session: Session, petition: Petition, status: str, actor: str,
               sections: Mapping[str, SectionReader],
               listener: PetitionListener | None = None,
               steps: Mapping[str, StepCheck] | None = None) -> list[str]:
    """Open, close, archive or return to draft: a change of one key."""
    if status not in STATUSES:
        raise PetitionInvalid({"status": gettext("Unknown status.")})
    return update_petition(session, petition, {"status": status}, actor, sections, listener,
                           steps)


def petition_as_data(petition: Petition) -> dict[str, Any]:
    """The petition as a file's front matter plus ``body``: what was written when it was
    written by a person (``front_matter``), else rebuilt from what is stored."""
    if petition.front_matter is not None:
        data = dict(petition.front_matter)
        data["slug"] = petition.slug
    else:
        data = _rebuilt(petition)
    data.pop("image", None)
    data["body"] = petition.body
    return data


def _rebuilt(petition: Petition) -> dict[str, Any]:
    """Front matter for a petition stored before the written form was kept."""
    data: dict[str, Any] = {
        "slug": petition.slug, "title": petition.title, "kind": petition.kind,
        "locale": petition.locale, "status": petition.status, "signers": list(petition.signers),
        "listed": petition.listed, "consent_version": petition.consent_version,
    }
    optional = {
        "summary": petition.summary, "status_line": petition.status_line,
        "consent_text": petition.consent_text, "rate_limit": petition.rate_limit,
        "goal": petition.goal, "show_count_from": petition.show_count_from,
        "retain_days": petition.retain_days, "allowed_origins": petition.allowed_origins,
        "letter": petition.letter, "targets": petition.targets, "extra": petition.extra,
        "report_actions": petition.report_actions,
        "opens_at": petition.opens_at.isoformat() if petition.opens_at else None,
        "closes_at": petition.closes_at.isoformat() if petition.closes_at else None,
    }
    data.update({key: value for key, value in optional.items() if value not in (None, "", [], {})})
    if any(petition.share.get(key) for key in ("hashtags", "posts")):
        data["share"] = petition.share
    asks = [name for name, asked in (("country", petition.asks_country),
                                     ("postal_code", petition.asks_postal_code)) if asked]
    if asks:
        data["asks"] = asks
    settings = petition.goal_settings or {}
    if "ladder" in settings:
        data["goal_ladder"] = settings["ladder"]
    if settings.get("counts"):
        data["goal_counts"] = settings["counts"]
    for key, section in (petition.sections or {}).items():
        data[key] = {name: value for name, value in section.items()
                     if not name.endswith("_html")} if isinstance(section, dict) else section
    return data
