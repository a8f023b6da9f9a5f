"""The story form: ``/p/SLUG/story`` on the hosted page, ``/embed/SLUG/story`` in the widget.

Every post is counted against the plugin's rate limit first, refused from sites the petition
does not allow, then read; while signing asks for the engine's proof-of-work check, a story asks
for it too, and its solution is spent in the transaction that stores the story. A story that
passes is sealed to the stories' public key before it touches the database, and the answer is
a 303 to the thank-you page, so a refresh there sends nothing again. Nothing of a story is
logged.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.wrappers import Response as BaseResponse

from petitionkit.challenges.services import Problem
from petitionkit.challenges.views import challenge_url, check_solution, claim
from petitionkit.embed.framing import petition_policy
from petitionkit.embed.views import embed_context
from petitionkit.encryption import STORIES, KeyUnavailable, Sealer, read_public_key
from petitionkit.extensions import db
from petitionkit.i18n import current_locale_name
from petitionkit.outbox.services import enqueue
from petitionkit.petitions.models import Petition
from petitionkit.petitions.services import signing_petition_or_404
from petitionkit.plugins import plugin_settings
from petitionkit.security import is_cross_site_post
from petitionkit.signatures.forms import country_choices
from petitionkit.signatures.limits import check_client_limit
from petitionkit.signatures.rules import BIDI_CONTROLS, published_text_problem, text_problem
from petitionkit_stories.models import StoryReceived
from petitionkit_stories.section import NOTICE_JOB, PLUGIN_NAME, stories_section

bp = Blueprint("petitionkit_stories", __name__, template_folder="templates")
log = logging.getLogger("petitionkit.stories")

DEFAULT_RATE_LIMIT = "5/hour"
STORY_MAX = 20_000
NAME_MAX = 200
CONTACT_MAX = 300
# Room for a story of 20,000 characters in any script, sent as a form (the engine's default
# body limit is sized for a signature).
BODY_MAX = 256 * 1024
# Marks (LRM, RLM, ALM) are how right-to-left writers fix punctuation; embeddings, overrides
# and isolates only reorder what a reader sees, and have no place in a plain-text story.
_REORDERING = BIDI_CONTROLS - frozenset("\u061c\u200e\u200f")


def stories_sealer() -> Sealer | None:
    """The stories' key pair, or None when its public key is missing: then nothing is taken."""
    sealer = Sealer.from_config(current_app._get_current_object(), STORIES)  # type: ignore[attr-defined]
    try:
        read_public_key(sealer.public_key_file, sealer.public_setting)
    except KeyUnavailable as error:
        log.warning("stories are refused: %s", error)
        return None
    return sealer


def notify_address() -> str | None:
    address = plugin_settings(PLUGIN_NAME).get("notify")
    if isinstance(address, str) and "@" in address and "\n" not in address:
        return address.strip()
    if address:
        log.warning("PLUGINS[%r]['notify'] is not an e-mail address; no notices", PLUGIN_NAME)
    return None


def read_story(form: MultiDict[str, str], section: dict[str, Any]
               ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The story as it will be sealed, and the problems by field name."""
    errors: dict[str, list[str]] = {}
    story = (form.get("story") or "").replace("\r\n", "\n").strip()
    if not story:
        errors["story"] = [gettext("Please write your story.")]
    elif len(story) > STORY_MAX:
        errors["story"] = [gettext("Please shorten your story to at most %(num)d characters.",
                                   num=STORY_MAX)]
    elif problems := text_problem(story, multiline=True):
        errors["story"] = problems
    elif any(char in _REORDERING for char in story):
        errors["story"] = [gettext("This contains characters that change the direction of "
                                   "text. Please retype it.")]
    fields: dict[str, str] = {}
    if "name" in section["fields"]:
        name = (form.get("name") or "").strip()
        if len(name) > NAME_MAX:
            errors["name"] = [gettext("Please use at most %(num)d characters.", num=NAME_MAX)]
        elif problems := published_text_problem(name):
            errors["name"] = problems
        elif name:
            fields["name"] = name
    if "country" in section["fields"]:
        country = (form.get("country") or "").strip()
        if country and country not in dict(country_choices("en")):
            errors["country"] = [gettext("Please choose a country from the list.")]
        elif country:
            fields["country"] = country
    contact: str | None = None
    if section["contact"] == "allowed" and form.get("may_contact"):
        contact = (form.get("contact") or "").strip()
        if not contact:
            errors["contact"] = [gettext("Please say how we may contact you, or untick "
                                         "\"You may contact me\".")]
        elif len(contact) > CONTACT_MAX:
            errors["contact"] = [gettext("Please use at most %(num)d characters.",
                                         num=CONTACT_MAX)]
        elif problems := published_text_problem(contact):
            errors["contact"] = problems
    return {"story": story, "fields": fields, "contact": contact}, errors


def challenge_message(problem: Problem) -> str:
    """What the form says when the check is missing or refused: the person's story stays in
    the form, so they send it again."""
    if problem is Problem.MISSING:
        return gettext(
            "To keep automated posts out, this form asks your browser to complete a short "
            "check, which needs JavaScript. Please turn JavaScript on and send your story "
            "again, or try again later."
        )
    if problem is Problem.EXPIRED:
        return gettext("The automatic check of your browser expired. Please send your story "
                       "again.")
    return gettext("The automatic check of your browser did not succeed. Please send your "
                   "story again.")


def _form(petition: Petition, embed: bool, status: int, section: dict[str, Any],
          form: MultiDict[str, str], errors: dict[str, list[str]]) -> tuple[str, int]:
    choices = country_choices(current_locale_name()) if "country" in section["fields"] else []
    # A solution refused for nothing of its own stays unspent: the corrected post carries it.
    solution = "" if "altcha" in errors else form.get("altcha", "")
    return _page("petitionkit_stories/form.html", petition, embed, status, section=section,
                 form=form, errors=errors, countries=choices, challenge=challenge_url(petition),
                 solution=solution, needs_javascript=challenge_message(Problem.MISSING))


def _page(template: str, petition: Petition, embed: bool, status: int, **context: Any
          ) -> tuple[str, int]:
    context = {**context, "petition": petition, "embed": embed}
    if embed:
        # Shown inside the widget's iframe: framed by the petition's allowed origins only.
        g.embed_policy = petition_policy(petition)
        context = {**embed_context(petition), **context, "stage": "story"}
    return render_template(template, **context), status


def _message(petition: Petition, embed: bool, status: int, heading: str, message: str
             ) -> tuple[str, int]:
    return _page("petitionkit_stories/message.html", petition, embed, status,
                 heading=heading, message=message)


@bp.before_request
def _room_for_a_story() -> None:
    request.max_content_length = BODY_MAX


@bp.route("/p/<slug>/story", methods=["GET", "POST"])
def story_page(slug: str) -> BaseResponse | tuple[str, int]:
    """The story form on the hosted page, and where it posts."""
    return _story(slug, embed=False)


@bp.route("/embed/<slug>/story", methods=["GET", "POST"])
def story_embed(slug: str) -> BaseResponse | tuple[str, int]:
    """The story form inside the widget's iframe, and where it posts."""
    return _story(slug, embed=True)


@bp.get("/p/<slug>/story/thanks")
def story_thanks_page(slug: str) -> tuple[str, int]:
    """Where a story that was taken leads on the hosted page."""
    return _thanks(slug, embed=False)


@bp.get("/embed/<slug>/story/thanks")
def story_thanks_embed(slug: str) -> tuple[str, int]:
    """Where a story that was taken leads inside the widget's iframe."""
    return _thanks(slug, embed=True)


def _thanks(slug: str, embed: bool) -> tuple[str, int]:
    # The same words for anyone who opens the address: it tells nobody whether a story came.
    petition = signing_petition_or_404(slug)
    if stories_section(petition.sections) is None:
        abort(404)
    return _message(petition, embed, 200, gettext("Thank you for your story"),
                    gettext("Your story was sealed as it arrived: only the people who hold "
                            "the stories' key can read it."))


def _story(slug: str, embed: bool) -> BaseResponse | tuple[str, int]:
    posted = request.method == "POST"
    if posted:
        limit = plugin_settings(PLUGIN_NAME).get("rate_limit") or DEFAULT_RATE_LIMIT
        check_client_limit(str(limit), "stories")
    petition = signing_petition_or_404(slug)
    section = stories_section(petition.sections)
    if section is None:
        abort(404)
    if posted and is_cross_site_post(allowed=petition.allowed_origins or ()):
        abort(403, description=gettext(
            "This form was sent from another website, so it was not accepted. "
            "Please use the petition's own page."
        ))
    if not petition.is_open():
        return _message(petition, embed, 409, gettext("Stories are closed"),
                        gettext("This petition is closed and no longer takes stories."))
    sealer = stories_sealer()
    if sealer is None:
        return _message(petition, embed, 503, gettext("Stories are not being accepted"),
                        gettext("This petition is not accepting stories at the moment, so "
                                "nothing was stored. Please try again later."))
    if not posted:
        return _form(petition, embed, 200, section, MultiDict(), {})
    if request.mimetype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise UnsupportedMediaType(gettext("Please send the form as a web form."))
    form = request.form
    story, errors = read_story(form, section)
    # The same check as signing, asked exactly while signing asks for it.
    ticket, problem = check_solution(petition, form.get("altcha"))
    if problem is not None:
        errors["altcha"] = [challenge_message(problem)]
    if errors:
        return _form(petition, embed, 422, section, form, errors)
    session = db.session()
    if ticket is not None and not claim(ticket)(session.connection()):
        session.rollback()
        return _form(petition, embed, 422, section, form,
                     {"altcha": [challenge_message(Problem.INVALID)]})
    received = StoryReceived(petition_id=petition.id, sealed=sealer.seal_json(story))
    session.add(received)
    session.flush()
    address = notify_address()
    if address is not None:
        enqueue(session, NOTICE_JOB, {"petition_id": petition.id, "story_id": received.id},
                idempotency_key=f"{NOTICE_JOB}:{received.id}")
    session.commit()
    thanks = "petitionkit_stories.story_thanks_embed" if embed else \
        "petitionkit_stories.story_thanks_page"
    return redirect(url_for(thanks, slug=petition.slug, lang=form.get("lang") or None), code=303)
