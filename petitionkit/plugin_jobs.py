"""Hook work that talks to the outside world, run through the outbox.

A confirmation enqueues, in its own transaction: one ``plugins.signature_confirmed`` job per
plugin implementing that hook, a ``plugins.goal_reached`` job when the count crossed a goal, and a
``targets.route`` job when the petition delivers to targets. Each job has an idempotency key, so
a milestone crossed again after a withdrawal, or a confirmation replayed, adds nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from petitionkit.extensions import db
from petitionkit.outbox.models import PENDING, OutboxJob
from petitionkit.outbox.worker import DeliveryContext
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.signatures.models import CONFIRMED, Signature

log = logging.getLogger("petitionkit.plugins")

SIGNATURE_CONFIRMED_JOB = "plugins.signature_confirmed"
GOAL_REACHED_JOB = "plugins.goal_reached"


def enqueue_once(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    idempotency_key: str,
    available_at: datetime | None = None,
) -> bool:
    """Add a job unless one with this key exists; True when it was added.

    ON CONFLICT DO NOTHING makes concurrent transactions agree without an error or a retry.
    """
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = session.execute(
        insert(OutboxJob)
        .values(
            kind=kind,
            payload=payload,
            idempotency_key=idempotency_key,
            status=PENDING,
            attempts=0,
            available_at=available_at or now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxJob.id)
    ).scalar_one_or_none()
    return inserted is not None


def event_plugin_names(app: Flask) -> list[str]:
    """Plugins implementing petitionkit_signature_confirmed that want events now."""
    from petitionkit.plugins import get_plugin_manager, is_active

    manager = get_plugin_manager(app)
    callers = manager.hook.petitionkit_signature_confirmed.get_hookimpls()
    return sorted({impl.plugin_name for impl in callers if is_active(impl.function, app)})


class ConfirmationListener:
    """Called by ``signatures.services.confirm`` inside the confirming transaction."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(
        self, session: Session, petition: Petition, signature_id: int, count: int, now: datetime
    ) -> None:
        for plugin_name in event_plugin_names(self.app):
            enqueue_once(
                session,
                SIGNATURE_CONFIRMED_JOB,
                {"signature_id": signature_id, "plugin": plugin_name},
                f"signature-confirmed:{signature_id}:{plugin_name}",
            )
        self._check_goal(session, petition, count)
        from petitionkit.targets.delivery import enqueue_routing

        enqueue_routing(session, petition, signature_id)

    def _check_goal(self, session: Session, petition: Petition, count: int) -> None:
        from petitionkit.petitions.goals import current_goal

        # The goal shown before this signature: reached when this count is the one that meets it.
        # Each confirmation sees a count of its own (the UPDATE … RETURNING serialises them), so
        # only one transaction crosses a given goal; the key covers crossing it again later.
        goal = current_goal(petition, count - 1)
        if goal is not None and count - 1 < goal <= count:
            enqueue_once(
                session,
                GOAL_REACHED_JOB,
                {"petition_id": petition.id, "goal": goal, "count": count},
                f"goal-reached:{petition.id}:{goal}",
            )


def run_signature_confirmed(job: OutboxJob, context: DeliveryContext) -> None:
    from petitionkit.plugins import get_plugin_manager

    manager = get_plugin_manager(context.app)
    plugin_name = job.payload["plugin"]
    plugin = manager.get_plugin(plugin_name)
    if plugin is None:
        raise LookupError(f"plugin {plugin_name!r} is not loaded (uninstalled or disabled)")
    signature = db.session.get(Signature, job.payload["signature_id"])
    if signature is None or signature.status != CONFIRMED:
        # Withdrawn ("it wasn't me") before delivery: nothing about it may leave.
        return
    petition = db.session.get(Petition, signature.petition_id)
    others = [other for other in manager.get_plugins() if other is not plugin]
    only_this = manager.subset_hook_caller("petitionkit_signature_confirmed", others)
    only_this(petition=petition, signature=signature)


def run_goal_reached(job: OutboxJob, context: DeliveryContext) -> None:
    from petitionkit.plugins import get_plugin_manager

    petition = db.session.get(Petition, job.payload["petition_id"])
    if petition is None:
        return
    get_plugin_manager(context.app).hook.petitionkit_goal_reached(
        petition=petition, goal=int(job.payload["goal"]), count=int(job.payload["count"])
    )
    log.info("goal reached petition=%s goal=%s", petition.slug, job.payload["goal"])
