"""Screenshots of the organisers' workspace (/admin), in three languages and two widths.

    python docs/screenshots/workspace.py [PAGE…]     (or: make screenshots)

The example petitions are served as ``make demo`` serves them (examples/demo_server.py); a few
signatures are made and confirmed through the hosted page and the mail the engine delivered, an
owner account is added with ``petitionkit users add --password-stdin`` and signs in through the
sign-in pages with a TOTP code, as a person with an authenticator app would. Debian's Chromium
(Playwright) then opens each workspace page at 320 px and at 1280 px, with the browser asking for
English, Chinese and Arabic. The pictures are written next to this script as
``workspace-PAGE-LANGUAGE-WIDTH.png``, reduced to 256 colours.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyotp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent / "examples"))

from demo_server import example_env, serving_examples  # noqa: E402
from take import CHROMIUM, CHROMIUM_ARGS, SETTINGS, WIDTHS, delivered_mail, html_part, shoot  # noqa: E402

OWNER = "owner@lantern.example"
PASSWORD = "a long example passphrase"
LANGUAGES = ("en", "zh", "ar")
SLUG = "bring-daniel-home"
# Each page of the workspace worth a picture: name -> path.
PAGES = {
    "petitions": "/admin/",
    "petition-new": "/admin/petitions/new",
    "petition-edit": "/admin/p/SLUG/edit",
    "users": "/admin/users",
    "audit": "/admin/audit",
}


def sign_some(browser: Any, url: str, folder: Path, count: int) -> None:
    """``count`` signatures on the English example, confirmed through their mail."""
    context = browser.new_context()
    page = context.new_page()
    for number in range(count):
        address = f"supporter-{number}@example.org"
        page.goto(f"{url}/p/{SLUG}")
        page.fill("#name", f"Supporter {number}")
        page.fill("#email", address)
        page.locator("form.sign-form button[type=submit]").click()
        page.wait_for_load_state()
        found = re.search(r'href="([^"]*/confirm/[^"]+)"',
                          html_part(delivered_mail(folder / "mail", address)))
        if found is None:
            raise RuntimeError("the confirmation mail has no confirmation link")
        page.goto(found[1].replace("&amp;", "&"))
        page.locator("button.sign-button").click()
        page.wait_for_load_state()
    context.close()


def signed_in_state(browser: Any, url: str) -> Any:
    """Sign the owner in through the pages (password, then TOTP set-up) and keep its cookie."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/admin/login")
    page.fill("input[name=email]", OWNER)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    secret = page.locator("code.secret").first.inner_text().strip()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    state = context.storage_state()
    context.close()
    return state


def main(only: list[str]) -> int:
    if not Path(CHROMIUM).exists():
        print(f"No Chromium at {CHROMIUM} (`apt-get install chromium`)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    pages = {name: path for name, path in PAGES.items() if not only or name in only}
    with tempfile.TemporaryDirectory() as name, \
            serving_examples(Path(name), server="run", settings=SETTINGS) as url, \
            sync_playwright() as driver:
        folder = Path(name)
        env = example_env(folder, url, "run", SETTINGS)
        subprocess.run([str(Path(sys.executable).parent / "petitionkit"), "users", "add", OWNER,
                        "--role", "owner", "--password-stdin"], input=PASSWORD + "\n",
                       text=True, env=env, check=True, capture_output=True)
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        sign_some(browser, url, folder, 6)
        state = signed_in_state(browser, url)
        for language in LANGUAGES:
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": 900},
                                              locale=language, storage_state=state)
                page = context.new_page()
                for page_name, path in pages.items():
                    answer = page.goto(url + path.replace("SLUG", SLUG))
                    if answer is None or answer.status != 200:
                        raise RuntimeError(f"{path} answered {answer and answer.status}")
                    shoot(page, HERE / f"workspace-{page_name}-{language}-{width}.png")
                context.close()
            print(f"{language}: done", flush=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
