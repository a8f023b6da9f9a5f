"""The widget's server side: loader, iframe pages, framing policy, oEmbed, share step, budgets."""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from petitionkit.embed.budget import IFRAME_BUDGET, LOADER_BUDGET, measure
from petitionkit.embed.signers import public_name
from petitionkit.encryption import DATA_SEALER
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins import PluginConfigError
from petitionkit.plugins.events import LIFECYCLE
from petitionkit.plugins.fields import FormField
from petitionkit.signatures import services
from petitionkit.signatures.figures import figures
from petitionkit.signatures.models import CONFIRMED, PENDING, PersonalData, Signature

from .conftest import add_petition

HOST = "http://127.0.0.1:8000"


def _frame_ancestors(policy: str) -> str:
    [directive] = [part.strip() for part in policy.split(";") if "frame-ancestors" in part]
    return directive.removeprefix("frame-ancestors ").strip()


def test_loader_is_small_cached_and_revalidated(client: FlaskClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "max-age=300" in response.headers["Cache-Control"]
    assert len(gzip.compress(response.data, 9)) <= LOADER_BUDGET
    again = client.get("/widget.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_loader_takes_the_engine_origin_from_its_own_script_tag(client: FlaskClient) -> None:
    source = client.get("/widget.js").get_data(as_text=True)
    assert "document.currentScript" in source.replace("doc.currentScript", "document.currentScript")
    assert "event.origin !== engine" in source
    assert "event.source !== frame.contentWindow" in source


def test_iframe_document_with_its_css_and_js_fits_the_budget(app: Flask, petition: str) -> None:
    sizes = measure(app, petition)
    assert len(sizes.iframe_assets) == 2, "one stylesheet and one script"
    assert sizes.iframe <= IFRAME_BUDGET, sizes.report()
    assert sizes.loader <= LOADER_BUDGET, sizes.report()
    assert sizes.within_budget()
    assert "widget iframe:" in sizes.report()


def test_iframe_document_asks_nothing_of_other_hosts(client: FlaskClient, petition: str) -> None:
    html = client.get(f"/embed/{petition}").get_data(as_text=True)
    # Whatever loads by itself (scripts, styles, images, fonts) comes from the engine.
    assert re.findall(r'(?:src|href)="(?:https?:)?//', html.replace('<a href="', "<a x=")) == []
    with client.get("/static/petitionkit.css") as stylesheet:
        assert "@font-face" not in stylesheet.get_data(as_text=True)


def test_widget_assets_are_cached_for_good_under_a_versioned_url(
    client: FlaskClient, petition: str
) -> None:
    html = client.get(f"/embed/{petition}").get_data(as_text=True)
    [script] = re.findall(r'<script src="([^"]+)"', html)
    assert "?v=" in script
    response = client.get(script)
    assert "immutable" in response.headers["Cache-Control"]
    assert client.get("/widget/secrets.py").status_code == 404


def test_embed_may_be_framed_by_the_allowed_origins_only(
    client: FlaskClient, petition: str
) -> None:
    embedded = client.get(f"/embed/{petition}")
    assert _frame_ancestors(embedded.headers["Content-Security-Policy"]) == f"'self' {HOST}"
    hosted = client.get(f"/p/{petition}")
    assert _frame_ancestors(hosted.headers["Content-Security-Policy"]) == "'none'"
    assert _frame_ancestors(client.get("/widget.js").headers.get(
        "Content-Security-Policy", "frame-ancestors none")) == "none"


def test_a_malformed_allowed_origin_cannot_reach_the_header(
    app: Flask, client: FlaskClient
) -> None:
    slug = add_petition(app, allowed_origins=[
        "https://ok.example", "https://evil.example; script-src *", "javascript:alert(1)",
    ])
    policy = client.get(f"/embed/{slug}").headers["Content-Security-Policy"]
    assert _frame_ancestors(policy) == "'self' https://ok.example"
    assert "script-src 'self'" in policy and "script-src *" not in policy


def test_a_page_not_on_the_list_sees_a_message_instead_of_the_form(
    client: FlaskClient, petition: str
) -> None:
    response = client.get(f"/embed/{petition}", headers={"Referer": "https://elsewhere.example/"})
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "This website is not allowed to collect signatures for this petition." in html
    assert f'href="/p/{petition}"' in html
    assert "<form" not in html
    # Nothing to sign, so nothing to clickjack: the notice itself may be shown anywhere.
    assert _frame_ancestors(response.headers["Content-Security-Policy"]) == "*"


def test_a_forged_cross_site_post_is_refused(client: FlaskClient, petition: str) -> None:
    response = client.post(
        f"/p/{petition}/sign",
        data={"name": "Forged", "email": "forged@example.org", "embed": "1"},
        headers={"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert b"sent from another website" in response.data


def test_embedded_errors_are_inline_linked_and_framable(
    client: FlaskClient, petition: str
) -> None:
    response = client.post(
        f"/p/{petition}/sign", data={"name": "", "email": "not-an-address", "embed": "1"},
        headers={"Origin": "http://localhost"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-describedby="email-error"' in html and 'id="email-error"' in html
    assert 'aria-describedby="name-error"' in html
    assert 'role="alert"' in html
    assert _frame_ancestors(response.headers["Content-Security-Policy"]) == f"'self' {HOST}"


def test_source_and_theme_reach_the_iframe(client: FlaskClient, petition: str) -> None:
    html = client.get(
        f"/embed/{petition}?source=newsletter&theme=dark&accent=%23aa3300"
    ).get_data(as_text=True)
    assert 'name="source" value="newsletter"' in html
    assert "pk-theme-dark" in html
    assert 'data-accent="#aa3300"' in html
    ignored = client.get(f"/embed/{petition}?theme=<x>&accent=red;x").get_data(as_text=True)
    assert "pk-theme-light" in ignored and "data-accent" not in ignored


def test_count_progress_deadline_and_status(app: Flask, client: FlaskClient) -> None:
    slug = add_petition(app, slug="ladder", goal=None, goal_settings={"ladder": [100, 2000]},
                        status_line="Delivered to the ministry on 3 May",
                        closes_at=datetime(2030, 5, 1, 12, 0, tzinfo=UTC))
    with app.app_context():
        from petitionkit.petitions.models import Petition

        petition = db.session.query(Petition).filter_by(slug=slug).one()
        petition.signature_count = 1234
        db.session.commit()
    html = client.get(f"/embed/{slug}").get_data(as_text=True)
    assert "1,234 have signed. Let&#39;s get to 2,000!" in html
    assert 'max="2000" value="1234"' in html
    assert "Open until May 1, 2030, 12:00" in html
    assert "Delivered to the ministry on 3 May" in html
    live = client.get(f"/embed/{slug}/count.json?lang=de").json
    assert live == {"count": 1234, "count_hidden": False, "goal": 2000, "percent": "62\u00a0%",
                    "text": "1.234 Personen haben unterschrieben. Auf zu 2.000!"}


def _signature(app: Flask, petition_slug: str, name: str, email: str, status: str,
               show_name: bool) -> None:
    from petitionkit.petitions.models import Petition

    with app.app_context():
        petition = db.session.query(Petition).filter_by(slug=petition_slug).one()
        sealed = DATA_SEALER.of().seal_json(PersonalData(name=name, email=email).to_json())
        db.session.add(Signature(
            petition_id=petition.id, email_hash=email.encode().ljust(32, b"."), sealed=sealed,
            public_name=public_name(name) if show_name else None, status=status,
            show_name=show_name, token_nonce="n" * 32,
        ))
        db.session.commit()


def test_recent_signers_are_confirmed_and_chose_to_be_shown(
    app: Flask, client: FlaskClient, petition: str
) -> None:
    _signature(app, petition, "Ilka Moravec Tan", "a@example.org", CONFIRMED, True)
    _signature(app, petition, "Hidden Person", "b@example.org", CONFIRMED, False)
    _signature(app, petition, "Pending Person", "c@example.org", PENDING, True)
    for path in (f"/embed/{petition}", f"/p/{petition}"):
        html = client.get(path).get_data(as_text=True)
        assert "<li><bdi>Ilka T.</bdi></li>" in html
        assert "Moravec" not in html and "Hidden" not in html and "Pending" not in html


def test_public_name_keeps_first_name_and_initial() -> None:
    assert public_name("Ayşe Nur Yılmaz") == "Ayşe Y."
    assert public_name("  Oduya  ") == "Oduya"
    assert public_name("王小明") == "王…"
    assert public_name("") == ""


def test_hosted_page_has_previews_and_oembed_discovery(client: FlaskClient, petition: str) -> None:
    html = client.get(f"/p/{petition}").get_data(as_text=True)
    assert '<meta property="og:title" content="Free the poet">' in html
    assert '<meta property="og:url" content="http://localhost/p/free-the-poet">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    [discovery] = re.findall(r'<link rel="alternate" type="application/json\+oembed"[^>]*>', html,
                             flags=re.S)
    # The petition's address is one query value, every reserved character encoded.
    assert ('href="http://localhost/oembed?url=http%3A%2F%2Flocalhost%2Fp%2Ffree-the-poet'
            '&amp;format=json"') in discovery
    href = re.search(r'href="([^"]+)"', discovery).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert client.get(href.removeprefix("http://localhost")).json["type"] == "rich"


def test_oembed_describes_the_iframe(client: FlaskClient, petition: str) -> None:
    answer = client.get(f"/oembed?url=http://localhost/p/{petition}&maxwidth=500")
    assert answer.status_code == 200
    body = answer.json
    assert body["type"] == "rich" and body["version"] == "1.0"
    assert body["width"] == 500
    assert f'src="http://localhost/embed/{petition}"' in body["html"]
    # Older CMSs and mail-to-web tools draw a border without it.
    assert 'frameborder="0"' in body["html"]
    assert body["height"] >= 1400, "the whole form fits on a phone (tests/browser measures it)"
    assert f'height="{body["height"]}"' in body["html"]
    assert client.get(
        f"/oembed?url=http://localhost/p/{petition}&maxheight=900"
    ).json["height"] == 900
    assert client.get("/oembed?url=https://elsewhere.example/p/free-the-poet").status_code == 404
    assert client.get("/oembed?url=http://localhost/p/no-such-thing").status_code == 404
    assert client.get(f"/oembed?url=http://localhost/p/{petition}&format=xml").status_code == 501


def test_share_step_offers_plain_links_with_the_petitions_posts(
    app: Flask, client: FlaskClient
) -> None:
    slug = add_petition(app, slug="shared", share={
        "hashtags": ["FreeThePoet", "#Verses"], "posts": ["Poems are not crimes."],
    })
    with app.test_request_context():
        from flask import render_template

        from petitionkit.petitions.models import Petition

        petition = db.session.query(Petition).filter_by(slug=slug).one()
        html = render_template("signatures/confirmed.html", petition=petition)
    for start in ("mailto:?", "https://x.com/intent/post?", "https://www.facebook.com/sharer/",
                  "https://wa.me/?", "https://t.me/share/url?"):
        assert f'href="{start}' in html
    assert "Poems%20are%20not%20crimes.%20%23FreeThePoet%20%23Verses" in html
    assert 'id="pk-mastodon"' in html and 'id="share-url"' in html
    assert "<script" not in html.split("<body", 1)[1], "no third-party script in the page body"


def test_mastodon_share_without_javascript(client: FlaskClient) -> None:
    answer = client.get("/share/mastodon?instance=https://Social.Example/&text=Sign%20this")
    assert answer.status_code == 200
    assert 'href="https://social.example/share?text=Sign%20this"' in answer.get_data(as_text=True)
    assert client.get("/share/mastodon?instance=javascript:alert(1)").status_code == 400


def test_widget_files_ship_inside_the_wheel() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[1]
    with open(root / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)
    force_include = project["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force_include["widgets"] == "petitionkit/widgets_dist"
    from petitionkit.embed.assets import ASSETS

    assert all((root / "widgets" / name).is_file() for name in ASSETS)


# A post as the widget's form sends it from inside the iframe (same origin as the engine).
WIDGET_POST = {"name": "Ana Lima", "email": "ana@example.org", "embed": "1"}
FROM_THE_IFRAME = {"Origin": "http://localhost"}


def _site_field(html: str) -> list[str]:
    return re.findall(r'name="site" value="([^"]*)"', html)


def _confirm_every_pending(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        for signature in session.scalars(select(Signature).where(Signature.status == PENDING)):
            outcome, _ = services.confirm(session, signature.id, signature.token_nonce,
                                          listener=LIFECYCLE.of(app))
            assert outcome is services.ConfirmOutcome.CONFIRMED


@pytest.mark.parametrize("database", ["app", "pg_app"])
def test_signing_in_the_widget_records_the_embedding_site(
    request: pytest.FixtureRequest, database: str,
) -> None:
    app: Flask = request.getfixturevalue(database)
    slug = add_petition(app, allowed_origins=["https://www.campaign.example", HOST])
    client = app.test_client()
    # The browser names the embedding page; only its host is kept, never the path or query.
    page = client.get(f"/embed/{slug}", headers={
        "Referer": "https://WWW.Campaign.example/join/?email=ana%40example.org#sign"})
    assert page.status_code == 200
    assert _site_field(page.text) == ["www.campaign.example"]
    assert "ana%40example.org" not in page.text and "/join/" not in page.text
    # On the engine's own pages, or where the embedding page hides its address: no site.
    for headers in ({"Referer": f"http://localhost/p/{slug}"}, {}):
        assert _site_field(client.get(f"/embed/{slug}", headers=headers).text) == []

    answer = client.post(f"/p/{slug}/sign", headers=FROM_THE_IFRAME, data={
        **WIDGET_POST, "site": "www.campaign.example", "source": "newsletter"})
    assert answer.status_code == 303
    # A refused post shows the form again with the site, so the corrected post keeps it.
    refused = client.post(f"/p/{slug}/sign", headers=FROM_THE_IFRAME, data={
        **WIDGET_POST, "email": "not-an-address", "site": "Other.Example"})
    assert refused.status_code == 422
    assert _site_field(refused.text) == ["other.example"]
    # The hosted page's form has no site to give: a value sent anyway is not read.
    hosted = client.post(f"/p/{slug}/sign", headers=FROM_THE_IFRAME, data={
        "name": "Bo Berg", "email": "bo@example.org", "site": "forged.example"})
    assert hosted.status_code == 303
    with app.app_context():
        assert db.session.execute(
            select(Signature.source, Signature.site).order_by(Signature.id)
        ).all() == [("newsletter", "www.campaign.example"), (None, None)]
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        assert petition is not None
        assert figures(db.session(), petition).sites == []  # nothing confirmed yet
    _confirm_every_pending(app)
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        assert petition is not None
        assert figures(db.session(), petition).sites == [("", 1), ("www.campaign.example", 1)]


@pytest.mark.parametrize(("claimed", "kept"), [
    ("campaign.example", "campaign.example"),
    ("Bücher.Example.", "xn--bcher-kva.example"),
    ("https://campaign.example:8443/page?email=ana@example.org", "campaign.example"),
    ("http://[::1]:8000/", "[::1]"),
    ("<script>alert(1)</script>", None),
    ('"><img src=x onerror=alert(1)>.example', None),
    ("evil\u202eelpmaxe.org", None),
    ("campaign\u200f.example", None),
    ("a\x00b.example", None),
    ("campaign.example:8443", None),
    ("campaign.example/path", None),
    ("two words.example", None),
    ("-dash.example", None),
    ("a." * 127 + "example", None),
    ("x" * 60_000, None),
    ("javascript:alert(1)", None),
])
def test_a_claimed_site_is_cleaned_or_dropped_never_refused(
    app: Flask, client: FlaskClient, petition: str, claimed: str, kept: str | None,
) -> None:
    answer = client.post(f"/p/{petition}/sign", headers=FROM_THE_IFRAME,
                         data={**WIDGET_POST, "site": claimed})
    assert answer.status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Signature.site)).all() == [kept]


@pytest.mark.parametrize("referer", [
    "https://<script>alert(1)</script>/",
    # A header is bytes: these are the UTF-8 bytes of a right-to-left override, as a server
    # hands them on.
    "https://evil\xe2\x80\xae.example/",
    "https://exa%00mple.org/",
    "http://[::1",
    "https://" + "a" * 8000 + ".example/",
    "null",
])
def test_a_hostile_referer_names_no_site(app: Flask, client: FlaskClient, referer: str) -> None:
    slug = add_petition(app, allowed_origins=["*"])
    answer = client.get(f"/embed/{slug}", headers={"Referer": referer})
    assert answer.status_code == 200
    assert _site_field(answer.text) == []


@pytest.mark.parametrize("name", ["site", "source", "embed"])
def test_a_plugin_field_cannot_take_the_widget_s_names(name: str) -> None:
    with pytest.raises(PluginConfigError, match="is taken"):
        FormField(name, "A field")
