"""The audit log of staff actions: who did what to what, and when. Never signer data, never a
password, never what someone typed into a sign-in form for an account that does not exist."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from petitionkit.admin.models import EMAIL_MAX, StaffAudit

# What an entry's target says when a sign-in named no account: the typed text is not kept.
UNKNOWN_ACCOUNT = "(no such account)"
PAGE_SIZE = 100


def record(session: Session, actor: str | None, action: str, target: str = "") -> StaffAudit:
    """Add an entry to ``session``; the caller commits it with the change it describes."""
    entry = StaffAudit(actor=actor[:EMAIL_MAX + 40] if actor else None, action=action,
                       target=target[:400])
    session.add(entry)
    return entry


def command_line_actor(os_user: str) -> str:
    return f"command line ({os_user})"


def entries(session: Session, before: int | None = None,
            limit: int = PAGE_SIZE) -> Sequence[StaffAudit]:
    """The newest entries first, older than the entry ``before`` when given."""
    query = select(StaffAudit).order_by(StaffAudit.id.desc()).limit(limit)
    if before is not None:
        query = query.where(StaffAudit.id < before)
    return session.scalars(query).all()
