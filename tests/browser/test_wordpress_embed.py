"""A petition's address pasted into a WordPress post: WordPress's own embed protocol.

WordPress turns a discovered oEmbed answer into a frame sandboxed to scripts alone (no forms, no
popups, an opaque origin) with a secret after its address, and its wp-embed.js sizes the frame
on "height" messages and follows "link" messages. This test uses WordPress's own wp-embed.js,
from Debian's wordpress package (`.ci/run` fetches it), and the markup WordPress makes of our
oEmbed answer (wp_filter_oembed_result in wp-includes/embed.php). A whole WordPress (Apache, PHP,
a database, and an oEmbed fetch that WordPress refuses to make to a loopback address) is not run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from petitionkit.testing import sign_and_confirm

from ..conftest import _server_missing
from .conftest import Engine, HostSite

WP_EMBED = [
    Path("/usr/share/wordpress/wp-includes/js/wp-embed.js"),
    Path(os.path.expanduser("~/.cache/petitionkit-ci/wordpress/usr/share/wordpress/"
                            "wp-includes/js/wp-embed.js")),
]
SECRET = "Xy7Pq2Lm9Z"


@pytest.fixture(scope="module")
def wp_embed_js() -> str:
    for path in WP_EMBED:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    _server_missing("WordPress's wp-embed.js (Debian's wordpress package)",
                    FileNotFoundError(str(WP_EMBED[0])))
    raise AssertionError("unreachable")


def wordpress_markup(oembed_html: str) -> str:
    """What wp_filter_oembed_result makes of an untrusted provider's iframe."""
    iframe = re.search(r"<iframe[^>]*></iframe>", oembed_html)
    assert iframe, oembed_html
    kept = dict(re.findall(r' (src|width|height|frameborder|title)="([^"]*)"', iframe.group(0)))
    attributes = " ".join(f'{name}="{value}"' for name, value in kept.items() if name != "src")
    return (f'<iframe class="wp-embedded-content" sandbox="allow-scripts" security="restricted" '
            f'src="{kept["src"]}#?secret={SECRET}" data-secret="{SECRET}" {attributes}></iframe>')


def test_a_wordpress_embed_sizes_itself_links_to_the_page_and_keeps_its_count(
    chromium: Any, engine: Engine, host_site: HostSite, wp_embed_js: str
) -> None:
    slug = engine.add_petition(slug="in-wordpress", title="Free the poet", goal=100,
                               allowed_origins=[host_site.origin])
    client = engine.app.test_client()
    oembed = client.get("/oembed", query_string={"url": f"{engine.url}/p/{slug}"}).json
    post = host_site.page("/a-post/", (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A post</title>'
        f"<script>{wp_embed_js}</script></head><body><article><h1>Sign this</h1>"
        f"{wordpress_markup(oembed['html'])}</article></body></html>"
    ))
    page = chromium.new_page(viewport={"width": 390, "height": 800})
    page.goto(post)
    frame_element = page.locator("iframe.wp-embedded-content")
    frame = frame_element.content_frame
    button = frame.get_by_role("link", name="Sign on the petition's page")
    button.wait_for()
    assert not frame.locator("form.sign-form").is_visible(), "a form WordPress would not send"
    # wp-embed.js resized the frame to the document inside it (WordPress caps it at 1000).
    page.wait_for_function(
        f"document.querySelector('iframe').height !== '{oembed['height']}'")
    inner = frame.locator("body").evaluate("body => Math.ceil(body.getBoundingClientRect().height)")
    assert int(frame_element.get_attribute("height")) == min(max(inner, 200), 1000)
    # The count refreshes although the sandboxed frame has no origin of its own.
    sign_and_confirm(engine.app, slug, "Early Signer", "early@example.org")
    engine.app.extensions["petitionkit.summary_cache"].clear()
    frame.locator("#pk-count[data-count='1']").wait_for(timeout=5000)
    # "link": WordPress takes the reader to the petition's page, on the frame's own site.
    button.click()
    page.wait_for_url(f"{engine.url}/p/{slug}")
    assert page.locator("form.sign-form").is_visible()
    page.close()


def test_outside_wordpress_the_form_stays(chromium: Any, engine: Engine) -> None:
    slug = engine.add_petition(slug="plain-frame")
    page = chromium.new_page()
    page.goto(f"{engine.url}/embed/{slug}")
    assert page.locator("form.sign-form").is_visible()
    assert page.locator("#pk-sign-elsewhere").is_hidden()
    page.close()
