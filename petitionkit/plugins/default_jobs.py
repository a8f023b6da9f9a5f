"""Built-in: the outbox job kinds that run the event hooks (confirmed, goal reached) in workers."""

from __future__ import annotations

from collections.abc import Mapping

from petitionkit.outbox.worker import JobHandler
from petitionkit.plugins.events import (
    GOAL_REACHED_JOB,
    SIGNATURE_CONFIRMED_JOB,
    run_goal_reached,
    run_signature_confirmed,
)
from petitionkit.plugins.specs import hookimpl


@hookimpl(trylast=True)
def petitionkit_job_handlers() -> Mapping[str, JobHandler]:
    return {SIGNATURE_CONFIRMED_JOB: run_signature_confirmed, GOAL_REACHED_JOB: run_goal_reached}
