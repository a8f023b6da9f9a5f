"""Built-in: the outbox job kinds that run the event hooks in workers."""

from __future__ import annotations

from collections.abc import Mapping

from petitionkit.hookspecs import hookimpl
from petitionkit.outbox.worker import JobHandler
from petitionkit.plugin_jobs import (
    GOAL_REACHED_JOB,
    SIGNATURE_CONFIRMED_JOB,
    run_goal_reached,
    run_signature_confirmed,
)


@hookimpl(trylast=True)
def petitionkit_job_handlers() -> Mapping[str, JobHandler]:
    return {SIGNATURE_CONFIRMED_JOB: run_signature_confirmed, GOAL_REACHED_JOB: run_goal_reached}
