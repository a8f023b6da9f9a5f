"""Signing through the embedded widget in real Chromium, mail through real SMTP."""

from __future__ import annotations

from typing import Any

from ..smtp import link_from
from .conftest import Engine, HostSite, host_page, screenshot, snippet


def sign_and_confirm(context: Any, page: Any, engine: Engine, host_site: HostSite,
                     name: str) -> None:
    """Sign in the widget on the organization's page, confirm from the mail in another tab,
    and watch the open widget's count and bar move."""
    slug = engine.add_petition(allowed_origins=[host_site.origin], goal=10,
                               share={"hashtags": ["PoemsAreNotCrimes"]})
    url = host_site.page("/campaign", host_page(snippet(engine, slug, source="newsletter")))
    requested: set[str] = set()
    context.on("request", lambda request: requested.add(request.url.split("/")[2]))
    page.add_init_script("""
        window.__events = [];
        for (const type of ['petitionkit:loaded', 'petitionkit:submitted']) {
            document.addEventListener(type, (event) => window.__events.push(
                {type, petition: event.detail.petition, count: event.detail.count,
                 goal: event.detail.goal, target: event.target.className}));
        }""")
    page.goto(url)
    page.wait_for_function("window.__events.some(e => e.type === 'petitionkit:loaded')")
    frame = page.frame_locator("iframe")
    assert frame.locator("#pk-count").inner_text() == "0 have signed. Let's get to 10!"
    assert frame.locator("progress").get_attribute("value") == "0"
    frame.get_by_label("Your name").fill(name)
    frame.get_by_label("Email address").fill("signer@example.org")
    frame.get_by_label("Show my name publicly among the signers").check()
    frame.get_by_role("button", name="Sign").click()
    page.wait_for_function("window.__events.some(e => e.type === 'petitionkit:submitted')")
    assert frame.get_by_role("heading", name="Check your email").is_visible()
    events = page.evaluate("window.__events")
    assert [e["type"] for e in events] == ["petitionkit:loaded", "petitionkit:submitted"]
    assert events[0]["petition"] == slug and events[0]["count"] == 0 and events[0]["goal"] == 10
    assert events[0]["target"] == "petitionkit-widget"

    assert engine.deliver_mail() == 1
    [message] = engine.smtp.wait_for(1)
    confirm_url = link_from(message, engine.url + "/confirm/")
    screenshot(page, "widget-check-email")

    mail_tab = context.new_page()
    # Sharing must not leave this machine in a test: record where the Mastodon button would go.
    mail_tab.add_init_script("window.open = (url) => { window.__opened = url; return null; };")
    mail_tab.goto(confirm_url)
    mail_tab.get_by_role("button", name="Confirm my signature").click()
    mail_tab.get_by_role("heading", name="Thank you, your signature counts").wait_for()
    assert mail_tab.get_by_role("heading", name="Thank you, your signature counts").is_visible()
    assert mail_tab.get_by_role("heading", name="Ask your friends to sign").is_visible()
    mail_tab.get_by_role("button", name="Copy link").click()
    mail_tab.get_by_text("Link copied.").wait_for()
    mail_tab.get_by_label("Share on Mastodon: your server").fill("https://social.example/")
    mail_tab.get_by_role("button", name="Share on Mastodon").click()
    opened = mail_tab.evaluate("window.__opened")
    assert opened.startswith("https://social.example/share?text=")
    assert "%2Fp%2F" + slug in opened and "%23PoemsAreNotCrimes" in opened

    # The open widget notices by itself: it polls the count and moves the bar.
    frame.get_by_text("1 has signed. Let's get to 10!").wait_for()
    assert frame.locator("progress").get_attribute("value") == "1"
    page.goto(url)
    frame = page.frame_locator("iframe")
    shown = name.split()[0] + " " + name.split()[-1][0] + "."
    assert frame.get_by_role("listitem").filter(has_text=shown).count() == 1
    with engine.app.app_context():
        from petitionkit.extensions import db
        from petitionkit.petitions.models import Petition
        from petitionkit.signatures.figures import figures
        from petitionkit.signatures.models import Signature
        [signature] = db.session.query(Signature).all()
        assert signature.source == "newsletter"
        # The organisation's page, as Chromium named it to the iframe: its host, no path.
        assert signature.site == "localhost"
        petition = db.session.get(Petition, signature.petition_id)
        assert petition is not None
        assert figures(db.session(), petition).sites == [("localhost", 1)]
    # No page the signer saw asked anything of a third host: no fonts, scripts, pixels.
    assert requested == {host_site.origin.split("/")[2], engine.url.split("/")[2]}


def test_sign_through_the_widget(chromium: Any, engine: Engine, host_site: HostSite) -> None:
    context = chromium.new_context()
    sign_and_confirm(context, context.new_page(), engine, host_site, "Maren Oduya Lindqvist")
    context.close()


def test_sign_with_third_party_cookies_blocked(
    chromium_no_third_party_cookies: Any, engine: Engine, host_site: HostSite
) -> None:
    """The same path in a browser that refuses third-party cookies.

    Over plain http a cross-site iframe gets no cookie in any Chromium set-up, so the test also
    shows, from the browser's side, that the signing path never needs one: the engine sets none,
    the browser sends none, and the framed page cannot store one.
    """
    cookie_traffic: list[str] = []

    def watch(response: Any) -> None:
        if response.url.startswith(engine.url):
            if response.request.header_value("cookie"):
                cookie_traffic.append("sent " + response.url)
            if response.header_value("set-cookie"):
                cookie_traffic.append("set " + response.url)

    context = chromium_no_third_party_cookies.new_context()
    context.on("response", watch)
    page = context.new_page()
    # Chrome's own third-party cookie restrictions, on top of the command-line switch.
    session = context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.setCookieControls", {
        "enableThirdPartyCookieRestriction": True,
        "disableThirdPartyCookieMetadata": True,
        "disableThirdPartyCookieHeuristics": True,
    })
    sign_and_confirm(context, page, engine, host_site, "Tove Ansah Brandt")
    assert cookie_traffic == []
    [widget] = [frame for frame in page.frames if frame.url.startswith(engine.url)]
    assert widget.evaluate("() => { document.cookie = 'probe=1'; return document.cookie; }") == ""
    context.close()


def test_forged_cross_site_post_is_refused(chromium: Any, engine: Engine,
                                           host_site: HostSite) -> None:
    slug = engine.add_petition(allowed_origins=[host_site.origin])
    forged = host_site.page("/forged", host_page(
        f'<form id="f" method="post" action="{engine.url}/p/{slug}/sign">'
        '<input name="name" value="Forged Name"><input name="email" value="victim@example.org">'
        '<input name="embed" value="1"></form>'
        "<script>document.getElementById('f').submit()</script>"
    ))
    context = chromium.new_context()
    page = context.new_page()
    with page.expect_response(f"{engine.url}/p/{slug}/sign") as answer:
        page.goto(forged)
    assert answer.value.status == 403
    page.get_by_text("This form was sent from another website").wait_for()
    assert engine.deliver_mail() == 0
    with engine.app.app_context():
        from petitionkit.extensions import db
        from petitionkit.signatures.models import Signature

        assert db.session.query(Signature).count() == 0
    context.close()


def test_keyboard_only_signing(chromium: Any, engine: Engine, host_site: HostSite) -> None:
    slug = engine.add_petition(allowed_origins=[host_site.origin])
    url = host_site.page("/keys", host_page('<a href="#top">Skip</a>' + snippet(engine, slug)))
    context = chromium.new_context()
    page = context.new_page()
    page.add_init_script("""window.__events = [];
        for (const type of ['petitionkit:loaded', 'petitionkit:submitted'])
            document.addEventListener(type, () => window.__events.push(type));""")
    page.goto(url)
    frame_element = page.wait_for_selector("iframe")
    frame = frame_element.content_frame()
    frame.wait_for_selector("form")

    def focused() -> str:
        return str(frame.evaluate("document.hasFocus() ? document.activeElement.id : ''"))

    for _ in range(10):
        page.keyboard.press("Tab")
        if focused() == "name":
            break
    assert focused() == "name", "Tab reaches the name field"
    # Submitting with the email missing: focus goes to the field to fix, its error is linked.
    page.keyboard.type("Keyboard Signer")
    for _ in range(4):
        page.keyboard.press("Tab")
        if frame.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    page.keyboard.press("Enter")
    frame.wait_for_selector("#email-error")
    # Focus moves by script once the page is shown again; wait for it rather than race it.
    frame.wait_for_function("document.activeElement && document.activeElement.id === 'email'")
    assert focused() == "email"
    assert frame.get_attribute("#email", "aria-describedby") == "email-error"
    page.keyboard.type("keys@example.org")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused() == "show_name"
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("Tab")
        if frame.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    page.keyboard.press("Enter")
    frame.wait_for_selector("#status-heading")
    frame.wait_for_function(
        "document.activeElement && document.activeElement.id === 'status-heading'"
    )
    assert focused() == "status-heading", "focus moves to the outcome"
    page.wait_for_function("window.__events.length >= 2")
    # The page shown again with errors is not a second "loaded".
    assert page.evaluate("window.__events") == ["petitionkit:loaded", "petitionkit:submitted"]
    assert engine.deliver_mail() == 1
    with engine.app.app_context():
        from petitionkit.extensions import db
        from petitionkit.signatures.models import Signature

        [signature] = db.session.query(Signature).all()
        assert signature.name == "Keyboard Signer" and signature.show_name is True
    context.close()
