"""An error met inside the widget shows in the widget, in real Chromium."""

from __future__ import annotations

from typing import Any

from .conftest import Engine, HostSite, host_page, snippet


def test_the_rate_limit_page_shows_inside_the_widget(
    chromium: Any, engine: Engine, host_site: HostSite
) -> None:
    """Many signers share one address (a campus, a mobile carrier): the one who hits the limit
    must read why, not a browser page saying the content was blocked."""
    slug = engine.add_petition(allowed_origins=[host_site.origin], rate_limit="1/minute")
    url = host_site.page("/campaign", host_page(snippet(engine, slug)))
    context = chromium.new_context()
    page = context.new_page()
    for attempt, email in enumerate(("first@example.org", "second@example.org")):
        page.goto(url)
        frame = page.frame_locator("iframe")
        frame.get_by_label("Your name").fill("Signer Example")
        frame.get_by_label("Email address").fill(email)
        frame.get_by_role("button", name="Sign").click()
        if attempt == 0:
            frame.get_by_role("heading", name="Check your email").wait_for()
    frame.get_by_role("heading", name="Too many attempts from your connection").wait_for(
        timeout=10_000)
    assert frame.get_by_text("This protects the petition from automated signing.").is_visible()
    context.close()
