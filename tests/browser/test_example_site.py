"""The example organization site: every widget on every page loads from the engine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .conftest import Engine, HostSite

SITE = Path(__file__).resolve().parents[2] / "examples" / "site"
DEMO_ENGINE = "http://localhost:5000"


def test_every_widget_of_the_example_site_loads(chromium: Any, engine: Engine,
                                                host_site: HostSite) -> None:
    pages = sorted(SITE.glob("*.html"))
    assert {page.name for page in pages} >= {"index.html", "campaign.html", "actions.html"}
    context = chromium.new_context()
    widgets = 0
    for source in pages:
        html = source.read_text(encoding="utf-8")
        slugs = re.findall(
            r'<script async src="http://localhost:5000/widget\.js" data-petition="([a-z0-9-]+)"',
            html,
        )
        widgets += len(slugs)
        for slug in slugs:
            engine.add_petition(slug=slug, title=f"Example {slug}",
                                allowed_origins=[host_site.origin])
        url = host_site.page("/" + source.name, html.replace(DEMO_ENGINE, engine.url))
        for extra in ("site.css", "events.js"):
            host_site.page("/" + extra, (SITE / extra).read_text(encoding="utf-8"))
        page = context.new_page()
        page.add_init_script("""window.__loaded = [];
            document.addEventListener('petitionkit:loaded',
                                      e => window.__loaded.push(e.detail.petition));""")
        page.goto(url)
        if slugs:
            page.wait_for_function(f"window.__loaded.length === {len(slugs)}")
            assert sorted(page.evaluate("window.__loaded")) == sorted(slugs)
        page.close()
    assert widgets == 3, "one on the campaign page, two on the actions page"
    context.close()
