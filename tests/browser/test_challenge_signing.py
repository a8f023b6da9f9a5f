"""Signing with the proof-of-work check on ("always") in real Chromium: the page's own script
fetches and solves the challenge, on the hosted page and in the widget's iframe on another site
with third-party cookies blocked; with JavaScript off the page says why it is needed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from petitionkit.actions.models import ActionReport
from petitionkit.challenges.models import SpentChallenge
from petitionkit.extensions import db
from petitionkit.signatures.models import Signature

from ..smtp import RecordingSMTPServer
from .conftest import Engine, HostSite, host_page, screenshot, serve_engine, snippet

DONE = "Browser check done."


@pytest.fixture
def guarded(tmp_path: Path, migrated_sqlite: Path,
            smtp_server: RecordingSMTPServer) -> Iterator[Engine]:
    with serve_engine(tmp_path, migrated_sqlite, smtp_server, CHALLENGE_MODE="always",
                      CHALLENGE_MAX_ITERATIONS=20_000) as served:
        yield served


def signatures(engine: Engine) -> list[tuple[str, str]]:
    with engine.app.app_context():
        rows = [(signature.name, signature.status)
                for signature in db.session.scalars(select(Signature))]
        db.session.remove()
    return [(name, status) for name, status in rows]


def spent(engine: Engine) -> int:
    with engine.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(SpentChallenge)) or 0
        db.session.remove()
    return count


def reports(engine: Engine) -> int:
    with engine.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(ActionReport)) or 0
        db.session.remove()
    return count


def test_hosted_page_solves_the_check_while_the_signer_types(chromium: Any,
                                                            guarded: Engine) -> None:
    slug = guarded.add_petition()
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "favicon" not in message.location["url"] else None)
    page.goto(f"{guarded.url}/p/{slug}")
    status = page.get_by_role("status")
    assert status.inner_text() == ""
    page.get_by_label("Your name", exact=True).fill("Ines Achterberg")
    page.get_by_role("status").filter(has_text=DONE).wait_for()
    page.get_by_label("Email address").fill("ines@example.org")
    page.get_by_role("button", name="Sign").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    assert signatures(guarded) == [("Ines Achterberg", "pending")]
    assert spent(guarded) == 1
    assert guarded.deliver_mail() == 1
    assert errors == []
    context.close()


def test_sign_waits_for_a_check_not_yet_started(chromium: Any, guarded: Engine) -> None:
    """Values put in without the events typing makes (a password manager's autofill): the
    check starts when Sign is pressed, the page says so, and the form goes once it is done."""
    slug = guarded.add_petition()
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{guarded.url}/p/{slug}")
    page.locator("#name").evaluate("(field) => { field.value = 'Autofilled Signer'; }")
    page.locator("#email").evaluate("(field) => { field.value = 'auto@example.org'; }")
    page.locator("button.sign-button").dispatch_event("click")
    page.get_by_role("heading", name="Check your email").wait_for()
    assert signatures(guarded) == [("Autofilled Signer", "pending")]
    context.close()


def test_widget_solves_the_check_with_third_party_cookies_blocked(
    chromium_no_third_party_cookies: Any, guarded: Engine, host_site: HostSite
) -> None:
    slug = guarded.add_petition(allowed_origins=[host_site.origin])
    url = host_site.page("/campaign", host_page(snippet(guarded, slug)))
    context = chromium_no_third_party_cookies.new_context()
    requested: set[str] = set()
    cookies: list[str] = []
    context.on("request", lambda request: requested.add(request.url.split("/")[2]))
    context.on("request", lambda request: cookies.append(request.url)
               if request.header_value("cookie") else None)
    page = context.new_page()
    page.add_init_script("""window.__events = [];
        document.addEventListener('petitionkit:submitted',
                                  () => window.__events.push('submitted'));""")
    page.goto(url)
    frame = page.frame_locator("iframe")
    frame.get_by_label("Your name", exact=True).fill("Widget Signer")
    frame.get_by_label("Email address").fill("widget@example.org")
    frame.get_by_role("status").filter(has_text=DONE).wait_for()
    frame.get_by_role("button", name="Sign").click()
    page.wait_for_function("window.__events.includes('submitted')")
    assert frame.get_by_role("heading", name="Check your email").is_visible()
    assert signatures(guarded) == [("Widget Signer", "pending")]
    assert spent(guarded) == 1
    assert cookies == []
    assert requested == {host_site.origin.split("/")[2], guarded.url.split("/")[2]}
    context.close()


def test_without_javascript_the_page_says_why_and_nothing_is_signed(chromium: Any,
                                                                   guarded: Engine) -> None:
    slug = guarded.add_petition()
    context = chromium.new_context(java_script_enabled=False,
                                   viewport={"width": 320, "height": 900})
    page = context.new_page()
    page.goto(f"{guarded.url}/p/{slug}")
    needs = "asks your browser to complete a short check, which needs JavaScript"
    # Playwright's text search skips <noscript>, so the paragraph is found by its class.
    notice = page.locator(".challenge-noscript")
    assert notice.is_visible() and needs in notice.inner_text()
    page.get_by_label("Your name", exact=True).fill("No Script")
    page.get_by_label("Email address").fill("noscript@example.org")
    with page.expect_response(f"{guarded.url}/p/{slug}/sign") as answer:
        page.get_by_role("button", name="Sign").click()
    assert answer.value.status == 422
    assert page.get_by_role("alert").filter(has_text=needs).is_visible()
    assert page.get_by_label("Your name", exact=True).input_value() == "No Script"
    screenshot(page, "challenge-noscript-320")
    assert signatures(guarded) == []
    assert guarded.deliver_mail() == 0
    context.close()


@pytest.mark.parametrize("width", [320, 1280])
def test_the_status_reads_well_at_phone_and_desktop_widths(chromium: Any, guarded: Engine,
                                                          width: int) -> None:
    slug = guarded.add_petition()
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{guarded.url}/p/{slug}")
    page.get_by_label("Your name", exact=True).fill("Layout Check")
    status = page.get_by_role("status").filter(has_text=DONE)
    status.wait_for()
    box = status.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    button = page.get_by_role("button", name="Sign").bounding_box()
    assert button is not None and box["y"] >= button["y"] + button["height"]
    status.scroll_into_view_if_needed()
    screenshot(page, f"challenge-status-{width}")
    context.close()


def test_a_typo_does_not_cost_a_second_check(chromium: Any, guarded: Engine) -> None:
    slug = guarded.add_petition()
    context = chromium.new_context()
    page = context.new_page()
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url)
            if request.url.endswith("/challenge") else None)
    page.goto(f"{guarded.url}/p/{slug}")
    page.get_by_label("Your name", exact=True).fill("Typo Signer")
    page.get_by_label("Email address").fill("typo-at-example.org")
    page.get_by_role("status").filter(has_text=DONE).wait_for()
    with page.expect_response(f"{guarded.url}/p/{slug}/sign") as answer:
        page.get_by_role("button", name="Sign").click()
    assert answer.value.status == 422
    page.get_by_label("Email address").fill("typo@example.org")
    page.get_by_role("button", name="Sign").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    assert signatures(guarded) == [("Typo Signer", "pending")]
    assert len(fetched) == 1, "the solution the first post carried was sent again"
    context.close()


def test_keyboard_only_signing_with_the_check(chromium: Any, guarded: Engine) -> None:
    """Tab into the form, type, press Enter: the check runs on its own and the form goes."""
    slug = guarded.add_petition()
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{guarded.url}/p/{slug}")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "name":
            break
    page.keyboard.type("Keyboard Signer")
    page.keyboard.press("Tab")
    page.keyboard.type("keys@example.org")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Check your email").wait_for()
    assert signatures(guarded) == [("Keyboard Signer", "pending")]
    context.close()


def test_anonymous_report_solves_the_check_before_it_is_sent(chromium: Any,
                                                             guarded: Engine) -> None:
    """The report form without a signer's link asks for the check while signing does: its
    script solves it and the report goes, spending one solution; a page without JavaScript says
    why the check needs it."""
    slug = guarded.add_petition(report_actions=[
        {"key": "called", "label": {"en": "Called the embassy"}}])
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{guarded.url}/p/{slug}/report")
    page.get_by_label("Called the embassy").check()
    page.get_by_role("status").filter(has_text=DONE).wait_for()
    page.get_by_role("button", name="Send my report").click()
    page.get_by_role("heading", name="Thank you").wait_for()
    assert spent(guarded) == 1
    assert reports(guarded) == 1
    assert errors == []
    context.close()

    quiet = chromium.new_context(java_script_enabled=False)
    page = quiet.new_page()
    page.goto(f"{guarded.url}/p/{slug}/report")
    assert "needs JavaScript" in page.locator("form.report-form").inner_text()
    page.get_by_label("Called the embassy").check()
    page.get_by_role("button", name="Send my report").click()
    assert "needs JavaScript" in page.locator("body").inner_text()
    assert spent(guarded) == 1
    assert reports(guarded) == 1
    quiet.close()


def test_a_report_among_the_petitions_steps_solves_its_own_check(chromium: Any,
                                                                 guarded: Engine) -> None:
    """The hosted page holds the signing form and, among its steps, the anonymous report form:
    both ask for the check, each with its own status line, and the report solves and sends its
    own without touching the signing form."""
    slug = guarded.add_petition(report_actions=[
        {"key": "called", "label": {"en": "Called the embassy"}}])
    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{guarded.url}/p/{slug}")
    assert page.locator("form[data-challenge]").count() == 2
    assert page.locator("form[data-challenge-ready]").count() == 2
    report = page.locator("form.report-form")
    report.get_by_label("Called the embassy").check()
    report.locator(".challenge-status").filter(has_text=DONE).wait_for()
    assert page.locator("form.sign-form .challenge-status").inner_text() == ""
    report.get_by_role("button", name="Send my report").click()
    page.get_by_role("heading", name="Thank you").wait_for()
    assert (spent(guarded), reports(guarded)) == (1, 1)
    assert errors == []
    context.close()
