"""The widget's size budgets, measured the way a browser downloads it (gzip), for benchmarks
and tests alike."""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass

from flask import Flask

LOADER_BUDGET = 2 * 1024
IFRAME_BUDGET = 15 * 1024
_ASSET = re.compile(r'(?:<script src|<link rel="stylesheet" href)="(/[^"]+)"')


@dataclass(frozen=True)
class WidgetSizes:
    loader: int
    iframe_html: int
    iframe_assets: dict[str, int]

    @property
    def iframe(self) -> int:
        return self.iframe_html + sum(self.iframe_assets.values())

    def within_budget(self) -> bool:
        return self.loader <= LOADER_BUDGET and self.iframe <= IFRAME_BUDGET

    def report(self) -> str:
        return (
            f"widget loader: {self.loader} B gzipped (budget {LOADER_BUDGET} B)\n"
            f"widget iframe: {self.iframe} B gzipped with its CSS and JS "
            f"(budget {IFRAME_BUDGET} B): html {self.iframe_html} B, "
            + ", ".join(f"{path.split('?')[0]} {size} B"
                        for path, size in self.iframe_assets.items())
        )


def _gzipped(body: bytes) -> int:
    return len(gzip.compress(body, 9))


def measure(app: Flask, slug: str) -> WidgetSizes:
    """Sizes of /widget.js and of /embed/SLUG with every stylesheet and script it loads."""
    client = app.test_client()
    with client.get("/widget.js") as loader:
        loader_size = _gzipped(loader.data)
    with client.get(f"/embed/{slug}") as page:
        if page.status_code != 200:
            raise LookupError(f"/embed/{slug} answered {page.status_code}")
        html = page.data
    assets = {}
    for path in _ASSET.findall(html.decode()):
        with client.get(path.replace("&amp;", "&")) as asset:
            assets[path] = _gzipped(asset.data)
    return WidgetSizes(loader_size, _gzipped(html), assets)
