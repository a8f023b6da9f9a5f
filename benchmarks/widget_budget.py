"""The widget's weight budgets: what a visitor of an embedding site downloads, gzipped.

- the loader ``/widget.js``: at most 2 KB gzipped;
- the iframe document ``/embed/SLUG`` with the stylesheets and scripts it links from the
  engine: at most 15 KB gzipped, counted as each file would travel on its own.

Sizes are measured with gzip at level 6 (the default of gzip, nginx and most CDNs), whatever
the server itself sends, so the figure does not depend on a proxy in front of it.
"""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

LOADER_BUDGET = 2 * 1024
DOCUMENT_BUDGET = 15 * 1024
GZIP_LEVEL = 6


@dataclass
class WidgetSizes:
    loader_gzip: int
    document_gzip: int
    parts: dict[str, int] = field(default_factory=dict)

    @property
    def loader_within_budget(self) -> bool:
        return self.loader_gzip <= LOADER_BUDGET

    @property
    def document_within_budget(self) -> bool:
        return self.document_gzip <= DOCUMENT_BUDGET


class _LinkedAssets(HTMLParser):
    """Stylesheets and scripts a document pulls in, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.urls.append(str(values["src"]))
        rel = (values.get("rel") or "").lower().split()
        if tag == "link" and values.get("href") and ("stylesheet" in rel or "modulepreload" in rel):
            self.urls.append(str(values["href"]))


def fetch(url: str) -> bytes | None:
    """The body of ``url``, or None for a 404; any other failure is raised."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def gzipped_size(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0))


def measure_widget(base_url: str, slug: str) -> WidgetSizes | None:
    """The gzipped sizes of the loader and of the iframe document; None when there is no widget."""
    loader = fetch(urljoin(base_url, "/widget.js"))
    document_url = urljoin(base_url, f"/embed/{slug}")
    document = fetch(document_url)
    if loader is None or document is None:
        return None
    parts = {"/widget.js": gzipped_size(loader), f"/embed/{slug}": gzipped_size(document)}
    assets = _LinkedAssets()
    assets.feed(document.decode("utf-8"))
    own_host = urlsplit(base_url).netloc
    for reference in assets.urls:
        url = urljoin(document_url, reference)
        if urlsplit(url).netloc != own_host:
            raise AssertionError(f"the iframe document loads {url} from another host")
        body = fetch(url)
        if body is None:
            raise AssertionError(f"the iframe document links {url}, which answers 404")
        parts[urlsplit(url).path] = gzipped_size(body)
    document_total = sum(size for path, size in parts.items() if path != "/widget.js")
    return WidgetSizes(loader_gzip=parts["/widget.js"], document_gzip=document_total, parts=parts)
