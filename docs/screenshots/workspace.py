"""Screenshots of the organisers' workspace (/admin), in three languages and two widths.

    python docs/screenshots/workspace.py [PAGE…]     (or: make screenshots)

The example petitions are served as ``make demo`` serves them (examples/demo_server.py); a few
signatures are made and confirmed through the hosted page and the mail the engine delivered, an
owner account is added with ``petitionkit users add --password-stdin`` and signs in through the
sign-in pages with a TOTP code, as a person with an authenticator app would; a wave of
signatures from one domain is invalidated through the moderation page. Debian's Chromium
(Playwright) then opens each workspace page at 320 px and at 1280 px, with the browser asking for
English, Chinese and Arabic, and the pages before signing in (sign-in, choosing a password,
setting up the second factor) the same way. The pictures are written next to this script as
``workspace-PAGE-LANGUAGE-WIDTH.png``, reduced to 256 colours; they are not committed.
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
# An account with a password and no second factor yet: its sign-in stops at the set-up page.
NEWCOMER = "newcomer@lantern.example"
PASSWORD = "a long example passphrase"
LANGUAGES = ("en", "zh", "ar")
SLUG = "bring-daniel-home"
# Each page of the workspace worth a picture: name -> path (RUN: the number of the bulk
# invalidation made below; a page whose name is in SEARCHES is shown after that search).
PAGES = {
    "petitions": "/admin/",
    "petition-new": "/admin/petitions/new",
    "petition-edit": "/admin/p/SLUG/edit",
    "figures": "/admin/p/SLUG",
    "moderation": "/admin/p/SLUG/signatures",
    "moderation-found": "/admin/p/SLUG/signatures",
    "moderation-run": "/admin/p/SLUG/invalidations/RUN",
    "downloads": "/admin/p/SLUG/downloads",
    "users": "/admin/users",
    "tokens": "/admin/tokens",
    "outbox": "/admin/outbox",
    "audit": "/admin/audit",
}
SEARCHES = {"moderation-found": "Omar"}
# The pages before signing in: name -> path (SETUP: a one-time link to choose a password).
SIGN_IN_PAGES = {
    "login": "/admin/login",
    "setup": "SETUP",
    "enrol": "/admin/login/enrol",
}
# Fictional signers: the supporters, then a wave from one domain that is invalidated.
SUPPORTERS = {"Amina Yusuf": "amina@example.org", "Lin Wei": "lin@example.org",
              "Omar Haddad": "omar@example.org", "Sofia Costa": "sofia@example.org",
              "Jonas Berg": "jonas@example.org", "Priya Nair": "priya@example.org"}
WAVE = {f"Bot Number{number}": f"wave-{number}@spam.example" for number in range(3)}


def sign_some(browser: Any, url: str, folder: Path, signers: dict[str, str]) -> None:
    """A signature from each signer (name -> address) on the English example, confirmed through
    its mail; every other signer asks to be named."""
    context = browser.new_context()
    page = context.new_page()
    for number, (name, address) in enumerate(signers.items()):
        page.goto(f"{url}/p/{SLUG}")
        page.fill("#name", name)
        page.fill("#email", address)
        if number % 2 == 0:
            page.check("#show_name")
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


def invalidate_wave(browser: Any, url: str, state: Any) -> str:
    """The signatures from WAVE's domain invalidated through the moderation page; the run's
    number once the engine's own worker has finished it."""
    context = browser.new_context(storage_state=state)
    page = context.new_page()
    page.goto(f"{url}/admin/p/{SLUG}/signatures")
    page.fill("#domain", "spam.example")
    page.locator("form[action$='/invalidations/preview'] button[type=submit]").click()
    page.fill("#bulk-reason", "One domain, three signatures in a minute")
    page.locator("form[action$='/invalidations'] button[type=submit]").click()
    page.wait_for_selector("#run-progress[data-running=false]", timeout=30_000)
    number = page.url.rsplit("/", 1)[1]
    context.close()
    return number


def account_less(browser: Any, url: str, language: str, width: int, setup_link: str) -> None:
    """The sign-in pages, as someone who is not signed in sees them."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=language)
    page = context.new_page()
    for page_name, path in SIGN_IN_PAGES.items():
        if page_name == "enrol":
            page.goto(f"{url}/admin/login")
            page.fill("input[name=email]", NEWCOMER)
            page.fill("input[name=password]", PASSWORD)
            page.locator("form button[type=submit]").click()
            page.wait_for_load_state()
            if not page.url.endswith(path):
                raise RuntimeError(f"the newcomer's sign-in went to {page.url}")
        else:
            answer = page.goto(setup_link if path == "SETUP" else url + path)
            if answer is None or answer.status != 200:
                raise RuntimeError(f"{path} answered {answer and answer.status}")
        shoot(page, HERE / f"workspace-{page_name}-{language}-{width}.png")
    context.close()


def petitionkit(env: dict[str, str], *args: str, password: str | None = None) -> str:
    command = [str(Path(sys.executable).parent / "petitionkit"), *args]
    if password is not None:
        command.append("--password-stdin")
    done = subprocess.run(command, input=(password or "") + "\n", text=True, env=env,
                          check=True, capture_output=True)
    return done.stdout


def main(only: list[str]) -> int:
    if not Path(CHROMIUM).exists():
        print(f"No Chromium at {CHROMIUM} (`apt-get install chromium`)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    pages = {name: path for name, path in PAGES.items() if not only or name in only}
    signing_in = not only or any(name in SIGN_IN_PAGES for name in only)
    with tempfile.TemporaryDirectory() as name, \
            serving_examples(Path(name), server="run", settings=SETTINGS) as url, \
            sync_playwright() as driver:
        folder = Path(name)
        env = example_env(folder, url, "run", SETTINGS)
        petitionkit(env, "users", "add", OWNER, "--role", "owner", password=PASSWORD)
        petitionkit(env, "users", "add", NEWCOMER, "--role", "editor", password=PASSWORD)
        petitionkit(env, "tokens", "create", "--role", "editor", "--name", "Newsletter sync")
        added = petitionkit(env, "users", "add", "moderator@lantern.example", "--role",
                            "moderator")
        found = re.search(r"(http://\S+/admin/setup/\S+)", added)
        if found is None:
            raise RuntimeError(f"no set-up link in: {added}")
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        sign_some(browser, url, folder, {**SUPPORTERS, **WAVE})
        state = signed_in_state(browser, url)
        run = invalidate_wave(browser, url, state)
        for language in LANGUAGES:
            for width in WIDTHS:
                if signing_in:
                    account_less(browser, url, language, width, found[1])
                context = browser.new_context(viewport={"width": width, "height": 900},
                                              locale=language, storage_state=state)
                page = context.new_page()
                for page_name, path in pages.items():
                    answer = page.goto(url + path.replace("SLUG", SLUG).replace("RUN", run))
                    if answer is None or answer.status != 200:
                        raise RuntimeError(f"{path} answered {answer and answer.status}")
                    if page_name in SEARCHES:
                        page.fill("#name", SEARCHES[page_name])
                        page.locator("form.search-form button[type=submit]").click()
                        page.wait_for_load_state()
                    shoot(page, HERE / f"workspace-{page_name}-{language}-{width}.png")
                context.close()
            print(f"{language}: done", flush=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
