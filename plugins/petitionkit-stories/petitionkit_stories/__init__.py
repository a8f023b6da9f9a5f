"""petitionkit-stories: confidential stories, built on public hooks only.

A petition file with a ``stories:`` section asks for stories (people approached by the police,
say). The form lives on the hosted page and in the widget, works without JavaScript, and needs
no e-mail address unless the person wants to be contacted. Each story is sealed on arrival to
the stories' key pair (``petitionkit keys generate --stories``), apart from the signers' data:
the web process can write a story and cannot read one. ``petitionkit stories export SLUG
--key FILE`` opens them for the people allowed to read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, render_template
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy import delete

from petitionkit import hookimpl
from petitionkit.extensions import db
from petitionkit.outbox.worker import JobHandler
from petitionkit.petitions.models import Petition
from petitionkit.plugins import ActionStep
from petitionkit_stories.cli import stories_group
from petitionkit_stories.models import StoryReceived
from petitionkit_stories.notice import NOTICE_JOB, send_notice, stories_per_petition
from petitionkit_stories.section import (
    EARLIER_NOTICE_JOB,
    SECTION,
    read_stories,
    stories_section,
)
from petitionkit_stories.views import bp

__version__ = "0.1.0"
# The step's name in a petition's ``steps:`` list.
STEP = "story"


def story_step_missing(values: Mapping[str, Any]) -> str | None:
    """What a petition naming the story step in ``steps:`` lacks, if anything."""
    if stories_section(values.get("sections")) is None:
        return "needs a stories: section with the question to ask"
    return None


@hookimpl
def petitionkit_petition_sections() -> dict[str, Any]:
    return {SECTION: read_stories}


@hookimpl
def petitionkit_step_names() -> dict[str, Any]:
    return {STEP: story_step_missing}


@hookimpl
def petitionkit_register_blueprints() -> list[Blueprint]:
    return [bp]


@hookimpl
def petitionkit_action_steps(
    petition: Petition, embed: bool, report_token: str | None
) -> list[ActionStep]:
    section = stories_section(petition.sections)
    if section is None or not petition.is_open():
        return []
    html = render_template("petitionkit_stories/step.html", petition=petition,
                           section=section, embed=embed)
    return [ActionStep(STEP, Markup(html))]


@hookimpl
def petitionkit_workspace_counts(
    petitions: Sequence[Petition],
) -> Mapping[str, Mapping[int, int]]:
    """How many stories each petition that asks for them received; never a story's text."""
    asking = [petition.id for petition in petitions if SECTION in (petition.sections or {})]
    if not asking:
        return {}
    return {gettext("Stories"): stories_per_petition(asking)}


@hookimpl
def petitionkit_personal_data_removed(petition: Petition) -> None:
    # Retention applies to stories as to signers: the petition's stories go, sealed or not.
    # (A notice still queued names only the petition and a story's id: nothing to remove.)
    db.session.execute(delete(StoryReceived).where(StoryReceived.petition_id == petition.id))
    db.session.commit()


@hookimpl
def petitionkit_job_handlers() -> Mapping[str, JobHandler]:
    return {NOTICE_JOB: send_notice, EARLIER_NOTICE_JOB: send_notice}


@hookimpl
def petitionkit_register_commands() -> list[click.Command]:
    return [stories_group]


@hookimpl
def petitionkit_migrations() -> list[str]:
    return [str(Path(__file__).parent / "migrations")]
