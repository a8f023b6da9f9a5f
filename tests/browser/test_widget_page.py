"""The widget on someone else's page: isolation, several widgets, framing refused, accessibility,
right-to-left and Chinese rendering, narrow screens."""

from __future__ import annotations

from typing import Any

from .conftest import Engine, HostSite, axe_violations, host_page, screenshot, snippet


def _wait_loaded(page: Any, count: int) -> None:
    page.wait_for_function(
        f"document.querySelectorAll('iframe').length === {count} && "
        f"window.__loaded && window.__loaded.length === {count}"
    )


LISTEN = """window.__loaded = [];
document.addEventListener('petitionkit:loaded', (e) => window.__loaded.push(e.detail.petition));
document.addEventListener('petitionkit:submitted', () => { window.__submitted = 1; });"""


def test_two_widgets_on_one_page_leak_nothing(chromium: Any, engine: Engine,
                                               host_site: HostSite) -> None:
    first = engine.add_petition(slug="first-one", title="The first petition",
                                allowed_origins=[host_site.origin])
    second = engine.add_petition(slug="second-one", title="The second petition",
                                 allowed_origins=[host_site.origin], locale="fr")
    url = host_site.page("/two", host_page(
        "<style>div { border: 9px solid red } iframe { opacity: .5 }</style>"
        f"<script>{LISTEN}</script>"
        "<script>window.__before = Object.getOwnPropertyNames(window);"
        "window.__sheets = document.styleSheets.length;</script>"
        f"<section>{snippet(engine, first)}</section>"
        f"<section>{snippet(engine, second, lang='fr', theme='dark')}</section>"
    ))
    context = chromium.new_context()
    page = context.new_page()
    requested_hosts: set[str] = set()
    page.on("request", lambda request: requested_hosts.add(request.url.split("/")[2]))
    page.goto(url)
    _wait_loaded(page, 2)
    assert sorted(page.evaluate("window.__loaded")) == [first, second]
    leaked = page.evaluate(
        "Object.getOwnPropertyNames(window).filter(n => !window.__before.includes(n))"
    )
    # window[0] and window[1] are the two frames themselves, as for any iframe.
    assert sorted(leaked) == ["0", "1", "__before", "__sheets"]
    assert page.evaluate("document.styleSheets.length") == page.evaluate("window.__sheets")
    frames = page.locator("iframe")
    assert frames.nth(0).get_attribute("title") == "The first petition"
    assert frames.nth(1).get_attribute("title") == "The second petition"
    second_frame = page.frame_locator("iframe").nth(1)
    assert second_frame.get_by_role("button", name="Signer").is_visible()
    assert "pk-theme-dark" in (second_frame.locator("html").get_attribute("class") or "")
    # Sized to the content by the iframe's messages, not left at the loader's first guess.
    page.wait_for_function("[...document.querySelectorAll('iframe')].every(f => "
                           "f.style.height !== '460px')")
    for index in (0, 1):
        frame = page.frame_locator("iframe").nth(index)
        inner = frame.locator("body").evaluate("b => Math.ceil(b.getBoundingClientRect().height)")
        outer = frames.nth(index).evaluate("f => f.getBoundingClientRect().height")
        assert abs(inner - outer) <= 1
    assert requested_hosts <= {host_site.origin.split("/")[2], engine.url.split("/")[2]}
    # The loader heeds only its own iframe: the host page (or any other frame) posting a message
    # that looks like the widget's changes nothing.
    height = frames.nth(0).evaluate("f => f.style.height")
    page.evaluate("""() => {
        const frame = document.querySelector('iframe');
        const id = JSON.parse(frame.name).petitionkit;
        window.postMessage({petitionkit: id, type: 'resize', height: 3}, '*');
        window.postMessage({petitionkit: id, type: 'submitted'}, '*');
    }""")
    page.wait_for_timeout(200)
    assert frames.nth(0).evaluate("f => f.style.height") == height
    assert page.evaluate("window.__submitted || 0") == 0
    screenshot(page, "two-widgets")
    context.close()


def test_a_page_not_allowed_to_frame_the_petition(chromium: Any, engine: Engine,
                                                  host_site: HostSite) -> None:
    slug = engine.add_petition(allowed_origins=["https://campaign.example"])
    url = host_site.page("/not-allowed", host_page(f"<script>{LISTEN}</script>"
                                                   + snippet(engine, slug)))
    context = chromium.new_context()
    page = context.new_page()
    page.goto(url)
    frame = page.frame_locator("iframe")
    frame.get_by_text("This website is not allowed to collect signatures").wait_for()
    assert frame.locator("form").count() == 0
    assert frame.get_by_role("link", name="Free the poet").get_attribute("href") == f"/p/{slug}"
    assert page.evaluate("window.__loaded") == []
    screenshot(page, "not-allowed")

    # A page that hides its address from the engine: the browser itself refuses to show the form.
    hidden = host_site.page("/no-referrer", host_page(snippet(engine, slug)),
                            headers={"Referrer-Policy": "no-referrer"})
    with page.expect_response(f"{engine.url}/embed/{slug}") as answer:
        page.goto(hidden)
    assert answer.value.status == 200
    assert "'self' https://campaign.example" in answer.value.header_value(
        "content-security-policy")
    page.wait_for_timeout(500)
    [child] = page.main_frame.child_frames
    assert not child.url.startswith(engine.url) or child.locator("form").count() == 0
    context.close()


def test_accessibility_in_both_themes_and_on_the_hosted_pages(
    chromium: Any, engine: Engine, host_site: HostSite
) -> None:
    slug = engine.add_petition(allowed_origins=[host_site.origin],
                               asks_country=True, asks_postal_code=True,
                               status_line="Handed in to the city council")
    context = chromium.new_context()
    page = context.new_page()
    for theme, background in (("light", "#ffffff"), ("dark", "#101214")):
        url = host_site.page(f"/{theme}", host_page(
            f"<style>body{{background:{background}}}</style>" + snippet(engine, slug, theme=theme)
        ).replace('<html lang="en">', '<html lang="en">'))
        page.goto(url)
        frame = page.wait_for_selector("iframe").content_frame()
        frame.wait_for_selector("form")
        assert axe_violations(frame) == [], theme
        # With the errors showing as well.
        frame.get_by_role("button", name="Sign").click()
        frame.wait_for_selector("#form-errors")
        assert axe_violations(frame) == [], theme + " with errors"
        screenshot(page, f"widget-{theme}-errors")
    page.goto(f"{engine.url}/p/{slug}")
    assert axe_violations(page.main_frame) == []
    context.close()


def test_right_to_left_and_chinese(chromium: Any, engine: Engine, host_site: HostSite) -> None:
    slug = engine.add_petition(allowed_origins=[host_site.origin])
    context = chromium.new_context(viewport={"width": 480, "height": 900})
    page = context.new_page()
    page.goto(host_site.page("/ar", host_page(snippet(engine, slug, lang="ar"), lang="ar")))
    frame = page.frame_locator("iframe")
    frame.get_by_role("button", name="وقّع").wait_for()
    assert frame.locator("html").get_attribute("dir") == "rtl"
    # Right-to-left: the label's text starts at the field's right edge.
    label = frame.locator("label[for=name]").evaluate("""label => {
        const range = document.createRange(); range.selectNodeContents(label);
        const box = range.getBoundingClientRect(); return {left: box.left, right: box.right}; }""")
    field = frame.locator("#name").evaluate("""field => {
        const box = field.getBoundingClientRect(); return {left: box.left, right: box.right}; }""")
    assert abs(label["right"] - field["right"]) < 2
    assert label["left"] > field["left"] + 100
    document = frame.locator("html")
    assert document.evaluate("h => h.scrollWidth - h.clientWidth") <= 0
    screenshot(page, "widget-arabic")

    for lang, button, count in (("zh-Hans", "签名", "已有 0 人签名"),
                                ("zh-Hant", "連署", "已有 0 人連署")):
        page.goto(host_site.page(f"/{lang}", host_page(snippet(engine, slug, lang=lang))))
        frame = page.frame_locator("iframe")
        frame.get_by_role("button", name=button, exact=True).wait_for()
        assert frame.locator("#pk-count").inner_text().startswith(count)
        assert frame.locator("html").get_attribute("lang") == lang
        screenshot(page, f"widget-{lang}")
    context.close()


def test_narrow_screen_needs_no_sideways_scrolling(chromium: Any, engine: Engine,
                                                  host_site: HostSite) -> None:
    slug = engine.add_petition(allowed_origins=[host_site.origin], asks_country=True,
                               title="A deliberately long petition title that has to wrap "
                                     "across several lines on a small telephone screen")
    context = chromium.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(host_site.page("/narrow", host_page(snippet(engine, slug))))
    frame = page.wait_for_selector("iframe").content_frame()
    frame.wait_for_selector("form")
    overflow = frame.evaluate("document.documentElement.scrollWidth - "
                              "document.documentElement.clientWidth")
    assert overflow <= 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    screenshot(page, "widget-320px")

    # Text at twice its size (what 200% zoom does to text): still no sideways scrolling, and the
    # iframe grows with its content.
    before = page.locator("iframe").evaluate("f => f.getBoundingClientRect().height")
    frame.evaluate("document.documentElement.style.fontSize = '200%'")
    page.wait_for_function(
        f"document.querySelector('iframe').getBoundingClientRect().height > {before * 1.5}"
    )
    assert frame.evaluate("document.documentElement.scrollWidth - "
                          "document.documentElement.clientWidth") <= 0
    screenshot(page, "widget-320px-text-200")
    context.close()


def test_accent_colour_stays_readable(chromium: Any, engine: Engine, host_site: HostSite) -> None:
    slug = engine.add_petition(allowed_origins=[host_site.origin])
    context = chromium.new_context()
    page = context.new_page()
    expectations = (
        ("#8a2b1d", "rgb(255, 255, 255)", "rgb(138, 43, 29)"),
        # A pale yellow: black text on the button, links keep the theme's readable blue.
        ("#ffdd00", "rgb(0, 0, 0)", "rgb(11, 92, 173)"),
    )
    for accent, button_text, link in expectations:
        page.goto(host_site.page("/accent", host_page(snippet(engine, slug, accent=accent))))
        frame = page.frame_locator("iframe")
        button = frame.get_by_role("button", name="Sign")
        button.wait_for()
        colours = button.evaluate(
            "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]"
        )
        hex_background = "rgb({}, {}, {})".format(*(int(accent[i:i + 2], 16) for i in (1, 3, 5)))
        assert colours == [button_text, hex_background]
        read_more = frame.get_by_role("link", name="Read more")
        assert read_more.evaluate("a => getComputedStyle(a).color") == link
    context.close()
