"""The hosted petition page and the public read API."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from petitionkit.actions.services import action_counts
from petitionkit.api.openapi import (
    BOOLEAN,
    COUNT,
    ERROR,
    MOMENT,
    TEXT,
    nullable,
    operation,
    record,
)
from petitionkit.challenges.views import challenge_url
from petitionkit.extensions import db
from petitionkit.i18n import current_locale_name
from petitionkit.outbox.mail import demo_mail_folder
from petitionkit.petitions.goals import current_goal
from petitionkit.petitions.images import PetitionImage
from petitionkit.petitions.models import Petition
from petitionkit.petitions.services import (
    SUMMARY_CACHE,
    CachedBody,
    SummaryCache,
    listed_open_petitions,
    petition_or_404,
    public_summary,
)
from petitionkit.signatures.forms import SignatureForm, country_choices
from petitionkit.signatures.organizations import MAX_PER_PAGE, PER_PAGE, approved_organizations

bp = Blueprint("petitions", __name__)

# The front page lists at most this many open petitions, newest first.
FRONT_PAGE_LIMIT = 100


@bp.get("/")
def index() -> BaseResponse | str:
    """The open petitions, or the organization's own site when ``HOME_URL`` says so."""
    home_url = current_app.config["HOME_URL"]
    if home_url:
        return redirect(home_url, code=302)
    petitions = listed_open_petitions(db.session(), FRONT_PAGE_LIMIT)
    return render_template(
        "petitions/index.html",
        petitions=[(petition, current_goal(petition, petition.goal_count))
                   for petition in petitions],
    )


@bp.get("/p/<slug>")
def show(slug: str) -> tuple[str, int]:
    petition = petition_or_404(slug)
    form = SignatureForm(petition)
    return render_petition_page(petition, form)


def render_petition_page(
    petition: Petition, form: SignatureForm, status: int = 200
) -> tuple[str, int]:
    goal = current_goal(petition, petition.goal_count)
    body = render_template(
        "petitions/show.html",
        petition=petition,
        form=form,
        goal=goal,
        countries=(country_choices(current_locale_name())
                   if petition.asks_country or petition.takes_organizations else []),
        is_open=petition.is_open(),
        challenge_url=challenge_url(petition) if petition.is_open() else None,
    )
    return body, status


@bp.get("/p/<slug>/image.jpg")
def image(slug: str) -> Response:
    """The petition's picture; its address carries its version, so it may be kept a year."""
    petition = petition_or_404(slug)
    stored = db.session.get(PetitionImage, petition.id) if petition.image else None
    if stored is None:
        abort(404)
    response = Response(stored.data, mimetype=stored.content_type)
    response.set_etag(stored.version)
    response.cache_control.public = True
    if request.args.get("v") == stored.version:
        response.cache_control.max_age = 365 * 24 * 3600
        response.cache_control.immutable = True
    else:
        response.cache_control.max_age = 300
    response.make_conditional(request)
    return response


@bp.get("/p/<slug>/check-email")
def check_email(slug: str) -> str:
    petition = petition_or_404(slug)
    return render_template(
        "signatures/check_email.html",
        petition=petition,
        demo_mail_dir=demo_mail_folder(current_app.config),
    )


# What services.public_summary answers; the counts are null below show_count_from.
_ACTION_COUNTS = nullable({"type": "object", "additionalProperties": COUNT})
SUMMARY = record(slug=TEXT, title=TEXT, summary=TEXT, count=nullable(COUNT),
                 offline=nullable(COUNT), total=nullable(COUNT), count_hidden=BOOLEAN,
                 organizations=COUNT, goal=nullable(COUNT),
                 goal_counts={"enum": ["signatures", "organizations"]},
                 actions=_ACTION_COUNTS, actions_anonymous=_ACTION_COUNTS, status=TEXT,
                 status_line=nullable(TEXT), opens_at=nullable(MOMENT),
                 closes_at=nullable(MOMENT), locale=TEXT)
ORGANIZATIONS = record(
    slug=TEXT, count=COUNT, page=COUNT, per_page=COUNT, next=nullable(TEXT),
    organizations={"type": "array", "items": record(name=TEXT, website=nullable(TEXT),
                                                    country=nullable(TEXT))})


@bp.get("/api/v1/petitions/<slug>")
@operation("A petition's public figures: count, goal, status, reported actions", tag="public",
           responses={200: ("The figures", SUMMARY), 304: ("Unchanged since the ETag", None),
                      404: ("No such petition", ERROR)})
def api_show(slug: str) -> Response:
    cache: SummaryCache = SUMMARY_CACHE.of()
    item = cache.get(slug)
    if item is None:
        petition = petition_or_404(slug)
        goal = current_goal(petition, petition.goal_count)
        summary = public_summary(petition, goal, action_counts(db.session(), petition))
        item = cache.put(slug, summary, current_app.config["COUNT_CACHE_SECONDS"])
    return _public_json(item)


def _public_json(item: CachedBody) -> Response:
    """A public read: cached by browsers and CDNs for ``API_MAX_AGE``, revalidated by ETag."""
    max_age = current_app.config["API_MAX_AGE"]
    headers = {
        "ETag": f'"{item.etag}"',
        "Cache-Control": (
            f"public, max-age={max_age}, stale-while-revalidate={max_age * 6}, "
            "stale-if-error=86400"
        ),
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept-Encoding",
    }
    if request.if_none_match.contains_weak(item.etag):
        return Response(status=304, headers=headers)
    return Response(item.body, status=200, headers=headers, mimetype="application/json")


# The deepest page the organisations' list serves: far beyond any joint letter, and it keeps
# an offset from costing the database a scan of the whole table.
MAX_PAGE = 1000


def _page_argument(name: str, default: int, highest: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= highest:
        abort(_bad_argument(gettext(
            "%(name)s must be a whole number from 1 to %(highest)d.", name=name, highest=highest
        )))
    return int(raw)


def _bad_argument(message: str) -> Response:
    response = jsonify(error=message)
    response.status_code = 400
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/api/v1/petitions/<slug>/organizations")
@operation("The approved signatory organisations, a page at a time", tag="public",
           query={"page": {"type": "integer", "minimum": 1, "maximum": 1000},
                  "per_page": {"type": "integer", "minimum": 1}},
           responses={200: ("One page", ORGANIZATIONS), 304: ("Unchanged since the ETag", None),
                      400: ("A bad page number", ERROR), 404: ("No such petition", ERROR)})
def api_organizations(slug: str) -> Response:
    """The approved signatory organisations, a page at a time (``page``, ``per_page``)."""
    page = _page_argument("page", 1, MAX_PAGE)
    per_page = _page_argument("per_page", PER_PAGE, MAX_PER_PAGE)
    cache: SummaryCache = SUMMARY_CACHE.of()
    key = f"{slug}/organizations/{page}/{per_page}"
    item = cache.get(key)
    if item is None:
        petition = petition_or_404(slug)
        listed = approved_organizations(db.session(), petition, page=page, per_page=per_page)
        more = page * per_page < petition.organization_count
        item = cache.put(key, {
            "slug": petition.slug,
            "count": petition.organization_count,
            "page": page,
            "per_page": per_page,
            "organizations": [organization.to_json() for organization in listed],
            "next": url_for("petitions.api_organizations", slug=slug, page=page + 1,
                            per_page=per_page) if more and page < MAX_PAGE else None,
        }, current_app.config["COUNT_CACHE_SECONDS"])
    return _public_json(item)
