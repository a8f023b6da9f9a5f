"""A petition's figures for tokens of every role: what the workspace's figures page shows
(petitionkit/admin/figures.py), read through the same services."""

from __future__ import annotations

from flask import Response, jsonify
from flask_babel import get_locale

from petitionkit.actions.services import reported_actions
from petitionkit.api.openapi import (
    BOOLEAN,
    COUNT,
    ERROR,
    INTEGER,
    MOMENT,
    TEXT,
    nullable,
    operation,
    record,
)
from petitionkit.api.views import bp, petition_at, require_token
from petitionkit.extensions import db
from petitionkit.outbox import services as outbox
from petitionkit.petitions.goals import current_goal
from petitionkit.signatures.figures import figures, milestones


def _array(items: dict[str, object]) -> dict[str, object]:
    return {"type": "array", "items": items}


FIGURES = record(
    confirmed=COUNT, pending=COUNT, withdrawn=COUNT,
    confirmation_rate=nullable({"type": "number", "minimum": 0, "maximum": 1}),
    hours=_array(record(hour=MOMENT, count=INTEGER)),
    days=_array(record(day={"type": "string", "format": "date"}, count=INTEGER)),
    sources=_array(record(source=TEXT, count=COUNT)),
    goal=nullable(INTEGER),
    milestones=_array(record(goal=INTEGER, reached=BOOLEAN)),
    actions=_array(record(key=TEXT, label=TEXT, counted=COUNT, anonymous=COUNT)),
    outbox=record(pending=COUNT, due=COUNT, dead=COUNT,
                  oldest_due_age={"type": "number", "minimum": 0}),
)


@bp.get("/petitions/<slug>/figures")
@operation("Confirmations per hour (the last 72) and per day, the confirmation rate, the "
           "sources, the milestones, the reported actions and the outbox's health",
           tag="figures", role="viewer",
           responses={200: ("The figures", FIGURES), 404: ("No such petition", ERROR)})
@require_token("viewer")
def petition_figures(slug: str) -> Response:
    session = db.session()
    petition = petition_at(slug)
    numbers = figures(session, petition)
    actions = reported_actions(session, petition, str(get_locale() or petition.locale))
    health = outbox.stats(session)
    return jsonify(
        confirmed=numbers.confirmed, pending=numbers.pending, withdrawn=numbers.withdrawn,
        confirmation_rate=numbers.confirmation_rate,
        hours=[{"hour": bar.when.isoformat(), "count": bar.value} for bar in numbers.hours],
        days=[{"day": bar.when.isoformat(), "count": bar.value} for bar in numbers.days],
        sources=[{"source": source, "count": count} for source, count in numbers.sources],
        goal=current_goal(petition, petition.goal_count),
        milestones=[{"goal": step, "reached": reached}
                    for step, reached in milestones(petition)],
        actions=[action._asdict() for action in actions],
        outbox={"pending": health.pending, "due": health.due, "dead": health.dead,
                "oldest_due_age": health.oldest_due_age},
    )
