"""The organisers' notice that a story arrived: the petition and the count, never the story."""

from __future__ import annotations

from email.utils import make_msgid

from flask_babel import gettext
from sqlalchemy import func, select

from petitionkit.extensions import db
from petitionkit.outbox.mail import new_message
from petitionkit.outbox.models import OutboxJob
from petitionkit.outbox.worker import DeliveryContext
from petitionkit.petitions.models import Petition
from petitionkit.plugins import plugin_settings
from petitionkit_stories.models import StoryReceived
from petitionkit_stories.section import NOTICE_JOB, PLUGIN_NAME

__all__ = ["NOTICE_JOB", "send_notice", "stories_per_petition", "story_count"]


def story_count(petition_id: int) -> int:
    return int(db.session.scalar(
        select(func.count()).select_from(StoryReceived)
        .where(StoryReceived.petition_id == petition_id)
    ) or 0)


def stories_per_petition(petition_ids: list[int]) -> dict[int, int]:
    """Stories received per petition, for those of ``petition_ids``, in one grouped query."""
    rows = db.session.execute(
        select(StoryReceived.petition_id, func.count())
        .where(StoryReceived.petition_id.in_(petition_ids))
        .group_by(StoryReceived.petition_id)
    )
    return {petition_id: int(total) for petition_id, total in rows}


def send_notice(job: OutboxJob, context: DeliveryContext) -> None:
    address = plugin_settings(PLUGIN_NAME, context.app).get("notify")
    if not isinstance(address, str) or "@" not in address:
        return  # notices were switched off since the story arrived
    petition = db.session.get(Petition, job.payload["petition_id"])
    if petition is None:
        return
    count = story_count(petition.id)
    # A title is one line of the organisers' own; keep it so in a header.
    title = " ".join(petition.title.split())
    message = new_message()
    message["From"] = context.app.config["MAIL_FROM"]
    message["To"] = address.strip()
    message["Subject"] = gettext("A new story arrived for %(title)s (%(num)d so far)",
                                 title=title, num=count)
    # Kept on the job: a notice sent again after a worker died mid-job is the same message, which
    # mail programs show once. (Jobs queued under the earlier kind have none.)
    message["Message-ID"] = job.message_id or make_msgid(domain="petitionkit.invalid")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(gettext(
        "A new story arrived for %(title)s (%(num)d so far).\n\n"
        "Stories are sealed on arrival; this notice carries none of their content. "
        "The people who hold the stories' private key read them with:\n\n"
        "    petitionkit stories export %(slug)s --key FILE\n",
        title=title, num=count, slug=petition.slug,
    ))
    context.mail().send(message)
