"""The outbox for owners' tokens: the dead jobs with their reasons, and replay, through the
services the workspace's outbox page calls (petitionkit/outbox/services.py). A dead job is shown
by its number, kind, attempts and reason, never its payload, which may name a signer."""

from __future__ import annotations

from flask import Response, jsonify
from flask_babel import gettext

from petitionkit.api.openapi import COUNT, ERROR, INTEGER, MOMENT, TEXT, nullable, operation, record
from petitionkit.api.views import api_error, bp, require_token, token_actor
from petitionkit.extensions import db
from petitionkit.outbox import services

SHOWN = 200
DEAD_JOB = record(id=INTEGER, kind=TEXT, attempts=COUNT, reason=nullable(TEXT),
                  created_at=MOMENT)
REPLAYED = record(replayed=COUNT)


@bp.get("/outbox/dead")
@operation("The newest dead jobs (at most 200) with their reasons, and how many there are",
           tag="outbox", role="owner",
           responses={200: ("The dead jobs, newest first", record(
               dead=COUNT, jobs={"type": "array", "items": DEAD_JOB}))})
@require_token("owner")
def dead() -> Response:
    session = db.session()
    total = services.stats(session).dead
    return jsonify(dead=total, jobs=[
        {"id": job.id, "kind": job.kind, "attempts": job.attempts, "reason": job.last_error,
         "created_at": job.created_at.isoformat()}
        for job in services.newest_dead_jobs(session, SHOWN)])


@bp.post("/outbox/dead/<int:job_id>/replay")
@operation("Put one dead job back in the queue", tag="outbox", role="owner",
           responses={200: ("Back in the queue", REPLAYED), 404: ("No such dead job", ERROR)})
@require_token("owner")
def replay_one(job_id: int) -> Response:
    if not services.replay_by(db.session(), [job_id], token_actor()):
        return api_error(404, gettext("There is no dead job %(num)d.", num=job_id))
    return jsonify(replayed=1)


@bp.post("/outbox/dead/replay")
@operation("Put every dead job back in the queue", tag="outbox", role="owner",
           responses={200: ("How many went back", REPLAYED)})
@require_token("owner")
def replay_all() -> Response:
    return jsonify(replayed=services.replay_by(db.session(), None, token_actor()))
