"""Recent signers who asked to be shown, as first name and initial."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import CONFIRMED, Signature
from petitionkit.signatures.normalize import public_name


def recent_signers(session: Session, petition: Petition, limit: int = 5) -> list[str]:
    # The display form was made at signing, only for those who asked to be shown; full names
    # are sealed and this (web) process could not read them.
    names = session.scalars(
        select(Signature.public_name)
        .where(
            Signature.petition_id == petition.id,
            Signature.status == CONFIRMED,
            Signature.show_name.is_(True),
        )
        .order_by(Signature.id.desc())
        .limit(limit)
    )
    return [name for name in names if name]


__all__ = ["public_name", "recent_signers"]
