"""What follows a change of a signature's state, in one place: the fan-out.

A confirmation adds, in the confirming transaction: one ``plugins.signature_confirmed`` job per
plugin implementing that hook, a ``plugins.goal_reached`` job when the count crossed a goal, and a
``targets.route`` job when the petition delivers to targets; the withdrawal of a confirmed signature
likewise adds one ``plugins.signature_withdrawn`` job per plugin (an erasure lends those jobs a
sealed copy of the personal data and drops every other job still to do about that signature). An
organisation's signature goes on the count when an organiser approves it, not when its contact
confirms: the approval adds the goal-reached and routing jobs and one
``plugins.organization_approved`` job per plugin. A petition created or changed adds one
``plugins.petition_changed`` job per plugin. An offline entry (signatures gathered on paper) adds
the goal-reached jobs of the goals its total crossed and, when it adds signatures, a ``paper``
action per plugin. Each job has an idempotency key, so a milestone crossed again after a withdrawal,
or a confirmation replayed, adds nothing. Once the transaction committed, the counts that readers
cache are dropped and the metrics counted. Views and commands call these and repeat none of it.
"""

from __future__ import annotations

import base64
import logging
import uuid
from datetime import datetime

from flask import Flask
from sqlalchemy.orm import Session

from petitionkit.actions import Action
from petitionkit.extensions import db
from petitionkit.ops import metrics
from petitionkit.outbox.models import SEALED_PAYLOAD_KEY, OutboxJob
from petitionkit.outbox.services import enqueue_once, pending_jobs_naming_signature
from petitionkit.outbox.worker import DeliveryContext
from petitionkit.petitions.goals import current_goal
from petitionkit.petitions.models import OfflineEntry, Petition
from petitionkit.petitions.services import SummaryCache
from petitionkit.plugins import calls
from petitionkit.registry import Slot
from petitionkit.signatures.models import CONFIRMED, ORGANIZATION, Signature, lent_personal_data
from petitionkit.targets.delivery import enqueue_routing

log = logging.getLogger("petitionkit.plugins")

SIGNATURE_CONFIRMED_JOB = "plugins.signature_confirmed"
SIGNATURE_WITHDRAWN_JOB = "plugins.signature_withdrawn"
PETITION_CHANGED_JOB = "plugins.petition_changed"
ACTION_TAKEN_JOB = "plugins.action_taken"
GOAL_REACHED_JOB = "plugins.goal_reached"
ORGANIZATION_APPROVED_JOB = "plugins.organization_approved"


class Lifecycle:
    """The app's fan-out; ``signatures.services`` calls it inside the changing transaction and
    the caller once it committed."""

    def __init__(self, app: Flask, summaries: SummaryCache) -> None:
        self.app = app
        self.summaries = summaries

    def confirming(
        self, session: Session, petition: Petition, signature_id: int, count: int, now: datetime,
        *, counted: bool,
    ) -> None:
        """Inside the confirming transaction: the follow-up jobs, committed with it or not at
        all. A signature not yet ``counted`` (an organisation's, awaiting approval) reaches the
        plugins now, and goals and targets once approved (``approving``)."""
        for plugin_name in calls.event_plugin_names(self.app, "petitionkit_signature_confirmed"):
            enqueue_once(
                session,
                SIGNATURE_CONFIRMED_JOB,
                {"signature_id": signature_id, "plugin": plugin_name},
                f"signature-confirmed:{signature_id}:{plugin_name}",
            )
        if counted:
            if not petition.goal_counts_organizations:
                self._check_goal(session, petition, count - 1, count)
            enqueue_routing(session, petition, signature_id)

    def approving(
        self, session: Session, petition: Petition, signature_id: int, count: int,
        organizations: int, now: datetime,
    ) -> None:
        """Inside the transaction that approves an organisation's signature: the goal it may
        reach, its letters to targets, and a job per plugin to hear of the approval."""
        for plugin_name in calls.event_plugin_names(self.app,
                                                    "petitionkit_organization_approved"):
            enqueue_once(
                session,
                ORGANIZATION_APPROVED_JOB,
                {"signature_id": signature_id, "plugin": plugin_name},
                f"organization-approved:{signature_id}:{plugin_name}",
            )
        measured = organizations if petition.goal_counts_organizations else count
        self._check_goal(session, petition, measured - 1, measured)
        enqueue_routing(session, petition, signature_id)

    def approved(self, petition: Petition, approved: int) -> None:
        """After an organiser's approvals committed."""
        self.summaries.clear()
        log.info("approved petition=%s organizations=%d", petition.slug, approved)

    def withdrawing(
        self, session: Session, petition_id: int, signature_id: int, reason: str
    ) -> None:
        """Inside the withdrawing transaction of a signature that had been confirmed: a job per
        plugin to take it back."""
        for plugin_name in calls.event_plugin_names(self.app, "petitionkit_signature_withdrawn"):
            enqueue_once(
                session,
                SIGNATURE_WITHDRAWN_JOB,
                {"signature_id": signature_id, "plugin": plugin_name, "reason": reason},
                f"signature-withdrawn:{signature_id}:{plugin_name}",
            )

    def erasing(self, session: Session, signature_id: int, sealed: bytes | None) -> int:
        """Inside the transaction that erases a signature's personal data: the withdrawal jobs
        still to do get a sealed copy of it (``sealed``), so that plugins can still take the
        person off their lists, and every other job still to do about the signature is dropped.
        Returns how many were dropped. The worker drops the copy when the job is done."""
        dropped = 0
        for job in pending_jobs_naming_signature(session, signature_id):
            if job.kind == SIGNATURE_WITHDRAWN_JOB:
                if sealed is not None:
                    job.payload = {**job.payload,
                                   SEALED_PAYLOAD_KEY: base64.b64encode(sealed).decode("ascii")}
                continue
            session.delete(job)
            dropped += 1
        return dropped

    def petition_saving(
        self, session: Session, petition: Petition, created: bool, changed: list[str]
    ) -> None:
        """Inside the transaction that creates or changes a petition (flushed, so it has its
        id): a job per plugin to hear of it."""
        # Every change is an event of its own: the key only guards against a job added twice.
        change = uuid.uuid4().hex
        for plugin_name in calls.event_plugin_names(self.app, "petitionkit_petition_changed"):
            enqueue_once(
                session,
                PETITION_CHANGED_JOB,
                {"petition_id": petition.id, "plugin": plugin_name, "created": created,
                 "changed": changed},
                f"petition-changed:{petition.id}:{change}:{plugin_name}",
            )

    def action_taken(self, session: Session, action: Action) -> None:
        """Inside the transaction that records an action: a job per plugin to hear of it."""
        taken = uuid.uuid4().hex
        for plugin_name in calls.event_plugin_names(self.app, "petitionkit_action_taken"):
            enqueue_once(
                session,
                ACTION_TAKEN_JOB,
                {"action": action.to_payload(), "plugin": plugin_name},
                f"action-taken:{action.petition_id}:{taken}:{plugin_name}",
            )

    def reported(self, petition: Petition, recorded: int, counted: bool) -> None:
        """After a report of actions taken committed: the counts readers cache are dropped."""
        if recorded:
            self.summaries.clear()
        metrics.ACTION_REPORTS.labels(kind="counted" if counted else "anonymous").inc(recorded)
        log.info("reported petition=%s actions=%d counted=%s", petition.slug, recorded, counted)

    def offline_recording(
        self, session: Session, petition: Petition, entry: OfflineEntry, total: int
    ) -> None:
        """Inside the transaction that records signatures gathered offline: the goal reached,
        and for an addition (not a correction, which an ``Action`` cannot carry) an action per
        plugin."""
        if not petition.goal_counts_organizations:
            self._check_goal(session, petition, total - entry.count, total)
        if entry.count > 0:
            self.action_taken(session, Action("paper", petition.id, entry.recorded_at,
                                              count=entry.count))

    def offline_recorded(self, petition: Petition) -> None:
        """After an offline entry committed."""
        self.summaries.clear()
        log.info("offline entry petition=%s offline=%d", petition.slug, petition.offline_count)

    def confirmed(self, petition: Petition) -> None:
        """After the confirmation committed."""
        metrics.CONFIRMATIONS.inc()
        self.summaries.clear()
        log.info("confirmed petition=%s", petition.slug)

    def withdrawn(self, petition: Petition | None) -> None:
        """After a signer's withdrawal committed."""
        metrics.CANCELLATIONS.inc()
        self.summaries.clear()
        log.info("cancelled petition=%s", petition.slug if petition else "?")

    def withdrawn_by_operator(self, petition: Petition, withdrawn: int) -> None:
        """After an organiser's withdrawals committed (the CLI's process has no readers, but
        the workspace's will)."""
        self.summaries.clear()
        log.info("invalidated petition=%s signatures=%d", petition.slug, withdrawn)

    def _check_goal(self, session: Session, petition: Petition, before: int, total: int) -> None:
        # The goal shown at the total before this change: reached when this change meets it.
        # Each change sees a total of its own (the UPDATE … RETURNING serialises them), so only
        # one transaction crosses a given goal; the key covers crossing it again later. An
        # offline entry can cross several steps of a ladder at once: each is reached.
        goal = current_goal(petition, before)
        while goal is not None and before < goal <= total:
            enqueue_once(
                session,
                GOAL_REACHED_JOB,
                {"petition_id": petition.id, "goal": goal, "count": total},
                f"goal-reached:{petition.id}:{goal}",
            )
            before = goal
            goal = current_goal(petition, before)


def run_signature_confirmed(job: OutboxJob, context: DeliveryContext) -> None:
    signature = db.session.get(Signature, job.payload["signature_id"])
    if signature is None or signature.status != CONFIRMED or signature.anonymised_at is not None:
        # Withdrawn ("it wasn't me") before delivery, or its personal data removed since:
        # nothing about it may leave.
        return
    petition = db.session.get(Petition, signature.petition_id)
    assert petition is not None
    calls.signature_confirmed(context.app, job.payload["plugin"], petition, signature)


def run_signature_withdrawn(job: OutboxJob, context: DeliveryContext) -> None:
    signature = db.session.get(Signature, job.payload["signature_id"])
    if signature is None or signature.anonymised_at is not None:
        # Removed by retention: a CRM can no more be told who it was.
        return
    if signature.erased_at is not None:
        copy = job.payload.get(SEALED_PAYLOAD_KEY)
        if copy is None:
            # Erased with no copy lent to this job (it had died, and was replayed): whom to
            # take back is no longer known to anyone here.
            log.warning("withdrawal of an erased signature skipped job=%s", job.id)
            return
        signature = lent_personal_data(signature, base64.b64decode(copy))
    petition = db.session.get(Petition, signature.petition_id)
    assert petition is not None
    calls.signature_withdrawn(context.app, job.payload["plugin"], petition, signature,
                              str(job.payload["reason"]))


def run_organization_approved(job: OutboxJob, context: DeliveryContext) -> None:
    signature = db.session.get(Signature, job.payload["signature_id"])
    if (signature is None or signature.kind != ORGANIZATION or signature.status != CONFIRMED
            or signature.approved_at is None):
        # Rejected or withdrawn before delivery: nothing about it may leave as approved.
        return
    petition = db.session.get(Petition, signature.petition_id)
    assert petition is not None
    calls.organization_approved(context.app, job.payload["plugin"], petition, signature)


def run_petition_changed(job: OutboxJob, context: DeliveryContext) -> None:
    petition = db.session.get(Petition, job.payload["petition_id"])
    if petition is None:
        return
    calls.petition_changed(context.app, job.payload["plugin"], petition,
                           bool(job.payload["created"]), list(job.payload["changed"]))


def run_action_taken(job: OutboxJob, context: DeliveryContext) -> None:
    action = Action.from_payload(job.payload["action"])
    petition = db.session.get(Petition, action.petition_id)
    if petition is None:
        return
    calls.action_taken(context.app, job.payload["plugin"], petition, action)


def run_goal_reached(job: OutboxJob, context: DeliveryContext) -> None:
    petition = db.session.get(Petition, job.payload["petition_id"])
    if petition is None:
        return
    calls.goal_reached(context.app, petition, int(job.payload["goal"]),
                       int(job.payload["count"]))
    log.info("goal reached petition=%s goal=%s", petition.slug, job.payload["goal"])


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
LIFECYCLE: Slot[Lifecycle] = Slot("petitionkit.lifecycle", Lifecycle)
