"""Organisations as signers: the approved ones the public sees, and those awaiting approval.

What is published of an organisation is its name, its website and its country, never its
contact person, and only once an organiser approved it (impersonation is a joint letter's
risk): ``signatures.services.approve``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import CONFIRMED, ORGANIZATION, Signature

# The public list's pages: how many by default, and the most a reader may ask for.
PER_PAGE = 50
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class PublicOrganization:
    name: str
    website: str | None
    country: str | None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "website": self.website, "country": self.country}


@dataclass(frozen=True)
class PendingOrganization:
    signature_id: int
    name: str
    website: str | None
    country: str | None
    confirmed_at: datetime | None


def _approved(petition_id: int) -> Any:
    return (
        Signature.petition_id == petition_id,
        Signature.kind == ORGANIZATION,
        Signature.status == CONFIRMED,
        Signature.approved_at.is_not(None),
    )


def approved_organizations(
    session: Session, petition: Petition, *, page: int = 1, per_page: int = PER_PAGE
) -> list[PublicOrganization]:
    """One page of the approved organisations, in the order they were approved."""
    rows = session.execute(
        select(Signature.organization, Signature.organization_url, Signature.country)
        .where(*_approved(petition.id))
        .order_by(Signature.approved_at, Signature.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return [PublicOrganization(name or "", website, country) for name, website, country in rows]


def every_approved_organization(
    session: Session, petition: Petition
) -> Iterator[PublicOrganization]:
    """All approved organisations, a page at a time (the hand-over report lists them all)."""
    page = 1
    while True:
        listed = approved_organizations(session, petition, page=page, per_page=MAX_PER_PAGE)
        yield from listed
        if len(listed) < MAX_PER_PAGE:
            return
        page += 1


def pending_organizations(session: Session, petition: Petition) -> list[PendingOrganization]:
    """Organisations whose contact confirmed and that no organiser approved or rejected yet."""
    rows = session.execute(
        select(Signature.id, Signature.organization, Signature.organization_url,
               Signature.country, Signature.confirmed_at)
        .where(Signature.petition_id == petition.id, Signature.kind == ORGANIZATION,
               Signature.status == CONFIRMED, Signature.approved_at.is_(None))
        .order_by(Signature.confirmed_at, Signature.id)
    )
    return [PendingOrganization(id_, name or "", website, country, confirmed_at)
            for id_, name, website, country, confirmed_at in rows]
