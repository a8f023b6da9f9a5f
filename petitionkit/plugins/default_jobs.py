"""Built-in: the outbox job kinds that run the event hooks in workers (a signature confirmed or
withdrawn, an organisation approved, a goal reached, a petition changed, an action taken), and
the moderators' bulk invalidations."""

from __future__ import annotations

from collections.abc import Mapping

from petitionkit.outbox.worker import JobHandler
from petitionkit.plugins.events import (
    ACTION_TAKEN_JOB,
    GOAL_REACHED_JOB,
    ORGANIZATION_APPROVED_JOB,
    PETITION_CHANGED_JOB,
    SIGNATURE_CONFIRMED_JOB,
    SIGNATURE_WITHDRAWN_JOB,
    run_action_taken,
    run_goal_reached,
    run_organization_approved,
    run_petition_changed,
    run_signature_confirmed,
    run_signature_withdrawn,
)
from petitionkit.plugins.specs import hookimpl
from petitionkit.signatures.moderation import MODERATION_JOB, run_moderation_job


@hookimpl(trylast=True)
def petitionkit_job_handlers() -> Mapping[str, JobHandler]:
    return {
        SIGNATURE_CONFIRMED_JOB: run_signature_confirmed,
        SIGNATURE_WITHDRAWN_JOB: run_signature_withdrawn,
        GOAL_REACHED_JOB: run_goal_reached,
        ORGANIZATION_APPROVED_JOB: run_organization_approved,
        PETITION_CHANGED_JOB: run_petition_changed,
        ACTION_TAKEN_JOB: run_action_taken,
        MODERATION_JOB: run_moderation_job,
    }
