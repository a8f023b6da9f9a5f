"""Screenshots of the campaign pages with several steps, in three languages and two widths.

    python docs/screenshots/steps.py [SLUG…]      (or: make screenshots)

The example campaigns ``urgent-action-lu-yunfei`` (sign, call, report, share, story) and
``joint-letter-minister-marrow`` (signed by organisations) are served as ``make demo`` serves
them (examples/demo_server.py). Debian's Chromium (Playwright) opens each at 320 px and at
1280 px, in English, Chinese and Arabic (``?lang=``, ``data-lang``), and goes through it as a
signer would: the hosted page, signing and the "check your e-mail" page, "I called" on the call
step, the link of the confirmation mail and the confirmed page, a report of what was done and
its thank-you page, then the widget on the organisation's own page (served to the browser as the
demo site's address, which the examples allow) with the steps it shows after signing. The
widget before signing is in take.py's pictures.

The pictures are written next to this script as ``steps-PAGE-SLUG-LANGUAGE-WIDTH.png``, reduced
to 256 colours.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent / "examples"))

from demo_server import serving_examples  # noqa: E402
from take import CHROMIUM, CHROMIUM_ARGS, SETTINGS, WIDTHS, delivered_mail, html_part, shoot  # noqa: E402

# The engine's language tags, and the name and organisation a signer of each writes.
LANGUAGES = {
    "en": ("en", "Sample Signer", "Harbour Community Trust"),
    "zh": ("zh_Hans", "示例签名者", "港湾社区信托"),
    "ar": ("ar", "موقّع تجريبي", "جمعية الميناء الأهلية"),
}
# The organisation's own words around the widget, in the page's language.
HOST_TEXT = {
    "en": ("Act now", "Sign, then take the steps that follow."),
    "zh_Hans": ("立即行动", "请签名，然后完成后面的步骤。"),
    "ar": ("تحرّك الآن", "وقّع، ثم اتبع الخطوات التالية."),
}
SLUGS = ("urgent-action-lu-yunfei", "joint-letter-minister-marrow")
# One signer signs many times here, from one address: the limits would only add waits.
STEP_SETTINGS = {**SETTINGS, "RATELIMIT_SIGN": "1000/minute", "RATELIMIT_REPORT": "1000/minute"}
# The address of the demo's example site, which the example petitions allow to embed them.
HOST = "http://127.0.0.1:8000"
# The host page is answered by the browser itself (it has no address of its own), so Chromium
# would take it for a public site and refuse it the engine on the loopback address.
BROWSER_ARGS = [*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks,"
                "BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights"]
FOCUS_ON_STEPS = ("() => document.activeElement !== null"
                  " && document.activeElement.id === 'pk-steps'")


def host_page(engine: str, slug: str, lang: str) -> str:
    direction = "rtl" if lang == "ar" else "ltr"
    heading, line = HOST_TEXT[lang]
    return f"""<!doctype html>
<html lang="{lang.replace('_', '-')}" dir="{direction}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Harbour Lantern</title>
<style>
body {{ margin: 0; font: 17px/1.5 system-ui, sans-serif; color: #222; background: #f6f3ee; }}
header {{ background: #8a2b1d; color: #fff; padding: .8rem 1rem; font-weight: bold; }}
main {{ max-width: 60rem; margin: 0 auto; padding: 1rem; display: grid; gap: 1.5rem; }}
@media (min-width: 48rem) {{ main {{ grid-template-columns: 1fr 24rem; }} }}
</style></head>
<body><header>Harbour Lantern</header>
<main><article><h1>{heading}</h1><p>{line}</p></article>
<aside><script async src="{engine}/widget.js" data-petition="{slug}" data-lang="{lang}"
data-source="screenshots"></script></aside></main></body></html>"""


def sign(frame: Any, signer: str, organization: str, address: str) -> None:
    if frame.locator("#organization").count():
        frame.fill("#organization", organization)
        if frame.locator("#organization_url").count():
            frame.fill("#organization_url", "https://trust.example.org")
    frame.fill("#name", signer)
    frame.fill("#email", address)
    if frame.locator("#country").count():
        frame.select_option("#country", "KE")
    frame.click("form.sign-form button[type=submit]")
    frame.wait_for_selector("#status-heading")


def walk(browser: Any, engine: str, folder: Path, slug: str, language: str, width: int) -> None:
    lang, signer, organization = LANGUAGES[language]
    name = f"{slug}-{language}-{width}"
    address = f"steps-{language}-{width}@{slug}.example.org"
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=lang)
    page = context.new_page()

    page.goto(f"{engine}/p/{slug}?lang={lang}")
    shoot(page, HERE / f"steps-petition-{name}.png")
    sign(page, signer, organization, address)
    shoot(page, HERE / f"steps-check-email-{name}.png")
    if page.locator("form.call-report").count():
        page.select_option("#call-outcome", "voicemail")
        page.click("form.call-report button[type=submit]")
        page.wait_for_function(FOCUS_ON_STEPS)
        shoot(page, HERE / f"steps-called-{name}.png")

    mail = html_part(delivered_mail(folder / "mail", address))
    found = re.search(r'href="([^"]*/confirm/[^"]+)"', mail)
    if found is None:
        raise RuntimeError("the confirmation mail has no confirmation link")
    page.goto(found[1].replace("&amp;", "&"))
    page.click("form button[type=submit]")
    page.wait_for_selector("#status-heading")
    shoot(page, HERE / f"steps-confirmed-{name}.png")
    if page.locator(".report-form").count():
        page.locator(".report-form input[type=checkbox]").first.check()
        page.click(".report-form button[type=submit]")
        page.wait_for_load_state()
        shoot(page, HERE / f"steps-reported-{name}.png")

    page.route(f"{HOST}/campaign", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=host_page(engine, slug, lang)))
    page.goto(f"{HOST}/campaign")
    frame = page.wait_for_selector("iframe").content_frame()
    frame.wait_for_selector("form.sign-form")
    sign(frame, signer, organization, f"widget-{address}")
    # The frame grows to its new content through the loader.
    page.wait_for_timeout(600)
    shoot(page, HERE / f"steps-widget-{name}.png")
    context.close()


def main(slugs: list[str]) -> int:
    if not Path(CHROMIUM).exists():
        print(f"No Chromium at {CHROMIUM} (`apt-get install chromium`)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as name, \
            serving_examples(Path(name), server="run", settings=STEP_SETTINGS) as engine, \
            sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        for slug in slugs or SLUGS:
            for language in LANGUAGES:
                for width in WIDTHS:
                    walk(browser, engine, Path(name), slug, language, width)
                print(f"{slug} {language}: done", flush=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
