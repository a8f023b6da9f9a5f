"""Sealing the signatures stored before sealing existed, and re-sealing to a new key pair.

Both work in batches, each its own transaction, and pick up where an interrupted run stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from petitionkit.encryption import KeyUnavailable, Sealer
from petitionkit.signatures.models import PersonalData, Signature
from petitionkit.signatures.normalize import public_name

# Rows stored before sealing existed. A row erased at its signer's request or anonymised by
# retention has no sealed data either, and nothing to seal, for good.
_UNSEALED = (Signature.sealed.is_(None), Signature.erased_at.is_(None),
             Signature.anonymised_at.is_(None))


def unsealed_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(
            select(func.count(Signature.id)).where(*_UNSEALED)
        ) or 0)


def encrypt_existing(engine: Engine, sealer: Sealer, batch_size: int = 500) -> Iterator[int]:
    """Seal every signature still holding plaintext, ``batch_size`` at a time; yields how many
    each batch sealed. The plaintext columns are emptied in the same statement that writes the
    sealed form, and the public display form is made for signers who asked to be shown.

    Plugin fields of these rows are all sealed: which of them were personal was not recorded.
    """
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(Signature.id, Signature.legacy_name.label("legacy_name"),
                       Signature.legacy_email.label("legacy_email"),
                       Signature.legacy_postal_code.label("legacy_postal_code"),
                       Signature.plain_extra.label("plain_extra"), Signature.show_name)
                .where(*_UNSEALED)
                .order_by(Signature.id)
                .limit(batch_size)
            ).all()
            for row in rows:
                name = row.legacy_name or ""
                sealed = sealer.seal_json(PersonalData(
                    name=name, email=row.legacy_email or "", postal_code=row.legacy_postal_code,
                    extra=dict(row.plain_extra or {}),
                ).to_json())
                connection.execute(
                    update(Signature)
                    .where(Signature.id == row.id, *_UNSEALED)
                    .values(sealed=sealed, legacy_name=None, legacy_email=None,
                            legacy_postal_code=None, plain_extra={},
                            public_name=(public_name(name) or None) if row.show_name else None)
                )
        if not rows:
            return
        yield len(rows)


def sealed_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(
            select(func.count(Signature.id)).where(Signature.sealed.is_not(None))
        ) or 0)


def rotate(engine: Engine, old: Sealer, new: Sealer, batch_size: int = 500) -> Iterator[int]:
    """Re-seal every signature from the ``old`` key pair to the ``new`` one; yields the number
    of rows looked at per batch. A row that already opens with the new key is left as it is,
    so an interrupted rotation is finished by running it again."""
    new.opener()  # Both private keys are needed: stop before the first row without them.
    old.opener()
    last_id = 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(Signature.id, Signature.sealed)
                .where(Signature.sealed.is_not(None), Signature.id > last_id)
                .order_by(Signature.id)
                .limit(batch_size)
            ).all()
            for row in rows:
                resealed = _resealed(row.sealed, old, new)
                if resealed is not None:
                    connection.execute(
                        update(Signature)
                        .where(Signature.id == row.id, Signature.sealed == row.sealed)
                        .values(sealed=resealed)
                    )
        if not rows:
            return
        last_id = rows[-1].id
        yield len(rows)


def _resealed(sealed: bytes, old: Sealer, new: Sealer) -> bytes | None:
    try:
        plaintext = old.open(sealed)
    except KeyUnavailable:
        new.open(sealed)  # Already rotated, or raises: sealed to neither key pair.
        return None
    return new.seal(plaintext)


__all__: list[Any] = ["encrypt_existing", "rotate", "sealed_count", "unsealed_count"]
