"""axe on every page of the workspace, in English and in Arabic (right to left), and no page that
scrolls sideways on a 320 px phone.

The pages are read from the app's routes, so a new page of the workspace fails here until it is
given an address below and passes axe: every GET rule under /admin is either a page a signed-in
owner opens or one of the sign-in pages, which are visited on the way in."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from petitionkit.extensions import db
from petitionkit.outbox import services as outbox
from petitionkit.testing import sign_and_confirm

from ..admin import Enrolled, add_user
from .conftest import Engine, axe_violations, screenshot

OWNER = "owner@lantern.example"
PASSWORD = "a long passphrase of several words"
SLUG = "free-the-poet"
# The sign-in pages: visited on the way in, before there is a session.
SIGN_IN_RULES = {"/admin/login", "/admin/login/enrol", "/admin/login/second-factor",
                 "/admin/setup/<token>"}


def workspace_get_rules(engine: Engine) -> set[str]:
    return {rule.rule for rule in engine.app.url_map.iter_rules()
            if rule.rule.startswith("/admin/") and rule.methods and "GET" in rule.methods}


def assert_accessible(page: Page, what: str) -> None:
    assert axe_violations(page.main_frame) == [], what


def sideways_overflow(page: Page) -> list[str]:
    """What sticks out of a phone's screen when the page scrolls sideways: the outermost
    elements past its edges (a wide table scrolls inside its own box and is not counted)."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        if (document.documentElement.scrollWidth <= width) return [];
        const out = e => { const box = e.getBoundingClientRect();
                           return box.right > width + 1 || box.left < -1; };
        const found = [...document.body.querySelectorAll("*")]
            .filter(e => out(e) && !(e.parentElement && out(e.parentElement)))
            .map(e => e.outerHTML.slice(0, 100));
        return found.length ? found : ["(nothing found; scrollWidth " +
                                       document.documentElement.scrollWidth + ")"];
    }""")


def a_campaign_with_history(engine: Engine) -> None:
    """Signatures of people and of organisations (one waiting for approval), and a dead job."""
    engine.add_petition(slug=SLUG, title="Free the poet", goal=10,
                        signers=["people", "organizations"])
    for number in range(3):
        sign_and_confirm(engine.app, SLUG, f"Signer Number{number}", f"s{number}@example.org",
                         show_name=True, source="newsletter" if number else None)
    sign_and_confirm(engine.app, SLUG, "Contact", "contact@harbour.example",
                     kind="organization", organization="Harbour Watch")
    with engine.app.app_context():
        job = outbox.enqueue(db.session(), "email.confirm", {"signature_id": 1})
        db.session.commit()
        claim = outbox.claim(db.session(), "worker", 10, 60)
        outbox.fail(db.session(), job.id, claim.lease, "SMTPRecipientsRefused 550",
                    outbox.RetryPolicy(1, 1, give_up_after=0))
        db.session.remove()


def sign_in_pages(engine: Engine, chromium: Any) -> tuple[Any, dict[str, str]]:
    """The sign-in pages, each checked by axe on the way; the owner's signed-in cookies."""
    added = engine.app.test_cli_runner().invoke(
        args=["users", "add", OWNER, "--role", "owner"])
    link = re.search(r"(http://127\.0\.0\.1:\d+/admin/setup/\S+)", added.output)
    assert link, added.output
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en")
    page = context.new_page()
    visited = {}
    page.goto(link.group(1))
    assert_accessible(page, "set a password")
    visited["/admin/setup/<token>"] = page.url
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Set the password").click()
    assert_accessible(page, "password set")
    page.get_by_role("link", name="Sign in").click()
    assert_accessible(page, "sign in")
    visited["/admin/login"] = page.url
    page.get_by_label("E-mail address").fill(OWNER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Set up your second factor")).to_be_visible()
    assert_accessible(page, "second factor set-up")
    visited["/admin/login/enrol"] = page.url
    enrolled = Enrolled(secret=page.locator("code.secret").first.inner_text().strip(),
                        recovery_codes=[])
    page.get_by_label("Code", exact=True).fill("000000")
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "second factor set-up, wrong code")
    page.get_by_label("Code", exact=True).fill(enrolled.code())
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page.locator(".codes li")).to_have_count(10)
    assert_accessible(page, "recovery codes")
    page.get_by_role("link", name="I have kept them: continue").click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("E-mail address").fill(OWNER)
    page.get_by_label("Password", exact=True).fill("not the password at all")
    page.get_by_role("button", name="Continue").click()
    assert_accessible(page, "sign in, wrong password")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    assert_accessible(page, "second factor")
    visited["/admin/login/second-factor"] = page.url
    page.get_by_label("Code", exact=True).fill(enrolled.code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Petitions")).to_be_visible()
    state = context.storage_state()
    context.close()
    assert set(visited) == SIGN_IN_RULES
    return state, visited


def pages_of_the_workspace(engine: Engine, page: Page) -> dict[str, str]:
    """An address for each GET rule a signed-in owner opens; what they show is made through the
    pages where the pages make it (a token, a bulk invalidation), each result checked by axe."""
    add_user(engine.app, "editor@lantern.example", "editor", PASSWORD)
    url = engine.url
    page.goto(f"{url}/admin/tokens")
    page.get_by_label("What uses it").fill("Newsletter sync")
    page.get_by_role("button", name="Create and show the token").click()
    expect(page.locator("code.secret")).to_be_visible()
    assert_accessible(page, "a new token shown once")
    page.goto(f"{url}/admin/users")
    page.get_by_label("E-mail address").fill("viewer@lantern.example")
    page.get_by_role("button", name="Add and show the link").click()
    expect(page.locator("code.secret")).to_be_visible()
    assert_accessible(page, "a new user's link")
    page.get_by_role("link", name="(change for editor@lantern.example)").click()
    user_petitions = page.url.removeprefix(url)

    page.goto(f"{url}/admin/p/{SLUG}/signatures")
    page.get_by_label("Name").fill("Signer N.")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("table.signatures tbody tr")).to_have_count(3)
    assert_accessible(page, "moderation, signatures found")
    page.get_by_label("E-mail domain").fill("example.org")
    page.get_by_role("button", name="Count the matching signatures").click()
    notice = page.locator(".notice[role=status]")
    expect(notice).to_contain_text("3 signatures match.")
    assert_accessible(page, "moderation, bulk count")
    notice.get_by_label("Reason").fill("a test of the page")
    notice.get_by_role("button", name="Invalidate 3 signatures").click()
    expect(page.get_by_role("heading", name="Bulk invalidation")).to_be_visible()
    run = page.url.removeprefix(url)
    assert_accessible(page, "bulk invalidation, running")
    engine.deliver_mail()  # finished, so the page stops refreshing itself under axe
    page.goto(f"{url}/admin/petitions/new")
    page.get_by_role("button", name="Create the petition").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    assert_accessible(page, "new petition with every error")

    return {
        "/admin/": "/admin/",
        "/admin/petitions/new": "/admin/petitions/new",
        "/admin/p/<slug>": f"/admin/p/{SLUG}",
        "/admin/p/<slug>/edit": f"/admin/p/{SLUG}/edit",
        "/admin/p/<slug>/signatures": f"/admin/p/{SLUG}/signatures",
        "/admin/p/<slug>/invalidations/<int:run_id>": run,
        "/admin/p/<slug>/downloads": f"/admin/p/{SLUG}/downloads",
        "/admin/users": "/admin/users",
        "/admin/users/<int:user_id>/petitions": user_petitions,
        "/admin/tokens": "/admin/tokens",
        "/admin/outbox": "/admin/outbox",
        "/admin/audit": "/admin/audit",
        "/admin/account": "/admin/account",
    }


def test_every_workspace_page_passes_axe_in_english_and_arabic(
    engine: Engine, chromium: Any
) -> None:
    a_campaign_with_history(engine)
    state, _sign_in = sign_in_pages(engine, chromium)
    english = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en",
                                   storage_state=state)
    page = english.new_page()
    page.set_default_timeout(10_000)
    pages = pages_of_the_workspace(engine, page)
    missing = workspace_get_rules(engine) - SIGN_IN_RULES - set(pages)
    assert not missing, f"workspace pages without an address in this test: {sorted(missing)}"
    assert set(pages) <= workspace_get_rules(engine)

    for rule, path in pages.items():
        answer = page.goto(engine.url + path)
        assert answer is not None and answer.status == 200, rule
        assert page.locator("html").get_attribute("lang") == "en"
        assert_accessible(page, rule)
    english.close()

    arabic = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="ar",
                                  storage_state=state)
    page = arabic.new_page()
    for rule, path in pages.items():
        page.goto(engine.url + path)
        assert page.locator("html").get_attribute("dir") == "rtl", rule
        assert page.locator("html").get_attribute("lang") == "ar", rule
        assert_accessible(page, f"{rule} in Arabic")
    page.goto(f"{engine.url}/admin/p/{SLUG}")
    screenshot(page, "workspace-figures-ar")
    arabic.close()

    phone = chromium.new_context(viewport={"width": 320, "height": 700}, locale="en",
                                 storage_state=state)
    page = phone.new_page()
    overflowing = {}
    for rule, path in pages.items():
        page.goto(engine.url + path)
        overflowing[rule] = sideways_overflow(page)
    assert overflowing == dict.fromkeys(pages, []), "pages that scroll sideways on a phone"
    phone.close()
