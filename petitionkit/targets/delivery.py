"""Delivering signatures to targets: routed after confirmation, batched and throttled per target.

A confirmation in a petition that delivers (``letter.delivery: test`` or ``live`` in the petition
file) enqueues a ``targets.route`` job. That job asks ``petitionkit_targets`` who the signature is
addressed to and adds the signature to each target's next ``targets.deliver`` batch. Batches of
one target are at least ``3600 / max_per_hour`` seconds apart, so a viral day sends an official a
few letters an hour listing many signers, never one mail per signer.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from petitionkit.extensions import db
from petitionkit.outbox.models import PENDING, OutboxJob
from petitionkit.outbox.services import enqueue_once
from petitionkit.outbox.worker import DeliveryContext
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.plugins import calls
from petitionkit.signatures.models import CONFIRMED, PERSON, Signature
from petitionkit.targets import Target
from petitionkit.targets.letter import batched, sendable, sends_by_engine

log = logging.getLogger("petitionkit.targets")

ROUTE_JOB = "targets.route"
DELIVER_JOB = "targets.deliver"
DELIVERY_MODES = ("off", "test", "live")


def delivery_mode(petition: Petition) -> str:
    mode = str((petition.letter or {}).get("delivery", "off"))
    if mode not in DELIVERY_MODES:
        raise ValueError(
            f"petition {petition.slug}: letter.delivery must be one of {DELIVERY_MODES}"
        )
    return mode


def max_per_hour(petition: Petition, app: Flask) -> int:
    value = (petition.letter or {}).get("max_per_hour") or app.config["DELIVERY_MAX_PER_HOUR"]
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"petition {petition.slug}: max_per_hour must be a positive whole number")
    return value


def enqueue_routing(session: Session, petition: Petition, signature_id: int) -> None:
    if delivery_mode(petition) == "off" or not sends_by_engine(petition):
        return
    enqueue_once(session, ROUTE_JOB, {"signature_id": signature_id}, f"route:{signature_id}")


def targets_for(petition: Petition, signature: Signature, app: Flask) -> list[Target]:
    return calls.targets(app, petition, signature)


def _key_prefix(petition: Petition, target: Target) -> str:
    return f"deliver:{petition.id}:{target.key}:"


def add_to_batch(
    session: Session, petition: Petition, target: Target, signature_id: int, app: Flask,
    now: datetime | None = None,
) -> None:
    """Put the signature into the target's open batch, or open the next one.

    A new batch is keyed by its time slot, so two routers opening one at once collide on the
    key instead of sending two letters in one slot; the loser joins the winner's batch.
    """
    now = now or utcnow()
    prefix = _key_prefix(petition, target)
    spacing = 3600 / max_per_hour(petition, app)
    for _attempt in range(3):
        # The latest batch is read before looking for an open one: a batch committed in between
        # is then found open, instead of pushing this signature into a slot of its own.
        latest = session.scalar(
            select(func.max(OutboxJob.available_at)).where(
                OutboxJob.kind == DELIVER_JOB, OutboxJob.idempotency_key.startswith(prefix)
            )
        )
        if batched(petition) and _append_to_open_batch(session, prefix, signature_id):
            return
        earliest = now if latest is None else max(now, latest + timedelta(seconds=spacing))
        slot = math.ceil(earliest.timestamp() / spacing)
        opened = enqueue_once(
            session,
            DELIVER_JOB,
            {"petition_id": petition.id, "target": target.to_dict(),
             "signature_ids": [signature_id]},
            f"{prefix}{slot}",
            available_at=earliest,
        )
        if opened:
            return
    raise RuntimeError(f"could not add a signature to a delivery batch of {petition.slug}")


def _append_to_open_batch(session: Session, prefix: str, signature_id: int) -> bool:
    open_batch = session.scalar(
        select(OutboxJob)
        .where(
            OutboxJob.kind == DELIVER_JOB,
            OutboxJob.status == PENDING,
            OutboxJob.attempts == 0,
            OutboxJob.locked_until.is_(None),
            OutboxJob.idempotency_key.startswith(prefix),
        )
        .order_by(OutboxJob.available_at.desc())
        .limit(1)
        .with_for_update()
        # The locked row as it is now, not as this session may remember it.
        .execution_options(populate_existing=True)
    )
    if open_batch is None:
        return False
    if signature_id in open_batch.payload["signature_ids"]:
        return True
    payload = dict(open_batch.payload)
    payload["signature_ids"] = [*payload["signature_ids"], signature_id]
    # Guarded: a worker that claimed the batch meanwhile keeps it, and the caller opens the next.
    appended = session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == open_batch.id, OutboxJob.locked_until.is_(None),
               OutboxJob.attempts == 0)
        .values(payload=payload)
    ).rowcount  # type: ignore[attr-defined]
    return bool(appended)


def run_route(job: OutboxJob, context: DeliveryContext) -> None:
    signature = db.session.get(Signature, job.payload["signature_id"])
    if signature is None or signature.status != CONFIRMED or signature.anonymised_at is not None:
        return
    if not sendable(signature):
        # An organisation is routed when an organiser approves it (``Lifecycle.approving``),
        # never before: its name must not reach an official unchecked.
        return
    petition = db.session.get(Petition, signature.petition_id)
    assert petition is not None
    for target in targets_for(petition, signature, context.app):
        add_to_batch(db.session(), petition, target, signature.id, context.app)
    db.session.commit()


def run_deliver(job: OutboxJob, context: DeliveryContext) -> None:
    petition = db.session.get(Petition, job.payload["petition_id"])
    if petition is None:
        return
    if delivery_mode(petition) == "off":
        # Switched off after these signatures were routed: the organizer stopped the letters.
        log.info("delivery off petition=%s batch dropped", petition.slug)
        return
    target = Target.from_mapping(job.payload["target"])
    signatures = list(db.session.scalars(
        select(Signature)
        .where(Signature.id.in_(job.payload["signature_ids"]), Signature.status == CONFIRMED,
               Signature.anonymised_at.is_(None),
               (Signature.kind == PERSON) | Signature.approved_at.is_not(None))
        .order_by(Signature.confirmed_at, Signature.id)
    ))
    if not signatures:
        return  # every signer of the batch withdrew meanwhile
    delivery = calls.deliver(context.app, petition, target, signatures)
    log.info("delivered petition=%s target=%s signatures=%d channel=%s",
             petition.slug, target.key, len(signatures), delivery.channel)
