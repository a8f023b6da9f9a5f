"""Signing through the embedded widget in real Chromium, mail through real SMTP."""

from __future__ import annotations

from typing import Any

from ..smtp import link_from
from .conftest import Engine, HostSite, host_page, screenshot, snippet


def sign_and_confirm(browser: Any, engine: Engine, host_site: HostSite, name: str) -> None:
    slug = engine.add_petition(allowed_origins=[host_site.origin], goal=10)
    url = host_site.page("/campaign", host_page(snippet(engine, slug, source="newsletter")))
    context = browser.new_context()
    page = context.new_page()
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
    mail_tab.goto(confirm_url)
    mail_tab.get_by_role("button", name="Confirm my signature").click()
    assert mail_tab.get_by_role("heading", name="Thank you, your signature counts").is_visible()
    assert mail_tab.get_by_role("heading", name="Ask your friends to sign").is_visible()

    page.goto(url)
    frame = page.frame_locator("iframe")
    assert frame.locator("#pk-count").inner_text() == "1 has signed. Let's get to 10!"
    assert frame.locator("progress").get_attribute("value") == "1"
    shown = name.split()[0] + " " + name.split()[-1][0] + "."
    assert frame.get_by_role("listitem").filter(has_text=shown).count() == 1
    with engine.app.app_context():
        from petitionkit.extensions import db
        from petitionkit.signatures.models import Signature
        [signature] = db.session.query(Signature).all()
        assert signature.source == "newsletter"
    context.close()


def test_sign_through_the_widget(chromium: Any, engine: Engine, host_site: HostSite) -> None:
    sign_and_confirm(chromium, engine, host_site, "Maren Oduya Lindqvist")
