"""The organiser's journey in real Chromium, without a terminal once the first account exists:
sign in with password and TOTP (set up at the first sign-in), write a petition in Markdown with a
preview, open it, see it live in another tab and sign it there as a signer would (confirming
through the mail the engine sent), watch the signature arrive in the figures, hide the signer's
public name, invalidate a wave of signatures by their e-mail domain, and download the hand-over
report. An editor, signed in the same way, is refused the users page."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from petitionkit.testing import sign_and_confirm

from ..admin import Enrolled, add_user
from ..smtp import link_from
from .conftest import Engine, axe_violations, screenshot

OWNER = "owner@lantern.example"
EDITOR = "editor@lantern.example"
PASSWORD = "a long passphrase of several words"
SLUG = "release-the-archivist"
TITLE = "Release the archivist"
BODY = "The archivist kept **our town's memory**.\n\n- Release her\n- Return her papers\n"


def first_sign_in(page: Page, url: str, email: str) -> Enrolled:
    """Password, then an authenticator app set up from the key the page shows."""
    page.goto(f"{url}/admin/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    enrolled = Enrolled(secret=page.locator("code.secret").first.inner_text().strip(),
                        recovery_codes=[])
    page.get_by_label("Code", exact=True).fill(enrolled.code())
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page.locator(".codes li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.get_by_role("heading", name="Petitions")).to_be_visible()
    return enrolled


def create_and_open(page: Page) -> None:
    page.get_by_role("link", name="New petition").click()
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Address (slug)").fill(SLUG)
    page.get_by_label("Summary").fill("An archivist is held for keeping records.")
    page.get_by_label("Text (Markdown)").fill(BODY)
    page.get_by_label("Goal").fill("100")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("section.preview")
    expect(preview.locator("strong")).to_have_text("our town's memory")
    expect(preview.locator("li")).to_have_count(2)
    assert page.get_by_label("Text (Markdown)").input_value() == BODY  # kept across the preview
    page.get_by_role("button", name="Create the petition").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator(".petition-links .status")).to_have_text("draft")
    page.get_by_role("button", name="Open for signing").click()
    expect(page.locator(".petition-links .status")).to_have_text("open")


def sign_on_the_live_page(live: Page, engine: Engine, name: str, email: str) -> None:
    """The signer's side: the form on the hosted page, then the link in the mail."""
    live.get_by_role("textbox", name="Your name").fill(name)
    live.get_by_role("textbox", name="Email address").fill(email)
    live.get_by_label("Show my name publicly among the signers").check()
    live.get_by_role("button", name="Sign", exact=True).click()
    expect(live.get_by_role("heading", name="Check your email")).to_be_visible()
    assert engine.deliver_mail() >= 1
    message = next(m for m in engine.smtp.wait_for(1) if email in str(m["To"]))
    live.goto(link_from(message, engine.url + "/confirm/"))
    live.locator("button.sign-button").click()
    expect(live.get_by_role("heading", name="Thank you, your signature counts")).to_be_visible()


def figures_count(page: Page) -> str:
    return page.locator("dl.figures div").filter(has_text="Confirmed online").locator(
        "dd").inner_text()


def test_an_organiser_runs_a_campaign_from_the_workspace(
    engine: Engine, chromium: Any, tmp_path: Path
) -> None:
    add_user(engine.app, OWNER, "owner", PASSWORD)
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)

    first_sign_in(page, engine.url, OWNER)
    create_and_open(page)
    screenshot(page, "journey-petition-opened")

    with context.expect_page() as opened:  # a middle click: the live page in a tab of its own
        page.get_by_role("link", name="Open the live page").click(button="middle")
    live = opened.value
    live.wait_for_load_state()
    assert live.url == f"{engine.url}/p/{SLUG}"
    expect(live.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(live.locator("article strong")).to_have_text("our town's memory")

    page.goto(f"{engine.url}/admin/p/{SLUG}")
    assert figures_count(page) == "0"
    expect(page.locator("#hours-title .chart-total")).to_have_text("total 0")
    sign_on_the_live_page(live, engine, "Leyla Demir", "leyla@example.org")
    page.reload()
    assert figures_count(page) == "1"
    hours = page.locator("figure.chart").first
    expect(hours.locator(".chart-total")).to_have_text("total 1")
    expect(hours.locator("svg.bars rect")).to_have_count(1)
    assert (hours.locator("svg.bars rect title").text_content() or "").endswith(": 1")
    hours.get_by_text("The numbers").click()
    rows = hours.locator("table.chart-numbers tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td.number")).to_have_text("1")
    screenshot(page, "journey-figures")

    # A wave of signatures from one domain, made as the services make them.
    for number in range(3):
        sign_and_confirm(engine.app, SLUG, f"Bot Number{number}", f"bot{number}@spam.example",
                         show_name=True)
    live.goto(f"{engine.url}/p/{SLUG}")
    signers = live.locator("section.signers")
    expect(signers).to_contain_text("Leyla D.")

    page.goto(f"{engine.url}/admin/")
    page.get_by_role("link", name=f"Moderation {TITLE}").click()
    page.get_by_label("E-mail address").fill("Leyla@Example.org")
    page.get_by_role("button", name="Search").click()
    found = page.locator("table.signatures tbody tr")
    expect(found).to_have_count(1)
    expect(found).to_contain_text("Leyla D.")
    found.get_by_role("button", name="Hide the name").click()
    expect(page.get_by_role("status")).to_have_text("The name is hidden.")
    live.reload()
    expect(signers).to_contain_text("Bot N.")
    expect(signers).not_to_contain_text("Leyla")

    page.get_by_label("E-mail domain").fill("spam.example")
    page.get_by_role("button", name="Count the matching signatures").click()
    preview = page.locator(".notice[role=status]")
    expect(preview).to_contain_text("3 signatures match.")
    preview.get_by_label("Reason").fill("one domain, three signatures in a minute")
    preview.get_by_role("button", name="Invalidate 3 signatures").click()
    expect(page.get_by_role("heading", name="Bulk invalidation")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("0 of 3 signatures invalidated.")
    screenshot(page, "journey-bulk-running")
    engine.deliver_mail()  # the worker picks the run up; the page refreshes itself
    expect(page.get_by_role("status")).to_have_text("3 of 3 signatures invalidated.",
                                                    timeout=10_000)
    expect(page.get_by_text("Finished")).to_be_visible()
    assert page.locator("progress").get_attribute("value") == "3"
    page.goto(f"{engine.url}/admin/p/{SLUG}")
    assert figures_count(page) == "1"
    live.reload()
    expect(live.locator("#pk-count")).to_contain_text("1")
    expect(live.locator("section.signers")).to_have_count(0)

    page.goto(f"{engine.url}/admin/")
    page.get_by_role("link", name=f"Downloads {TITLE}").click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Report as a spreadsheet (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == f"{SLUG}-report.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert ["total signatures", "1"] in rows
    assert not any("Bot" in cell for row in rows for cell in row)
    page.goto(f"{engine.url}/admin/audit")
    expect(page.locator("table.audit tbody tr").first).to_contain_text(
        f"{SLUG}: hand-over report (csv)")
    assert errors == []
    context.close()


def test_an_editor_cannot_open_the_users_page(engine: Engine, chromium: Any) -> None:
    add_user(engine.app, EDITOR, "editor", PASSWORD)
    context = chromium.new_context(locale="en")
    page = context.new_page()
    first_sign_in(page, engine.url, EDITOR)
    nav = page.get_by_role("navigation", name="Workspace")
    expect(nav.get_by_role("link", name="Petitions")).to_be_visible()
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    answer = page.goto(f"{engine.url}/admin/users")
    assert answer is not None and answer.status == 403
    assert axe_violations(page.main_frame) == []
    context.close()
