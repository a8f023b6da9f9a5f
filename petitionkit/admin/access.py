"""Which petitions an account may see in the workspace.

An account is either unlimited (the default: every petition its role reaches) or limited to
named petitions, for a volunteer who moderates one campaign of a larger organisation. Owners are
never limited: they manage the accounts and the limits themselves. A petition outside an
account's limit does not exist for it: its pages answer 404, and the list leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask_babel import gettext
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from petitionkit.admin import audit
from petitionkit.admin.accounts import AccountError
from petitionkit.admin.models import StaffPetitionAccess, StaffUser
from petitionkit.petitions.models import Petition


def limited_to(session: Session, user: StaffUser) -> set[int] | None:
    """The ids of the petitions ``user`` is limited to, or None when it sees every petition."""
    if user.role == "owner":
        return None
    ids = set(session.scalars(
        select(StaffPetitionAccess.petition_id).where(StaffPetitionAccess.user_id == user.id)
    ))
    return ids or None


def may_see(session: Session, user: StaffUser, petition: Petition) -> bool:
    allowed = limited_to(session, user)
    return allowed is None or petition.id in allowed


def include_created(session: Session, user: StaffUser, petition: Petition) -> None:
    """Add the petition ``user`` has just created to its limit, if it has one, so that a limited
    account does not lose sight of what it made; the caller commits, with the petition."""
    if limited_to(session, user) is not None:
        session.add(StaffPetitionAccess(user_id=user.id, petition_id=petition.id))


def petition_or_404(session: Session, user: StaffUser, slug: str) -> Petition:
    """The petition at ``slug`` if it exists and ``user`` may see it; otherwise 404, so that a
    limited account does not learn which other petitions exist."""
    petition = session.scalar(select(Petition).where(Petition.slug == slug[:200]))
    if petition is None or not may_see(session, user, petition):
        raise NotFound()
    return petition


def petitions_to_choose_from(session: Session) -> Sequence[Petition]:
    """Every petition, by title, for an owner choosing what an account or a token is limited
    to."""
    return session.scalars(select(Petition).order_by(Petition.title, Petition.id)).all()


def petitions_to_limit_to(session: Session, role: str, slugs: Sequence[str]
                          ) -> Sequence[Petition]:
    """The petitions at ``slugs``, for an account or an API token of ``role`` to be limited to;
    AccountError for an owner (never limited) or a slug of no petition."""
    if slugs and role == "owner":
        raise AccountError(gettext("Owners see every petition; they cannot be limited."))
    # No slug holds NUL, which PostgreSQL refuses in a query: such a slug names no petition.
    readable = [slug for slug in slugs if "\x00" not in slug]
    petitions: Sequence[Petition] = session.scalars(
        select(Petition).where(Petition.slug.in_(readable))
    ).all() if readable else []
    unknown = sorted(set(slugs) - {petition.slug for petition in petitions})
    if unknown:
        raise AccountError(gettext("There is no petition %(slugs)s.",
                                   slugs=", ".join(repr(slug[:80]) for slug in unknown[:5])))
    return petitions


def limit(session: Session, user: StaffUser, slugs: Iterable[str], actor: str) -> list[str]:
    """Limit ``user`` to the petitions ``slugs`` (none: no limit) and audit it; the caller
    commits. Returns the slugs as stored, sorted. Unknown slugs and owners are refused."""
    wanted = sorted(set(slugs))
    petitions = petitions_to_limit_to(session, user.role, wanted)
    session.execute(delete(StaffPetitionAccess).where(StaffPetitionAccess.user_id == user.id))
    session.add_all(StaffPetitionAccess(user_id=user.id, petition_id=petition.id)
                    for petition in petitions)
    target = f"{user.email}: {', '.join(wanted)}" if wanted else f"{user.email}: every petition"
    audit.record(session, actor, "petitions limited", target)
    return wanted


def slugs_of(session: Session, user: StaffUser) -> list[str]:
    """The slugs ``user`` is limited to, sorted (empty: no limit)."""
    return sorted(session.scalars(
        select(Petition.slug).join(StaffPetitionAccess,
                                   StaffPetitionAccess.petition_id == Petition.id)
        .where(StaffPetitionAccess.user_id == user.id)
    ))
