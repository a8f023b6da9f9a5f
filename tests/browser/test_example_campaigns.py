"""Each example campaign of examples/petitions/, run in real Chromium the way its organisers
need it, on the hosted page and through the widget on another site's page: sign (as an
organisation, approved from the CLI, where the petition asks organisations), write from the
sample letter, take the steps in the file's order ("I called", a report of what was done),
add signatures gathered on paper and see the total, on the page and in the widget; axe finds
nothing serious after each step; the Arabic petition is laid out right to left, and so is a
campaign of several steps read in Arabic. A letter the engine sends carries the signer's own
words from the sample."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.petitions.models import ORGANIZATIONS, PEOPLE, Petition
from petitionkit.petitions.steps import DEFAULT_ORDER, PLUGIN_STEPS

from ..smtp import link_from
from .conftest import Engine, HostSite, axe_violations, host_page, snippet

if TYPE_CHECKING:
    from email.message import EmailMessage

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "petitions"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.md"))
# A campaign of several steps: a call, reported actions, sharing, a story.
MULTI_STEP = EXAMPLES_DIR / "urgent-action-lu-yunfei.md"
OWN_WORDS = "I teach in a school like hers."
# The heading that opens each step, by step name.
STEP_HEADINGS = {"letter": "write-heading", "call": "call-heading", "report": "report-heading",
                 "share": "share-heading", "story": "story-heading"}
PAPER = 25
# A function, not an expression: the engine's pages forbid eval, which an expression needs.
FOCUS_ON_STEPS = ("() => document.activeElement !== null"
                  " && document.activeElement.id === 'pk-steps'")


def load_example(engine: Engine, path: Path, host_origin: str) -> Petition:
    """The example loaded as `make demo` loads it; the test's host site joins the demo site's
    origins, since the example names the demo's ports."""
    result = engine.app.test_cli_runner().invoke(args=["petition", "load", str(path)])
    assert result.exit_code == 0, result.output
    with engine.app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == path.stem))
        assert petition is not None
        petition.allowed_origins = [*petition.allowed_origins, host_origin]
        db.session.commit()
        db.session.refresh(petition)
        db.session.expunge(petition)
    engine.app.extensions["petitionkit.summary_cache"].clear()
    return petition


def expected_steps(petition: Petition) -> list[str]:
    """The steps the file sets up, in its order (or the default one)."""
    listed = (petition.sections or {}).get("steps")
    if listed:
        return [name for name in listed if name != "sign"]
    order: list[str] = []
    for name in DEFAULT_ORDER:
        if name == PLUGIN_STEPS:
            order += [step for step, key in (("call", "call"), ("story", "stories"))
                      if key in (petition.sections or {})]
        elif name == "letter":
            if (petition.letter or {}).get("via") in ("signer", "both"):
                order.append(name)
        elif name != "report" or petition.report_actions:
            order.append(name)
    return order


def steps_on(frame: Any) -> list[str]:
    headings = frame.eval_on_selector_all("#pk-steps h2[id]", "nodes => nodes.map(n => n.id)")
    names = {heading: name for name, heading in STEP_HEADINGS.items()}
    return [names[heading] for heading in headings]


def sign(frame: Any, petition: Petition, who: str, email: str) -> None:
    """Fill the signing form as its people would: an organisation where only organisations
    sign, the letter box kept with the sample and a sentence of one's own."""
    if ORGANIZATIONS in petition.signers:
        if PEOPLE in petition.signers:
            frame.check("#signer-organization")
        frame.fill("#organization", f"{who} Community Trust")
        frame.fill("#organization_url", "https://trust.example.org")
    frame.fill("#name", who)
    frame.fill("#email", email)
    if petition.asks_country:
        frame.select_option("#country", "KE")
    letter = frame.locator("#x-letter_text")
    if letter.count():
        sample = str((petition.letter or {}).get("sample") or "")
        assert sample and letter.input_value() == sample, "the letter box holds the sample"
        letter.fill(sample + "\n\n" + OWN_WORDS)
    frame.click("form.sign-form button[type=submit]")
    frame.wait_for_selector("#status-heading")


def take_steps(frame: Any, petition: Petition, steps: list[str]) -> None:
    """On the page after signing: the steps in the file's order, "I called", and the focus on
    the steps still open once the call is reported."""
    assert steps_on(frame) == steps
    if "letter" in steps:
        links = frame.eval_on_selector_all(".write-links a", "nodes => nodes.map(n => n.href)")
        assert links and all(link.startswith("mailto:") for link in links)
        subject = str((petition.letter or {}).get("subject") or petition.title)
        assert all("subject=" in link for link in links) and subject.split()[0] in \
            unquote(" ".join(links))
    if "call" in steps:
        assert frame.locator(".call-number a").get_attribute("href").startswith("tel:+99")
        frame.select_option("#call-outcome", "voicemail")
        frame.click("form.call-report button[type=submit]")
        frame.wait_for_function(FOCUS_ON_STEPS)
        assert steps_on(frame) == [name for name in steps if name != "report"]
        assert axe_violations(frame) == [], "after the call step"


def report(frame: Any, petition: Petition) -> None:
    first = petition.report_actions[0]["key"]
    frame.check(f"#report-{first}")
    frame.click(".report-form button[type=submit]")
    frame.wait_for_function(FOCUS_ON_STEPS)
    assert axe_violations(frame) == [], "after the report's thanks"


def mail_to(engine: Engine, address: str) -> EmailMessage:
    """The first message the loopback server received for ``address``, once it has."""
    for count in range(1, 20):
        found = [message for message in engine.smtp.wait_for(count)
                 if address in str(message["To"])]
        if found:
            return found[0]
    raise AssertionError(f"no mail to {address}")


def confirm(page: Any, engine: Engine, address: str) -> None:
    """What the signer does with the confirmation mail: open the link, press the button."""
    engine.deliver_mail()
    page.goto(link_from(mail_to(engine, address), engine.url + "/confirm/"))
    page.click("form button[type=submit]")
    page.wait_for_selector("#status-heading")


def approve(engine: Engine, slug: str, organization: str) -> None:
    """An organiser approves the one organisation waiting, from the CLI."""
    runner = engine.app.test_cli_runner()
    pending = runner.invoke(args=["signers", "pending", slug])
    [line] = pending.stdout.splitlines()
    assert organization in line
    approved = runner.invoke(args=["signers", "approve", slug, line.split("\t")[0]])
    assert approved.exit_code == 0, approved.output


def summary(engine: Engine, slug: str) -> dict[str, Any]:
    engine.app.extensions["petitionkit.summary_cache"].clear()
    with engine.app.test_client() as client:
        answer: dict[str, Any] = client.get(f"/api/v1/petitions/{slug}").json
    return answer


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_campaign(chromium: Any, engine: Engine, host_site: HostSite,
                          path: Path) -> None:
    petition = load_example(engine, path, host_site.origin)
    slug = petition.slug
    steps = expected_steps(petition)
    rtl = petition.locale == "ar"
    context = chromium.new_context()
    page = context.new_page()

    # The hosted page: the form, then the steps in the file's order.
    page.goto(f"{engine.url}/p/{slug}")
    assert page.get_attribute("html", "dir") == ("rtl" if rtl else "ltr")
    assert steps_on(page) == [name for name in steps if name != "share"], "sharing comes later"
    assert axe_violations(page) == [], "hosted page"
    sign(page, petition, "Ana Reyes", "ana@example.org")
    take_steps(page, petition, steps)

    assert engine.deliver_mail() == 1
    [message] = engine.smtp.wait_for(1)
    page.goto(link_from(message, engine.url + "/confirm/"))
    page.click("form button[type=submit]")
    page.wait_for_selector("#status-heading")
    assert steps_on(page) == steps
    assert axe_violations(page) == [], "after confirming"
    counted_before = summary(engine, slug)["actions"]
    if petition.report_actions:
        report(page, petition)
        key = petition.report_actions[0]["key"]
        assert summary(engine, slug)["actions"].get(key, 0) == counted_before.get(key, 0) + 1

    # An organisation shows, and counts, once an organiser approves it.
    runner = engine.app.test_cli_runner()
    if ORGANIZATIONS in petition.signers:
        assert summary(engine, slug)["organizations"] == 0
        approve(engine, slug, "Ana Reyes Community Trust")
        assert summary(engine, slug)["organizations"] == 1
        page.goto(f"{engine.url}/p/{slug}")
        assert page.get_by_text("Ana Reyes Community Trust").first.is_visible()
        assert axe_violations(page) == [], "with the organisation approved"

    # Signatures gathered on paper join the total, on the page too.
    added = runner.invoke(args=["petition", "offline", slug, "--add", str(PAPER),
                                "--note", "Market stall"])
    assert added.exit_code == 0, added.output
    totals = summary(engine, slug)
    assert totals["offline"] == PAPER and totals["total"] == totals["count"] + PAPER
    if (petition.goal_settings or {}).get("counts") != ORGANIZATIONS:
        # (A joint letter's page counts the organisations; the API has its total.)
        page.goto(f"{engine.url}/p/{slug}")
        assert page.get_attribute("#pk-count", "data-count") == str(totals["total"])

    # The widget on the organisation's own site: the same campaign inside its frame.
    url = host_site.page(f"/{slug}", host_page(snippet(engine, slug), lang=petition.locale))
    page.goto(url)
    frame = page.wait_for_selector("iframe").content_frame()
    frame.wait_for_selector("form.sign-form")
    assert frame.get_attribute("html", "dir") == ("rtl" if rtl else "ltr")
    if (petition.goal_settings or {}).get("counts") != ORGANIZATIONS:
        assert frame.get_attribute("#pk-count", "data-count") == str(totals["total"]), \
            "the paper signatures are in the widget's total"
    sign(frame, petition, "Bo Lindqvist", "bo@example.org")
    assert frame.get_attribute("html", "data-stage") == "submitted"
    assert axe_violations(frame) == [], "widget's steps"
    take_steps(frame, petition, steps)
    if petition.report_actions:
        anonymous_before = summary(engine, slug)["actions_anonymous"]
        frame.goto(f"{engine.url}/embed/{slug}/check-email")
        report(frame, petition)
        key = petition.report_actions[0]["key"]
        assert summary(engine, slug)["actions_anonymous"].get(key, 0) > \
            anonymous_before.get(key, 0), "a report from the widget, shown apart"

    # The organisation signed in the widget, once approved, is listed in the widget.
    if ORGANIZATIONS in petition.signers:
        confirm(context.new_page(), engine, "bo@example.org")
        approve(engine, slug, "Bo Lindqvist Community Trust")
        engine.app.extensions["petitionkit.summary_cache"].clear()
        page.goto(url)
        frame = page.wait_for_selector("iframe").content_frame()
        listed = frame.wait_for_selector("section.organizations")
        assert "Bo Lindqvist Community Trust" in listed.inner_text()
        assert axe_violations(frame) == [], "widget with the organisation approved"
    context.close()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_example_pages_fit_a_small_phone_in_arabic(chromium: Any, engine: Engine,
                                                  host_site: HostSite, path: Path) -> None:
    """At 320 px, read right to left, nothing runs off the side: not the hidden field that
    catches robots, not the markers of lists in the petition's own direction."""
    petition = load_example(engine, path, host_site.origin)
    context = chromium.new_context(viewport={"width": 320, "height": 900}, locale="ar")
    page = context.new_page()
    page.goto(f"{engine.url}/p/{petition.slug}?lang=ar")
    assert page.get_attribute("html", "dir") == "rtl"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "nothing runs off the side of the page"
    context.close()


def test_a_letter_the_engine_sends_carries_the_words_written_in_the_widget(
    chromium: Any, engine: Engine, host_site: HostSite
) -> None:
    """No example has the engine deliver its letters (their delivery is off until an organiser
    turns it on), so this letter campaign is the test's own: the signer edits the sample in the
    widget on another site, confirms, and the letter reaches the official's mail server."""
    sample = ("I am writing to ask you to release Rosa, a teacher held for a petition.\n\n"
              "Please let her see her lawyer and her family.")
    slug = engine.add_petition(
        slug="write-to-the-director", title="Write to the director", body="Campaign text.",
        allowed_origins=[host_site.origin],
        targets=[{"name": "Aurel Vantic", "title": "Director", "email": "director@example.gov",
                  "salutation": "Dear Director Vantic,", "languages": ["en"]}],
        letter={"delivery": "live", "editable": True, "sample": sample, "via": "engine",
                "batch": False, "subject": "Release Rosa"},
    )
    with engine.app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        assert petition is not None
        db.session.expunge(petition)
    context = chromium.new_context()
    page = context.new_page()
    page.goto(host_site.page(f"/{slug}", host_page(snippet(engine, slug))))
    frame = page.wait_for_selector("iframe").content_frame()
    frame.wait_for_selector("form.sign-form")
    sign(frame, petition, "Cleo Marsh", "cleo@example.org")
    confirm(context.new_page(), engine, "cleo@example.org")
    for _attempt in range(5):  # the routing job, then the letter's own
        engine.deliver_mail()
        if any("director@example.gov" in str(message["To"]) for message in engine.smtp.messages):
            break
    letter = mail_to(engine, "director@example.gov")
    assert letter["Subject"] == "Release Rosa"
    body = letter.get_body(preferencelist=("plain",))
    assert body is not None
    text = str(body.get_content()).replace("\r\n", "\n")
    assert text.startswith("Dear Director Vantic,\n\nI am writing to ask you to release Rosa")
    assert "Please let her see her lawyer and her family.\n\n" + OWN_WORDS in text
    assert "Campaign text." not in text
    context.close()


# Each step's heading and the first label, field or button of each form start at the
# right-hand edge, and nothing runs off the side. A function, not an expression (the engine's
# pages forbid eval).
RIGHT_TO_LEFT = """() => {
  const problems = [];
  const steps = document.getElementById("pk-steps");
  if (getComputedStyle(steps).direction !== "rtl") problems.push("steps not rtl");
  // Where the last line of a label's or a heading's words is, whether or not its box fills
  // the line: read from the right, it starts at the right, however short it is.
  const words = node => {
    const range = document.createRange();
    range.selectNodeContents(node);
    const lines = [...range.getClientRects()];
    const bottom = Math.max(...lines.map(line => line.bottom));
    // (Runs of Arabic and Latin on one line have boxes of slightly different heights.)
    const last = lines.filter(line => line.bottom > bottom - 8);
    return {right: Math.max(...last.map(line => line.right))};
  };
  const atRight = (own, box) => Math.abs(own.right - box.right) <= 2;
  for (const heading of steps.querySelectorAll("h2[id]")) {
    if (!atRight(words(heading), heading.getBoundingClientRect()))
      problems.push(heading.id + " not at the right");
  }
  for (const form of steps.querySelectorAll("form")) {
    const [first] = [...form.querySelectorAll("label, input, select, textarea, button")]
      .filter(control => control.getClientRects().length);
    const own = first.tagName === "LABEL" ? words(first) : first.getBoundingClientRect();
    if (!atRight(own, form.getBoundingClientRect()))
      problems.push(form.className + " does not start at the right");
  }
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  if (overflow > 0) problems.push("overflows by " + overflow + "px");
  return problems;
}"""


def laid_out_right_to_left(page: Any, frame: Any) -> None:
    """At a small phone's width and a desktop's, the steps read from the right."""
    for width in (320, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        # The widget's frame follows its host page's width.
        page.wait_for_function("w => document.documentElement.clientWidth === w", arg=width)
        assert frame.get_attribute("html", "dir") == "rtl"
        assert frame.evaluate(RIGHT_TO_LEFT) == [], width
        if frame is not page.main_frame:
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the host page overflows at {width}px"


def test_a_campaign_of_several_steps_in_arabic(chromium: Any, engine: Engine,
                                               host_site: HostSite) -> None:
    """The urgent action read in Arabic, on the hosted page and in the widget: signed, then
    its steps, laid out right to left."""
    petition = load_example(engine, MULTI_STEP, host_site.origin)
    slug = petition.slug
    steps = expected_steps(petition)
    context = chromium.new_context(locale="ar")
    page = context.new_page()
    page.goto(f"{engine.url}/p/{slug}?lang=ar")
    assert page.get_attribute("html", "lang") == "ar"
    sign(page, petition, "ليلى حداد", "layla@example.org")
    laid_out_right_to_left(page, page.main_frame)
    take_steps(page, petition, steps)

    url = host_site.page(f"/{slug}-ar", host_page(snippet(engine, slug, lang="ar"), lang="ar"))
    page.goto(url)
    frame = page.wait_for_selector("iframe").content_frame()
    frame.wait_for_selector("form.sign-form")
    assert frame.get_attribute("html", "lang") == "ar"
    sign(frame, petition, "سامي نصر", "sami@example.org")
    laid_out_right_to_left(page, frame)
    take_steps(frame, petition, steps)
    context.close()
