"""Moderation: finding a signature, hiding a public name, invalidating one signature or a wave
of them, for the workspace and the API alike (plain functions over a session, no HTTP).

Nothing here reads a signer's sealed personal data. A signature is found by the blind index of
the address a moderator types (the same keyed hash that finds duplicates) or by the public name
a signer chose to show; a wave by the blind index of the domain, a time window or the widget's
``data-source``. Invalidating is a withdrawal for the reason ``operator``: the count adjusts in
the same transaction and plugins hear of it through ``petitionkit_signature_withdrawn``.

A bulk invalidation is a ``ModerationRun`` worked through by the outbox in batches after
``last_id``, a few batches per job, so that a run of tens of thousands neither holds a lease for
long nor starts again from the beginning when a worker is killed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from petitionkit.admin import audit
from petitionkit.extensions import as_utc, db
from petitionkit.outbox.models import OutboxJob
from petitionkit.outbox.services import enqueue
from petitionkit.outbox.worker import DeliveryContext
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.plugins.events import LIFECYCLE, Lifecycle
from petitionkit.signatures.models import (
    CANCELLED,
    CONFIRMED,
    ORGANIZATION,
    PENDING,
    ModerationRun,
    Signature,
)
from petitionkit.signatures.normalize import (
    NormalizationRules,
    blind_index,
    domain_index,
    normalize_email,
)
from petitionkit.signatures.rules import text_problem
from petitionkit.signatures.services import (
    WITHDRAWN_BY_OPERATOR,
    ApproveOutcome,
    CancelOutcome,
    WithdrawalListener,
    approve,
    withdraw,
    withdraw_uncommitted,
)

MODERATION_JOB = "moderation.invalidate"
REASON_MAX = 200
SOURCE_MAX = 100
FOUND_MAX = 50
# Rows per transaction, and transactions per job, of a bulk run.
BATCH = 500
BATCHES_PER_JOB = 20
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


class ModerationError(ValueError):
    """A moderation request that cannot be carried out; the message says why."""


def find(session: Session, petition: Petition, *, email: str = "", name: str = "",
         rules: NormalizationRules, index_key: bytes) -> list[Signature]:
    """Signatures of ``petition`` made with ``email`` (through the blind index), or whose public
    or organisation name contains ``name``; newest first, at most FOUND_MAX."""
    query = select(Signature).where(Signature.petition_id == petition.id)
    if email.strip():
        address = email.strip()
        if "@" not in address or len(address) > 320:
            raise ModerationError(gettext("This is not an e-mail address."))
        query = query.where(Signature.email_hash == blind_index(
            normalize_email(address, rules), index_key))
    elif name.strip():
        words = name.strip()[:200]
        # No stored name holds these (signing refuses them), and PostgreSQL refuses NUL outright.
        if problems := text_problem(words):
            raise ModerationError(problems[0])
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(*(column.ilike(pattern, escape="\\") for column in (
            Signature.public_name, Signature.hidden_public_name, Signature.organization))))
    else:
        raise ModerationError(gettext("Type an e-mail address or a name to search for."))
    return list(session.scalars(query.order_by(Signature.id.desc()).limit(FOUND_MAX)))


def signature_of(session: Session, petition: Petition, signature_id: int) -> Signature:
    signature = session.get(Signature, signature_id)
    if signature is None or signature.petition_id != petition.id:
        raise ModerationError(gettext("There is no such signature on this petition."))
    return signature


def hide_name(session: Session, signature: Signature, actor: str) -> bool:
    """Take the public name off every public list (page, widget, API, letters, the hand-over
    report). Returns False when there was no name to hide."""
    if signature.public_name is None:
        return False
    signature.hidden_public_name = signature.public_name
    signature.public_name = None
    signature.show_name = False
    signature.name_hidden_at = utcnow()
    audit.record(session, actor, "name hidden", f"signature {signature.id}")
    session.commit()
    return True


def show_name(session: Session, signature: Signature, actor: str) -> bool:
    """Undo ``hide_name``. Returns False when the name was not hidden (or has been erased)."""
    if signature.name_hidden_at is None or signature.hidden_public_name is None:
        return False
    signature.public_name = signature.hidden_public_name
    signature.hidden_public_name = None
    signature.show_name = True
    signature.name_hidden_at = None
    audit.record(session, actor, "name shown again", f"signature {signature.id}")
    session.commit()
    return True


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise ModerationError(gettext("Say why, in a few words: the log keeps it."))
    if len(reason) > REASON_MAX:
        raise ModerationError(gettext("The reason must be at most %(num)d characters.",
                                      num=REASON_MAX))
    if problems := text_problem(reason):
        raise ModerationError(problems[0])
    return reason


def invalidate(session: Session, signature: Signature, reason: str, actor: str,
               listener: WithdrawalListener | None) -> bool:
    """Withdraw one signature for ``reason``. Returns False if it was already withdrawn."""
    reason = _reason(reason)
    outcome = withdraw_uncommitted(session, signature, WITHDRAWN_BY_OPERATOR, listener=listener)
    if outcome is not CancelOutcome.CANCELLED:
        session.rollback()
        return False
    session.execute(update(Signature).where(Signature.id == signature.id)
                    .values(invalidation_reason=reason)
                    .execution_options(synchronize_session=False))
    audit.record(session, actor, "signature invalidated", f"signature {signature.id}: {reason}")
    session.commit()
    return True


def decide_organization(session: Session, signature: Signature, approved: bool, actor: str,
                        listener: Lifecycle | None) -> bool:
    """Approve an organisation's signature (it appears in public and counts), or reject it
    (withdrawn, with the lifecycle hook). Returns False when nothing changed."""
    if signature.kind != ORGANIZATION:
        raise ModerationError(gettext("There is no such signature on this petition."))
    if approved:
        changed = approve(session, signature, listener=listener) is ApproveOutcome.APPROVED
    else:
        changed = withdraw(session, signature, WITHDRAWN_BY_OPERATOR,
                           listener=listener) is CancelOutcome.CANCELLED
    if changed:
        audit.record(session, actor,
                     "organisation approved" if approved else "organisation rejected",
                     f"signature {signature.id}")
        session.commit()
    return changed


def utc_moment(text: str) -> datetime:
    """A time in ISO 8601, in UTC (``as_utc``); ValueError when the text is not one."""
    return as_utc(datetime.fromisoformat(text))


@dataclass(frozen=True)
class Criteria:
    """What a bulk invalidation matches: every criterion given must hold."""

    domain: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None

    @classmethod
    def read(cls, domain: str = "", since: datetime | None = None,
             until: datetime | None = None, source: str = "") -> Criteria:
        domain = domain.strip().lower().lstrip("@").rstrip(".")
        if domain and not _DOMAIN.match(domain):
            raise ModerationError(gettext("This is not a domain such as example.org."))
        source = source.strip()
        if len(source) > SOURCE_MAX:
            raise ModerationError(gettext("The source is at most %(num)d characters.",
                                          num=SOURCE_MAX))
        if problems := text_problem(source):
            raise ModerationError(problems[0])
        if since and until and until <= since:
            raise ModerationError(gettext("The end of the time window must be after its start."))
        if not (domain or since or until or source):
            raise ModerationError(gettext(
                "Give at least one of: a domain, a time window, a source."))
        return cls(domain or None, since, until, source or None)

    def stored(self, index_key: bytes) -> dict[str, Any]:
        """What the run keeps: the domain's blind index, not the domain."""
        return {
            "domain_hash": domain_index("x@" + self.domain, index_key).hex()
            if self.domain else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "source": self.source,
        }


def _matching(petition_id: int, stored: dict[str, Any]) -> list[ColumnElement[bool]]:
    conditions = [Signature.petition_id == petition_id,
                  Signature.status.in_((CONFIRMED, PENDING))]
    if stored.get("domain_hash"):
        conditions.append(Signature.email_domain_hash == bytes.fromhex(stored["domain_hash"]))
    if stored.get("since"):
        conditions.append(Signature.created_at >= datetime.fromisoformat(stored["since"]))
    if stored.get("until"):
        conditions.append(Signature.created_at < datetime.fromisoformat(stored["until"]))
    if stored.get("source"):
        conditions.append(Signature.source == stored["source"])
    return conditions


@dataclass(frozen=True)
class Preview:
    matching: int
    # Signatures older than the domain index, which a domain cannot find.
    unindexed: int


def preview(session: Session, petition: Petition, criteria: Criteria,
            index_key: bytes) -> Preview:
    stored = criteria.stored(index_key)
    matching = session.scalar(select(func.count(Signature.id))
                              .where(*_matching(petition.id, stored))) or 0
    unindexed = 0
    if criteria.domain:
        unindexed = session.scalar(select(func.count(Signature.id)).where(
            Signature.petition_id == petition.id, Signature.status.in_((CONFIRMED, PENDING)),
            Signature.email_domain_hash.is_(None))) or 0
    return Preview(int(matching), int(unindexed))


def start_run(session: Session, petition: Petition, criteria: Criteria, reason: str,
              actor: str, index_key: bytes) -> ModerationRun:
    """Record the run and queue its first job; the worker does the rest."""
    reason = _reason(reason)
    seen = preview(session, petition, criteria, index_key)
    run = ModerationRun(petition_id=petition.id, criteria=criteria.stored(index_key),
                        total=seen.matching, done=0, last_id=0, reason=reason, actor=actor)
    session.add(run)
    session.flush()
    enqueue(session, MODERATION_JOB, {"run_id": run.id})
    audit.record(session, actor, "bulk invalidation started",
                 f"{petition.slug}: run {run.id}, {seen.matching} signature(s): {reason}")
    session.commit()
    return run


def work_on(session: Session, run: ModerationRun, listener: WithdrawalListener | None,
            batches: int = BATCHES_PER_JOB) -> bool:
    """Invalidate up to ``batches`` batches of the run; True when the run is finished."""
    if run.finished_at is not None:
        return True
    conditions = _matching(run.petition_id, run.criteria)
    for _ in range(batches):
        ids = list(session.scalars(select(Signature.id)
                                   .where(*conditions, Signature.id > run.last_id)
                                   .order_by(Signature.id).limit(BATCH)))
        if not ids:
            run.finished_at = utcnow()
            audit.record(session, run.actor, "bulk invalidation finished",
                         f"run {run.id}, {run.done} signature(s)")
            session.commit()
            return True
        for signature_id in ids:
            signature = session.get(Signature, signature_id)
            assert signature is not None
            if withdraw_uncommitted(session, signature, WITHDRAWN_BY_OPERATOR,
                                    listener=listener) is CancelOutcome.CANCELLED:
                run.done += 1
        session.execute(update(Signature)
                        .where(Signature.id.in_(ids), Signature.status == CANCELLED,
                               Signature.invalidation_reason.is_(None))
                        .values(invalidation_reason=run.reason)
                        .execution_options(synchronize_session=False))
        run.last_id = ids[-1]
        session.commit()
    return False


def run_moderation_job(job: OutboxJob, context: DeliveryContext) -> None:
    """The outbox job of a bulk run: some batches, then the next job if work remains."""
    session = db.session()
    run = session.get(ModerationRun, job.payload["run_id"])
    if run is None:
        return
    if not work_on(session, run, LIFECYCLE.of(context.app)):
        enqueue(session, MODERATION_JOB, {"run_id": run.id})
        session.commit()


def runs_of(session: Session, petition: Petition, limit: int = 10) -> list[ModerationRun]:
    return list(session.scalars(select(ModerationRun)
                                .where(ModerationRun.petition_id == petition.id)
                                .order_by(ModerationRun.id.desc()).limit(limit)))
