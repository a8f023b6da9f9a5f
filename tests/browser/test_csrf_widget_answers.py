"""What the widget's form gets back is shown inside its iframe on the organization's site:
field errors and "too many attempts" as well as "check your email", with third-party cookies
blocked (the signing path needs no cookie; see test_widget_signing.py)."""

from __future__ import annotations

from typing import Any

from .conftest import Engine, HostSite, host_page, snippet


def test_every_answer_to_the_widgets_post_shows_inside_the_iframe(
    chromium_no_third_party_cookies: Any, engine: Engine, host_site: HostSite
) -> None:
    slug = engine.add_petition(allowed_origins=[host_site.origin], rate_limit="2/minute")
    url = host_site.page("/campaign", host_page(snippet(engine, slug)))
    context = chromium_no_third_party_cookies.new_context()
    page = context.new_page()
    page.goto(url)
    frame = page.frame_locator("iframe")

    frame.get_by_label("Your name").fill("Ilse Marrowby")
    frame.get_by_label("Email address").fill("not-an-address")
    frame.get_by_role("button", name="Sign").click()
    error = frame.locator("#email-error")
    error.wait_for()
    assert "This email address is not valid." in error.inner_text()

    frame.get_by_label("Email address").fill("ilse@example.org")
    frame.get_by_role("button", name="Sign").click()
    frame.get_by_role("heading", name="Check your email").wait_for()

    page.goto(url)
    frame = page.frame_locator("iframe")
    frame.get_by_label("Your name").fill("Ilse Marrowby")
    frame.get_by_label("Email address").fill("ilse.again@example.org")
    frame.get_by_role("button", name="Sign").click()
    frame.get_by_text("Too many attempts from your connection").wait_for()
    assert context.cookies() == []
    context.close()
