from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from petitionkit.extensions import UTCDateTime, db
from petitionkit.petitions.models import utcnow

PENDING = "pending"
DONE = "done"
DEAD = "dead"

# The payload key of personal data a job needs until it is done (a withdrawal that reaches a
# CRM after the signer's data was erased), sealed to the data public key and base64-encoded.
# The worker drops it from the payload in the statement that marks the job done.
SEALED_PAYLOAD_KEY = "sealed"


class OutboxJob(db.Model):  # type: ignore[name-defined]
    """Work that talks to the outside world, written in the same transaction as its cause.

    A job is claimed by setting ``locked_until``; a worker that dies leaves the lease to expire and
    the next worker takes the job over. Delivery is at least once; ``message_id`` stays the same
    across attempts so a repeated e-mail is recognisable as the same message.
    """

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_due", "status", "available_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
