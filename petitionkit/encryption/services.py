"""Sealing the signatures stored before sealing existed, and re-sealing to a new key pair.

Both work in batches, each its own transaction, and pick up where an interrupted run stopped.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from petitionkit.encryption import KeyUnavailable, Sealer
from petitionkit.outbox.models import DONE, SEALED_PAYLOAD_KEY, OutboxJob
from petitionkit.privacy import truncate_sqlite_log
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
            # The plaintext just emptied is still in the log's copies of the pages it was on.
            truncate_sqlite_log(engine)
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


def rotate_job_copies(engine: Engine, old: Sealer, new: Sealer, batch_size: int = 500
                      ) -> Iterator[int]:
    """Re-seal the copies of personal data that jobs still to do carry (an erased signer's
    withdrawal, until a plugin has heard of it; see ``plugins.events.Lifecycle.erasing``) from
    the ``old`` key pair to the ``new`` one; yields how many each batch re-sealed. Without it,
    such a job would fail once the old private key is gone. A dead job keeps its copy until it
    is replayed, so it is re-sealed too; a done job holds none."""
    new.opener()
    old.opener()
    last_id = 0
    while True:
        resealed_count = 0
        with engine.begin() as connection:
            rows = connection.execute(
                select(OutboxJob.id, OutboxJob.payload)
                .where(OutboxJob.status != DONE, OutboxJob.id > last_id)
                .order_by(OutboxJob.id)
                .limit(batch_size)
            ).all()
            for row in rows:
                copy = (row.payload or {}).get(SEALED_PAYLOAD_KEY)
                if copy is None:
                    continue
                resealed = _resealed(base64.b64decode(copy), old, new)
                if resealed is None:
                    continue
                # Not over a job finished meanwhile: the worker dropped its copy for good.
                connection.execute(
                    update(OutboxJob)
                    .where(OutboxJob.id == row.id, OutboxJob.status != DONE)
                    .values(payload={**row.payload, SEALED_PAYLOAD_KEY:
                                     base64.b64encode(resealed).decode("ascii")})
                )
                resealed_count += 1
        if not rows:
            return
        last_id = rows[-1].id
        yield resealed_count


def _resealed(sealed: bytes, old: Sealer, new: Sealer) -> bytes | None:
    try:
        plaintext = old.open(sealed)
    except KeyUnavailable:
        new.open(sealed)  # Already rotated, or raises: sealed to neither key pair.
        return None
    return new.seal(plaintext)


__all__: list[Any] = ["encrypt_existing", "rotate", "rotate_job_copies", "sealed_count",
                      "unsealed_count"]
