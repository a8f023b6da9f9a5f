"""The hosted page's layout in Chromium: the form beside the text on wide screens, first on
phones; a progress bar that shows from the first signature; nothing runs off the page."""

from __future__ import annotations

from typing import Any

import pytest

from petitionkit.testing import sign_and_confirm

from .conftest import Engine, screenshot

BODY = "\n\n".join(["A paragraph of the petition's text, long enough to wrap on a phone."] * 8)


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, selector
    return dict(found)


@pytest.mark.parametrize(("width", "lang"), [(1280, "en"), (1280, "ar"), (768, "zh-Hans"),
                                             (320, "en"), (320, "ar")])
def test_the_form_stands_beside_the_text_on_wide_screens_and_first_on_phones(
    engine: Engine, chromium: Any, width: int, lang: str
) -> None:
    slug = engine.add_petition(slug="layout", body=BODY,
                               body_html="".join(f"<p>{p}</p>" for p in BODY.split("\n\n")))
    context = chromium.new_context(viewport={"width": width, "height": 900}, locale=lang)
    page = context.new_page()
    page.goto(f"{engine.url}/p/{slug}?lang={lang.replace('-', '_')}")
    form, text = box(page, ".petition-action"), box(page, ".petition-text")
    hero = box(page, ".hero")
    if width >= 768:
        assert abs(form["y"] - text["y"]) < 2, "side by side"
        left_to_right = form["x"] > text["x"]
        assert left_to_right == (lang != "ar"), "the text comes first in reading order"
    else:
        assert form["y"] < text["y"], "on a phone the form comes first, after the hero"
    assert hero["y"] < form["y"]
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "nothing runs off the side of the page"
    screenshot(page, f"petition-page-{lang}-{width}")
    context.close()


def test_the_progress_bar_shows_from_the_first_signature(engine: Engine, chromium: Any) -> None:
    slug = engine.add_petition(slug="first", goal=10000)
    page = chromium.new_page()
    page.goto(f"{engine.url}/p/{slug}")
    assert page.locator("progress").get_attribute("value") == "0"
    sign_and_confirm(engine.app, slug, "First Signer", "first@example.org")
    engine.app.extensions["petitionkit.summary_cache"].clear()
    page.reload()
    bar = page.locator("progress")
    assert bar.get_attribute("value") == "167", "a sixtieth of the goal, so the bar is seen"
    assert page.locator("#pk-count").inner_text().startswith("1 ")
    page.close()
