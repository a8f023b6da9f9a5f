"""The embeddable widget: the loader, the iframe document and its pages, and oEmbed."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

from babel import Locale
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext
from markupsafe import escape

from petitionkit.actions.services import action_counts
from petitionkit.challenges.views import challenge_url
from petitionkit.embed.assets import asset, asset_response
from petitionkit.embed.framing import (
    embed_policy,
    frame_origins,
    petition_policy,
    referring_origin_refused,
)
from petitionkit.embed.progress import (
    count_sentence,
    deadline_sentence,
    organizations_sentence,
    progress_percent,
)
from petitionkit.embed.share import mastodon_server, share_details
from petitionkit.embed.signers import recent_signers
from petitionkit.extensions import db
from petitionkit.i18n import current_locale_name
from petitionkit.outbox.mail import demo_mail_folder
from petitionkit.petitions.goals import current_goal
from petitionkit.petitions.models import Petition
from petitionkit.petitions.services import (
    SUMMARY_CACHE,
    SummaryCache,
    find_petition,
    petition_or_404,
    public_summary,
)
from petitionkit.security import origin_of, own_origins
from petitionkit.signatures.forms import SignatureForm, country_choices
from petitionkit.signatures.organizations import (
    MAX_PER_PAGE,
    PublicOrganization,
    approved_organizations,
)
from petitionkit.signatures.rules import embedding_site

bp = Blueprint("embed", __name__)

THEMES = ("light", "dark", "auto")
_ACCENT = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_SLUG_PATH = re.compile(r"^/p/([a-z0-9][a-z0-9-]{0,79})/?$")
# The iframe oEmbed hands out keeps this height (CMSs do not resize it): the whole form of the
# example letter, with its letter box, ends at 1,363 px on a 320 px phone (measured in Chromium by
# tests/browser/test_oembed_height.py), plus a margin for longer titles and summaries.
OEMBED_HEIGHT = 1480


@bp.app_template_global()
def widget_asset_url(name: str) -> str:
    """A URL that changes with the file, so the file itself can be cached for a year."""
    return url_for("embed.widget_asset", name=name, v=asset(name).etag)


def _recent_signers(petition: Petition) -> list[str]:
    return recent_signers(db.session(), petition)


def _listed_organizations(petition: Petition) -> list[PublicOrganization]:
    return approved_organizations(db.session(), petition, per_page=MAX_PER_PAGE)


def _country_name(code: str) -> str:
    name: str = Locale.parse(current_locale_name()).territories.get(code, code)
    return name


@bp.record_once
def _template_globals(state: BlueprintSetupState) -> None:
    # Globals rather than a context processor: the macros in _progress.html are imported
    # without the caller's context.
    state.app.jinja_env.globals.update(
        count_sentence=count_sentence,
        organizations_sentence=organizations_sentence,
        progress_percent=progress_percent,
        deadline_sentence=deadline_sentence,
        recent_signers=_recent_signers,
        listed_organizations=_listed_organizations,
        country_name=_country_name,
        share_details=share_details,
        current_locale_name=current_locale_name,
    )


@bp.after_app_request
def framing_policy(response: Response) -> Response:
    """Pages shown inside the iframe may be framed by the petition's allowed origins only."""
    policy = g.get("embed_policy")
    if policy is not None:
        response.headers["Content-Security-Policy"] = policy
        response.headers["Vary"] = "Referer, Accept-Language"
        response.headers["Cache-Control"] = "no-cache"
    return response


def embed_context(petition: Petition) -> dict[str, Any]:
    theme = request.args.get("theme", "")
    accent = request.args.get("accent", "")
    return {
        "petition": petition,
        "goal": current_goal(petition, petition.goal_count),
        "theme": theme if theme in THEMES else "light",
        "accent": accent if _ACCENT.match(accent) else "",
        "frame_origins": frame_origins(petition),
        "count_url": url_for("embed.count", slug=petition.slug),
        "poll_seconds": current_app.config["WIDGET_POLL_SECONDS"],
    }


def render_embed_page(
    petition: Petition, form: SignatureForm, status: int = 200
) -> tuple[str, int]:
    """The iframe's signing page; also what a failed embedded post shows, errors inline."""
    g.embed_policy = petition_policy(petition)
    body = render_template(
        "embed/show.html",
        # The page again, with errors: the host page already heard "loaded" once.
        stage="form" if status < 400 else "invalid",
        form=form,
        countries=(country_choices(current_locale_name())
                   if petition.asks_country or petition.takes_organizations else []),
        is_open=petition.is_open(),
        challenge_url=challenge_url(petition) if petition.is_open() else None,
        **embed_context(petition),
    )
    return body, status


def _embedding_site() -> str | None:
    """The host of the page showing the iframe, for the figures: taken from the Referer of the
    iframe's first request, where the browser names the embedding page (its origin alone, by
    default, for another site). None on the engine's own pages and where the embedding page
    hides its address (``Referrer-Policy: no-referrer``): that choice is the page's to make.

    A claim, not proof: a page cannot make a browser name another site, but anything else can
    send any Referer, so it is a figure, and nothing is allowed or refused by it.
    """
    origin = origin_of(request.headers.get("Referer", ""))
    if origin is None or origin in own_origins():
        return None
    return embedding_site(origin)


@bp.get("/embed/<slug>")
def show(slug: str) -> tuple[str, int]:
    petition = petition_or_404(slug)
    refused = referring_origin_refused(petition)
    if refused is not None:
        # Only a notice and a link: nothing here is worth clickjacking, so any page may show it.
        g.embed_policy = embed_policy("*")
        return render_template("embed/not_allowed.html", stage="blocked",
                               **embed_context(petition)), 403
    form = SignatureForm(petition)
    form.source.data = request.args.get("source", "")[:100] or None
    form.site.data = _embedding_site()
    return render_embed_page(petition, form)


@bp.get("/embed/<slug>/check-email")
def check_email(slug: str) -> str:
    petition = petition_or_404(slug)
    g.embed_policy = petition_policy(petition)
    config = current_app.config
    return render_template(
        "embed/check_email.html",
        stage="submitted",
        demo_mail_dir=demo_mail_folder(config),
        **embed_context(petition),
    )


@bp.get("/embed/<slug>/count.json")
def count(slug: str) -> Response:
    """What the iframe polls: the count, already worded in the reader's language.

    Every open widget polls, so this reads the same per-process cache as the public API rather
    than the database.
    """
    cache: SummaryCache = SUMMARY_CACHE.of()
    item = cache.get(slug)
    if item is None:
        petition = petition_or_404(slug)
        goal = current_goal(petition, petition.goal_count)
        summary = public_summary(petition, goal, action_counts(db.session(), petition))
        item = cache.put(slug, summary, current_app.config["COUNT_CACHE_SECONDS"])
    summary = json.loads(item.body)
    if summary["goal_counts"] == "organizations":
        # A joint letter measured in organisations: public by name, so never hidden.
        organizations, goal = int(summary["organizations"]), summary["goal"]
        response = jsonify(
            count=organizations,
            count_hidden=False,
            goal=goal,
            text=organizations_sentence(organizations, goal),
            percent=progress_percent(organizations, goal),
        )
    elif summary["count_hidden"]:
        response = jsonify(count=None, count_hidden=True, goal=None, text="", percent="")
    else:
        online, offline, goal = int(summary["count"]), int(summary["offline"]), summary["goal"]
        # The widget shows and measures the total: online and offline together.
        response = jsonify(
            count=online + offline,
            count_hidden=False,
            goal=goal,
            text=count_sentence(online, goal, offline),
            percent=progress_percent(online + offline, goal),
        )
    max_age = current_app.config["API_MAX_AGE"]
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Vary"] = "Accept-Language"
    # Public figures, read without credentials: a frame sandboxed without allow-same-origin
    # (WordPress's embeds) has an opaque origin and may still refresh its count.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/widget.js")
def loader() -> Response:
    # The snippet's URL never changes, so the loader is cached briefly and revalidated by ETag.
    return asset_response("loader.js", max_age=300)


@bp.get("/widget/<name>")
def widget_asset(name: str) -> Response:
    if name not in ("petitionkit.js", "challenge.js"):
        abort(404)
    return asset_response(name, max_age=365 * 24 * 3600, immutable=True)


@bp.get("/oembed")
def oembed() -> Response | tuple[Response, int]:
    """oEmbed (https://oembed.com) so pasting a petition's address into a CMS embeds it."""
    url = request.args.get("url", "")
    requested_format = request.args.get("format", "json")
    if requested_format != "json":
        return jsonify(error=gettext("Only the JSON format is offered.")), 501
    parts = urlsplit(url)
    match = _SLUG_PATH.match(parts.path)
    if not url or origin_of(url) not in own_origins() or match is None:
        return jsonify(error=gettext("This address is not a petition on this site.")), 404
    petition = find_petition(match.group(1))
    if petition is None or petition.status == "draft":
        return jsonify(error=gettext("This address is not a petition on this site.")), 404
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    max_width = request.args.get("maxwidth", type=int)
    max_height = request.args.get("maxheight", type=int)
    width = min(max_width, 640) if max_width and max_width > 0 else 640
    height = min(max_height, OEMBED_HEIGHT) if max_height and max_height > 0 else OEMBED_HEIGHT
    src = f"{base}/embed/{petition.slug}"
    html = (
        f'<iframe src="{src}" title="{escape(petition.title)}" width="{width}" '
        f'height="{height}" frameborder="0" style="border:0;max-width:100%" '
        'loading="lazy"></iframe>'
    )
    return jsonify(
        version="1.0",
        type="rich",
        provider_name="petitionkit",
        provider_url=base + "/",
        title=petition.title,
        html=html,
        width=width,
        height=height,
    )


@bp.get("/share/mastodon")
def mastodon_share() -> tuple[str, int]:
    """Without JavaScript the Mastodon form lands here: a link on to the signer's own server.

    A link rather than a redirect: the page's form-action policy keeps form submissions on this
    site, and a signer sees where they are going before they go.
    """
    server = mastodon_server(request.args.get("instance", ""))
    text = request.args.get("text", "")[:500]
    if server is None:
        return render_template("embed/mastodon.html", share_url=None, server=None), 400
    share_url = f"https://{server}/share?text={quote(text)}"
    return render_template("embed/mastodon.html", share_url=share_url, server=server), 200
