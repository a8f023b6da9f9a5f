"""The workspace on a phone and read right to left, measured in Chromium: the menu's entries stay
whole in Chinese, names and addresses in tables line up with their column in Arabic, and the
choice of petitions on the tokens page keeps each petition's address on a line of its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from petitionkit.api.tokens import create_token
from petitionkit.extensions import db
from petitionkit.testing import sign_and_confirm

from ..admin import PASSWORD, Enrolled, add_user
from ..smtp import RecordingSMTPServer
from .conftest import Engine, serve_engine

OWNER = "owner@lantern.example"
SLUG = "free-the-poet"


def signed_in(engine: Engine, chromium: Any, locale: str, width: int) -> Any:
    """A page of an owner signed in through the sign-in pages, in ``locale`` at ``width``."""
    add_user(engine.app, OWNER, "owner")
    context = chromium.new_context(viewport={"width": width, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(f"{engine.url}/admin/login")
    page.fill("input[name=email]", OWNER)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").click()
    enrolled = Enrolled(secret=page.locator("code.secret").first.inner_text().strip(),
                        recovery_codes=[])
    page.fill("input[name=code]", enrolled.code())
    page.locator("form button[type=submit]").click()
    page.wait_for_selector(".codes li")
    return page


@pytest.fixture
def named_engine(tmp_path: Path, migrated_sqlite: Path,
                 smtp_server: RecordingSMTPServer) -> Iterator[Engine]:
    """An engine whose organisation's name, before the menu, takes half a phone's width."""
    with serve_engine(tmp_path, migrated_sqlite, smtp_server,
                      ORGANIZATION_NAME="Lantern Rights Network") as served:
        yield served


def test_the_menu_s_entries_stay_whole_on_a_phone_in_chinese(named_engine: Engine,
                                                            chromium: Any) -> None:
    page = signed_in(named_engine, chromium, "zh-CN", 390)
    page.goto(f"{named_engine.url}/admin/tokens")
    broken = page.evaluate("""() => [...document.querySelectorAll(".admin-header nav a")]
        .filter(a => a.getBoundingClientRect().height
                     >= 2 * parseFloat(getComputedStyle(a).fontSize))
        .map(a => a.textContent.trim())""")
    assert broken == [], "menu entries broken over two lines"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.context.close()


def _start_edge_gap(page: Any, table: str) -> list[float]:
    """How far each row name's text sits from where its column's name starts (the right edge,
    read right to left)."""
    return page.evaluate("""table => {
        const heading = document.querySelector(table + " thead th");
        const edge = box => box.right - parseFloat(getComputedStyle(heading).paddingRight);
        const start = edge(heading.getBoundingClientRect());
        return [...document.querySelectorAll(table + " tbody th bdi")].map(
            text => Math.abs(start - text.getBoundingClientRect().right));
    }""", table)


@pytest.mark.parametrize("width", [390, 1280])
def test_latin_names_line_up_with_their_column_in_arabic(engine: Engine, chromium: Any,
                                                        width: int) -> None:
    engine.add_petition(slug=SLUG, title="Free the poet")
    for number, site in enumerate(["campaign.example", "campaign.example", "news.example"]):
        sign_and_confirm(engine.app, SLUG, f"Signer Number{number}", f"s{number}@example.org",
                         source="newsletter", site=site)
    with engine.app.app_context():
        create_token(db.session(), "Newsletter sync", "viewer", "test")
        db.session.remove()
    page = signed_in(engine, chromium, "ar", width)
    page.goto(f"{engine.url}/admin/p/{SLUG}")
    for table in ("table.sites", "table.sources:not(.sites)"):
        gaps = _start_edge_gap(page, table)
        assert gaps and max(gaps) < 2, (table, gaps)
    if width > 600:  # on a phone the tokens' table is a column of cards
        page.goto(f"{engine.url}/admin/tokens")
        gaps = _start_edge_gap(page, "table.tokens")
        assert gaps and max(gaps) < 2, gaps
    page.context.close()


def test_each_petition_s_address_has_a_line_of_its_own(engine: Engine, chromium: Any) -> None:
    engine.add_petition(slug=SLUG, title="Free the poet who wrote of the harbour strike")
    page = signed_in(engine, chromium, "ar", 390)
    page.goto(f"{engine.url}/admin/tokens")
    title, address = (page.locator(".check label bdi").nth(index).bounding_box()
                      for index in (0, 1))
    assert title and address
    assert address["y"] >= title["y"] + title["height"] - 1, "the address shares a line"
    assert re.fullmatch(r"\(free-the-poet\)", page.locator(".choice-slug").inner_text())
    page.context.close()
