"""The screenshots in docs/screenshots.md: what signers see, in three languages and two widths.

    python docs/screenshots/take.py        (or: make screenshots)

The example petitions are served as ``make demo`` serves them (examples/demo_server.py), each
petition in its own language: English (``bring-daniel-home``), Chinese
(``urgent-action-lu-yunfei``) and Arabic (``free-journalist-salma-qadiri``). Debian's Chromium
(Playwright) opens every page at 320 px (a small phone) and at 1280 px (a laptop), signs through
the hosted page's form as a signer would, and takes the confirmation mail the engine delivered and
the page its link opens. The pictures are written next to this script as PNGs reduced to 256
colours, small enough to keep in the repository.
"""

from __future__ import annotations

import email
import re
import sys
import tempfile
import time
from email.message import Message
from pathlib import Path
from typing import Any

from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from demo_server import serving_examples  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PETITIONS = {
    "en": ("bring-daniel-home", "Sample Signer"),
    "zh": ("urgent-action-lu-yunfei", "示例签名者"),
    "ar": ("free-journalist-salma-qadiri", "موقّع تجريبي"),
}
WIDTHS = (320, 1280)
# The proof-of-work check would only add a wait before each picture.
SETTINGS = {"CHALLENGE_MODE": "off"}


def shrink(path: Path) -> None:
    with Image.open(path) as picture:
        reduced = picture.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)


def shoot(page: Any, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    shrink(path)


def delivered_mail(folder: Path, address: str, timeout: float = 20) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for file in sorted(folder.glob("*.eml")):
            message = email.message_from_bytes(file.read_bytes())
            if address in str(message["To"]):
                return message
        time.sleep(0.2)
    raise RuntimeError(f"no mail to {address} in {folder} within {timeout:.0f} s")


def html_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise RuntimeError("the mail has no HTML part")


def main() -> int:
    if not Path(CHROMIUM).exists():
        print(f"No Chromium at {CHROMIUM} (`apt-get install chromium`)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as name, \
            serving_examples(Path(name), server="run", settings=SETTINGS) as url, \
            sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for language, (slug, signer) in PETITIONS.items():
            address = f"signer-{language}@example.org"
            mail_html = confirm_url = ""
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": 900},
                                              locale=language)
                page = context.new_page()
                page.goto(f"{url}/p/{slug}")
                shoot(page, HERE / f"petition-{language}-{width}.png")
                page.goto(f"{url}/embed/{slug}")
                shoot(page, HERE / f"widget-{language}-{width}.png")
                if not confirm_url:
                    page.goto(f"{url}/p/{slug}")
                    page.fill("#name", signer)
                    page.fill("#email", address)
                    page.locator("form.sign-form button[type=submit]").click()
                    page.wait_for_load_state()
                    message = delivered_mail(Path(name) / "mail", address)
                    mail_html = html_part(message)
                    found = re.search(r'href="([^"]*/confirm/[^"]+)"', mail_html)
                    if found is None:
                        raise RuntimeError("the confirmation mail has no confirmation link")
                    confirm_url = found[1].replace("&amp;", "&")
                # A blank page first: the pages before it forbid inline styles, as a mail
                # program does not.
                page.goto("about:blank")
                page.set_content(mail_html)
                shoot(page, HERE / f"mail-{language}-{width}.png")
                page.goto(confirm_url)
                shoot(page, HERE / f"confirm-{language}-{width}.png")
                context.close()
            print(f"{language}: done", flush=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
