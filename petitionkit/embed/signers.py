"""Recent signers who asked to be shown, as first name and initial."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import CONFIRMED, Signature
from petitionkit.signatures.normalize import shown_name


def public_name(name: str) -> str:
    """"Ayşe Nur Yılmaz" -> "Ayşe Y."; a name written without spaces in a wide script
    (Chinese, Japanese, Korean) keeps only its first character, which there is the family name.
    Characters that draw nothing are gone first, so none of them can stand in for the initial."""
    parts = shown_name(name).split()
    if not parts:
        return ""
    if len(parts) >= 2:
        return f"{parts[0]} {parts[-1][0]}."
    single = parts[0]
    if len(single) > 1 and unicodedata.east_asian_width(single[0]) in ("W", "F"):
        return single[0] + "…"
    return single


def recent_signers(session: Session, petition: Petition, limit: int = 5) -> list[str]:
    names = session.scalars(
        select(Signature.name)
        .where(
            Signature.petition_id == petition.id,
            Signature.status == CONFIRMED,
            Signature.show_name.is_(True),
        )
        .order_by(Signature.id.desc())
        .limit(limit)
    )
    return [shown for shown in (public_name(name) for name in names) if shown]
