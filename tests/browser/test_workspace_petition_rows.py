"""The petition form's rows in a real browser: the page has no script, so every row is the
server's; adding a target with "Add another target", Enter in a field previews instead of adding
a row, and a mistake in a row passes axe and fits a 320 px phone in Arabic."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from .conftest import Engine, axe_violations
from .test_workspace_accessibility import sideways_overflow, sign_in_pages


def test_rows_of_the_petition_form(engine: Engine, chromium: Any) -> None:
    state, _visited = sign_in_pages(engine, chromium)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en",
                                   storage_state=state)
    page = context.new_page()
    page.goto(f"{engine.url}/admin/petitions/new")
    expect(page.locator("script")).to_have_count(0)
    page.get_by_label("Title", exact=True).fill("A clean river")
    page.get_by_label("Address (slug)").fill("clean-river")
    page.locator("#targets-0-name").fill("Mina Osei")
    page.get_by_role("button", name="Add another target").click()
    expect(page.locator("#targets-1-name")).to_have_value("")
    expect(page.locator("#targets-0-name")).to_have_value("Mina Osei")
    page.locator("#targets-1-name").fill("Aurel Vantic")
    page.locator("#targets-1-email").fill("not an address")
    page.get_by_label("Title", exact=True).press("Enter")
    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    expect(page.locator("#targets-1-name")).to_have_value("Aurel Vantic")
    expect(page.locator("#targets-2-name")).to_have_count(0)  # no row added by Enter
    page.get_by_role("button", name="Create the petition").click()
    expect(page.locator("#targets-1-error")).to_contain_text("targets[2].email")
    assert axe_violations(page.main_frame) == []
    context.close()

    phone = chromium.new_context(viewport={"width": 320, "height": 700}, locale="ar",
                                 storage_state=state)
    page = phone.new_page()
    page.goto(f"{engine.url}/admin/petitions/new")
    page.locator("#title").fill("نهر نظيف")
    page.locator("#slug").fill("clean-river")
    page.locator("#targets-0-name").fill("مينا أوسي")
    page.locator("#targets-0-email").fill("not an address")
    page.locator("#report_actions-0-key").fill("called")
    page.locator("form.petition-form button[type=submit]:not([name])").click()
    expect(page.locator("#targets-0-error")).to_be_visible()
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert axe_violations(page.main_frame) == []
    assert sideways_overflow(page) == []
    phone.close()
