"""The workspace in real Chromium: a new staff member opens the one-time link, chooses a
password, sets up an authenticator app from the key the page shows, keeps the recovery codes,
and sees the petitions with their counts; then signs in again with password and code. No
console error (a blocked script or style would show there under the workspace's policy)."""

from __future__ import annotations

import re
from typing import Any

from petitionkit.testing import sign_and_confirm

from ..admin import Enrolled
from .conftest import Engine, axe_violations, screenshot

PASSWORD = "a long passphrase of several words"


def test_sign_in_with_password_and_totp_and_see_the_petitions(
    engine: Engine, chromium: Any
) -> None:
    slug = engine.add_petition(slug="free-the-poet", title="Free the poet")
    sign_and_confirm(engine.app, slug, "Ayşe Yılmaz", "ayse@example.org")
    added = engine.app.test_cli_runner().invoke(
        args=["users", "add", "ana@example.org", "--role", "editor"])
    link = re.search(r"(http://127\.0\.0\.1:\d+/admin/setup/\S+)", added.output)
    assert link, added.output

    context = chromium.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)

    page.goto(link.group(1))
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    page.get_by_role("link", name="Sign in").click()

    assert axe_violations(page.main_frame) == [], "sign-in page"
    page.get_by_label("E-mail address").fill("ana@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Set up your second factor").wait_for()
    assert page.get_by_role("heading", name="Set up your second factor").is_visible()
    assert page.locator(".qr svg").is_visible()
    assert axe_violations(page.main_frame) == [], "second factor set-up"
    screenshot(page, "admin-enrol")
    enrolled = Enrolled(secret=page.locator("code.secret").first.inner_text().strip(),
                        recovery_codes=[])
    page.get_by_label("Code", exact=True).fill(enrolled.code())
    page.get_by_role("button", name="Confirm and sign in").click()
    assert page.locator(".codes li").count() == 10
    page.get_by_role("link", name="I have kept them: continue").click()

    row = page.locator("table.petitions tbody tr").first
    assert "Free the poet" in row.inner_text()
    assert row.locator("td.number").first.inner_text() == "1"
    assert row.locator("svg.spark polyline").count() == 1
    assert axe_violations(page.main_frame) == [], "petitions"
    screenshot(page, "admin-petitions")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("E-mail address").fill("ana@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Code", exact=True).fill(enrolled.code())
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Petitions").wait_for()
    assert page.get_by_role("heading", name="Petitions").is_visible()
    cookie = next(c for c in context.cookies() if c["name"] == "petitionkit_admin")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/admin"
    assert errors == []
    context.close()
