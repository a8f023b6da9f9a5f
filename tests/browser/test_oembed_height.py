"""The iframe oEmbed hands to a CMS has a fixed height: tall enough for the whole signing form of
a letter petition on a phone, measured here in Chromium at 320 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from petitionkit.extensions import db
from petitionkit.petitions.loader import parse_petition_file, upsert_petition
from petitionkit.plugins import calls

from .conftest import Engine, screenshot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "petitions"


def _load_example(app: Flask, name: str) -> str:
    with app.app_context():
        values = parse_petition_file(EXAMPLES / name, calls.petition_sections(app),
                                     calls.step_names(app))
        upsert_petition(db.session(), values)
        db.session.remove()
    app.extensions["petitionkit.summary_cache"].clear()
    return str(values["slug"])


@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.glob("*.md")))
def test_the_oembed_height_holds_the_form_at_phone_width(
    chromium: Any, engine: Engine, example: str
) -> None:
    slug = _load_example(engine.app, example)
    answer = engine.app.test_client().get(f"/oembed?url={engine.url}/p/{slug}")
    height = answer.json["height"]
    assert f'height="{height}"' in answer.json["html"]

    context = chromium.new_context(viewport={"width": 320, "height": height})
    page = context.new_page()
    page.goto(f"{engine.url}/embed/{slug}")
    page.wait_for_selector("form")
    needed = page.evaluate("Math.ceil(document.documentElement.scrollHeight)")
    form_bottom = page.evaluate(
        "Math.ceil(document.querySelector('form').getBoundingClientRect().bottom + scrollY)"
    )
    screenshot(page, f"oembed-320px-{slug}")
    context.close()
    print(f"form ends at {form_bottom}px, document {needed}px, oEmbed height {height}px")
    assert form_bottom <= height, (
        f"the form ends at {form_bottom}px, below the oEmbed height of {height}px"
    )
