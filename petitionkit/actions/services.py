"""Reported actions: what a report may say, recording it, and the counts per action.

Two kinds of report, counted apart so that no one person can inflate what organisers tell
officials:

- **Counted** (``actions``): through the signer's own link (a signed token, as for confirming),
  by a confirmed signer. The table's unique constraint keeps one per signer and action, so a
  repeat changes nothing; a signature withdrawn later no longer counts.
- **Anonymous** (``actions_anonymous``): without a link. Kept and shown apart, never added to the
  counted figure: a person can repeat one within the rate limit, from other addresses beyond it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from flask_babel import gettext
from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from petitionkit.actions import Action
from petitionkit.actions.models import ActionReport
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.signatures.models import CONFIRMED, Signature
from petitionkit.targets import Target


@dataclass(frozen=True)
class Report:
    """A report that passed its checks: keys of the petition's ``report_actions``."""

    actions: tuple[str, ...]
    outcome: str | None = None
    target: str | None = None


def declared(petition: Petition) -> dict[str, dict[str, Any]]:
    """The petition's reportable actions by key, in the file's order."""
    return {action["key"]: action for action in petition.report_actions or []}


def action_label(action: Mapping[str, Any], locale: str, petition_locale: str) -> str:
    """The label in ``locale`` (or its base language), else in the petition's own language."""
    labels: Mapping[str, str] = action["label"]
    for tag in (locale, locale.replace("-", "_").split("_")[0], petition_locale):
        if tag in labels:
            return labels[tag]
    return next(iter(labels.values()))


def read_report(
    petition: Petition, actions: object, outcome: object, target: object
) -> Report | dict[str, list[str]]:
    """The report, or ``{field: [message]}`` for each problem (the messages in the reader's
    language)."""
    known = declared(petition)
    errors: dict[str, list[str]] = {}
    keys: list[str] = []
    if not isinstance(actions, list) or not all(isinstance(key, str) for key in actions):
        errors["actions"] = [gettext("This must be a list of actions.")]
    elif not actions:
        errors["actions"] = [gettext("Please choose at least one action you took.")]
    elif len(actions) > len(known) or any(key not in known for key in actions):
        errors["actions"] = [gettext("This petition does not ask about that action.")]
    else:
        keys = list(dict.fromkeys(actions))
    if outcome is not None and outcome != "":
        allowed = {word for key in keys for word in known[key]["outcomes"]}
        if not isinstance(outcome, str) or outcome not in allowed:
            errors["outcome"] = [gettext("Please choose one of the outcomes offered.")]
    if target is not None and target != "":
        targets = {Target.from_mapping(values).key for values in petition.targets or []}
        if not isinstance(target, str) or target not in targets:
            errors["target"] = [gettext("This petition is not addressed to that person.")]
    if errors:
        return errors
    return Report(tuple(keys), str(outcome) if outcome else None,
                  str(target) if target else None)


class ReportListener(Protocol):
    """Enqueues each recorded action's plugin jobs in the recording transaction."""

    def action_taken(self, session: Session, action: Action) -> None: ...


def _insert(dialect_name: str) -> Any:
    if dialect_name == "postgresql":
        return postgresql.insert(ActionReport)
    return sqlite.insert(ActionReport)


def record_report(
    session: Session,
    petition: Petition,
    report: Report,
    signature_id: int | None,
    *,
    listener: ReportListener,
    claim: Callable[[Connection], bool] | None = None,
    now: datetime | None = None,
) -> int | None:
    """Store ``report`` and announce each new action, in one transaction.

    ``signature_id`` is the confirmed signer whose link was used, or ``None`` for an anonymous
    report. A signer's repeat of an action adds nothing (the unique constraint, with ON CONFLICT
    DO NOTHING so concurrent presses agree). ``claim`` spends a proof-of-work solution in the
    same transaction; an already spent one stores nothing and returns ``None``. Returns how
    many actions were new.
    """
    now = now or utcnow()
    connection = session.connection()
    if claim is not None and not claim(connection):
        session.rollback()
        return None
    statement = _insert(connection.dialect.name)
    if signature_id is not None:
        statement = statement.on_conflict_do_nothing(
            index_elements=["petition_id", "action", "signature_id"]
        )
    recorded = 0
    for key in report.actions:
        inserted = session.execute(
            statement.values(petition_id=petition.id, action=key, signature_id=signature_id,
                             outcome=report.outcome, created_at=now)
            .returning(ActionReport.id)
        ).scalar_one_or_none()
        if inserted is None:
            continue
        recorded += 1
        listener.action_taken(session, Action(
            "report", petition.id, now, signature_id=signature_id, target=report.target,
            outcome=report.outcome, report=key,
        ))
    session.commit()
    return recorded


@dataclass(frozen=True)
class ActionCounts:
    counted: dict[str, int]
    anonymous: dict[str, int]


def action_counts(session: Session, petition: Petition) -> ActionCounts:
    """Counts per declared action, one grouped query over the unique constraint's index.

    Counted: signers' reports whose signature is still confirmed. Anonymous: the others."""
    keys = list(declared(petition))
    counted = dict.fromkeys(keys, 0)
    anonymous = dict.fromkeys(keys, 0)
    if not keys:
        return ActionCounts(counted, anonymous)
    rows = session.execute(
        select(ActionReport.action, func.count(ActionReport.signature_id),
               func.count(ActionReport.id) - func.count(ActionReport.signature_id))
        .outerjoin(Signature, Signature.id == ActionReport.signature_id)
        .where(ActionReport.petition_id == petition.id,
               or_(ActionReport.signature_id.is_(None), Signature.status == CONFIRMED))
        .group_by(ActionReport.action)
    ).all()
    for key, signed, unsigned in rows:
        if key in counted:
            counted[key], anonymous[key] = int(signed), int(unsigned)
    return ActionCounts(counted, anonymous)


class ReportedAction(NamedTuple):
    key: str
    label: str
    counted: int
    anonymous: int


def reported_actions(session: Session, petition: Petition, locale: str) -> list[ReportedAction]:
    """Each declared action with its label in ``locale`` and its counts, in the file's order
    (the workspace's figures, the API's and the hand-over report)."""
    counts = action_counts(session, petition)
    return [ReportedAction(key, action_label(action, locale, petition.locale),
                           counts.counted[key], counts.anonymous[key])
            for key, action in declared(petition).items()]
