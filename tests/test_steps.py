"""A campaign page's steps in the order of the petition file's ``steps:`` list: what the loader
refuses, the default order, the order on every page that shows steps (hosted and widget), and
that every step works as plain HTML, without JavaScript."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from markupsafe import Markup
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.petitions.editing import (
    PetitionInvalid,
    create_petition,
    petition_as_data,
    update_petition,
)
from petitionkit.petitions.loader import PetitionFileError, parse_petition
from petitionkit.petitions.models import Petition
from petitionkit.plugins import ActionStep, PluginConfigError, calls
from petitionkit.plugins.events import LIFECYCLE
from petitionkit.signatures.models import Signature
from petitionkit.signatures.tokens import Purpose, make_token
from petitionkit.testing import sign_and_confirm

from .conftest import make_app

# Every step set up: a letter from the signer's own mail program, a call, reported actions,
# share texts and a request for stories.
CAMPAIGN = """---
title: Free the river keepers
status: open
goal: 500
allowed_origins: [http://127.0.0.1:8000]
letter:
  subject: Release the river keepers
  sample: Please release the river keepers.
  via: both
targets:
  - name: Ilse Marrow
    title: Consul
    email: consul@example.org
    phone: "+99 555 0100 200"
    hours: Mon–Fri 09:00–12:00
    timezone: Europe/Brussels
report_actions:
  - key: called
    label: I called the consulate
    outcomes: [reached, voicemail]
  - key: wrote
    label: I wrote to the consul
call:
  script: Hello, I am calling about **the river keepers**.
stories:
  prompt: Were you questioned about the river? Tell us.
share:
  hashtags: [RiverKeepers]
  posts: [Free the river keepers. Sign with me.]
{steps}---
The river keepers were detained for measuring the water.
"""
# Each step's heading, by step name: how a page's order is read.
HEADINGS = {"letter": 'id="write-heading"', "call": 'id="call-heading"',
            "report": 'id="report-heading"', "share": 'id="share-heading"',
            "story": 'id="story-heading"'}


def load(app: Flask, tmp_path: Path, steps: str = "", slug: str = "river") -> str:
    path = tmp_path / f"{slug}.md"
    path.write_text(CAMPAIGN.replace("{steps}", steps), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["petition", "load", str(path)])
    assert result.exit_code == 0, result.output
    app.extensions["petitionkit.summary_cache"].clear()
    return slug


def order_on(text: str) -> list[str]:
    """The steps a page shows, in its order (inside the steps' region only)."""
    assert text.count('id="pk-steps"') == 1, "the page has one steps region"
    region = text[text.index('id="pk-steps"'):]
    places = {name: region.find(marker) for name, marker in HEADINGS.items()}
    return sorted((name for name, place in places.items() if place >= 0), key=places.__getitem__)


def confirmed_page(app: Flask, slug: str) -> str:
    signature_id = sign_and_confirm(app, slug, "Ana Reyes", "ana@example.org")
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        token = make_token(app.config["SECRET_KEY"], Purpose.CONFIRM, signature_id,
                           signature.token_nonce)
    return str(app.test_client().get(f"/confirm/{token}").text)


def pages(app: Flask, slug: str) -> dict[str, str]:
    """The pages after signing, hosted and in the widget, which show every step."""
    client = app.test_client()
    return {path: client.get(path).text for path in
            (f"/p/{slug}/check-email", f"/embed/{slug}/check-email")}


def hosted(app: Flask, slug: str) -> str:
    """The petition's page, before signing: the steps but sharing."""
    return str(app.test_client().get(f"/p/{slug}").text)


# The loader.

def parse(app: Flask, steps: Any, **meta: Any) -> dict[str, Any]:
    front = yaml.safe_load(CAMPAIGN.split("---")[1].replace("{steps}", ""))
    front.update(meta, steps=steps)
    for key in [key for key, value in meta.items() if value is None]:
        front.pop(key)
    return parse_petition("river.md", front, "Body", calls.petition_sections(app),
                          calls.step_names(app))


@pytest.mark.parametrize(("steps", "meta", "message"), [
    (["sign", "fax"], {}, "steps: unknown step 'fax'; the steps are sign, letter, report, share"),
    ([3], {}, "steps: unknown step 3"),
    ("call", {}, "steps must be a list of step names"),
    ([], {}, "steps must be a list of step names"),
    (["call", "call"], {}, "steps lists 'call' twice"),
    (["call", "sign"], {}, "steps: sign comes first"),
    (["sign", "call"], {"call": None}, "steps: call needs a call: section"),
    (["call"], {"targets": [{"name": "Ilse Marrow", "email": "consul@example.org"}]},
     "steps: call needs a target with a phone number"),
    (["call"], {"call": {"script": "Hello", "targets": ["Someone Else"]}},
     "steps: call needs a target with a phone number"),
    (["letter"], {"letter": {"sample": "Please."}},
     "steps: letter is the letter from the signer's own mail program"),
    (["letter"], {"targets": [{"name": "Ilse Marrow", "phone": "+99 555 0100 200"}],
                  "call": None}, "steps: letter needs a target with an email address"),
    (["report"], {"report_actions": None}, "steps: report needs report_actions"),
    (["story"], {"stories": None}, "steps: story needs a stories: section"),
])
def test_the_loader_refuses_steps_the_petition_cannot_show(
    app: Flask, steps: Any, meta: dict[str, Any], message: str
) -> None:
    with pytest.raises(PetitionFileError) as refused:
        parse(app, steps, **meta)
    assert refused.value.key == "steps", "the workspace shows it beside the steps"
    assert refused.value.message.startswith(message), refused.value.message


def test_steps_and_a_goal_ladder_together(app: Flask) -> None:
    values = parse(app, ["sign", "call", "story"], goal_ladder=[100, 1000])
    assert values["goal_settings"] == {"ladder": [100, 1000]}
    assert values["sections"]["steps"] == ["sign", "call", "story"]


def test_steps_are_kept_with_the_sections_and_written_back(app: Flask, tmp_path: Path) -> None:
    assert parse(app, ["sign", "share", "call"])["sections"]["steps"] == ["sign", "share", "call"]
    assert "steps" not in parse(app, None)["sections"], "no list: the default order"
    load(app, tmp_path, "steps: [sign, story, call]\n")
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == "river"))
        assert petition is not None
        assert petition.sections["steps"] == ["sign", "story", "call"]
        # The workspace's form and the write API read the petition back with its steps.
        assert petition_as_data(petition)["steps"] == ["sign", "story", "call"]
        petition.front_matter = None
        assert petition_as_data(petition)["steps"] == ["sign", "story", "call"]


def test_a_plugin_step_named_like_the_engines_is_refused(tmp_path: Path,
                                                        migrated_sqlite: Path) -> None:
    with pytest.raises(PluginConfigError, match="step 'Call!'"):
        ActionStep("Call!", Markup("<section></section>"))
    plugins = tmp_path / "instance" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "own_share.py").write_text(
        "from petitionkit import hookimpl\n\n\n@hookimpl\ndef petitionkit_step_names():\n"
        "    return {'share': lambda values: None}\n", encoding="utf-8")
    with pytest.raises(PluginConfigError, match="two steps are named 'share'"):
        make_app(tmp_path, migrated_sqlite)


# The pages.

def test_without_steps_the_order_is_the_one_before_the_key(app: Flask, tmp_path: Path) -> None:
    slug = load(app, tmp_path)
    plugin_steps = [name for name in order_on(hosted(app, slug)) if name in ("call", "story")]
    assert sorted(plugin_steps) == ["call", "story"]
    expected = ["letter", *plugin_steps, "report", "share"]
    for path, text in pages(app, slug).items():
        assert order_on(text) == expected, path
    assert order_on(confirmed_page(app, slug)) == expected
    assert order_on(hosted(app, slug)) == ["letter", *plugin_steps, "report"]


@pytest.mark.parametrize("steps", [
    ["sign", "share", "story", "report", "call", "letter"],
    ["call", "report"],
    ["story", "letter", "share"],
])
def test_the_file_s_order_on_the_hosted_page_and_in_the_widget(
    app: Flask, tmp_path: Path, steps: list[str]
) -> None:
    slug = load(app, tmp_path, f"steps: [{', '.join(steps)}]\n")
    expected = [name for name in steps if name != "sign"]
    for path, text in pages(app, slug).items():
        assert order_on(text) == expected, path
    assert order_on(confirmed_page(app, slug)) == expected
    # The hosted page: the form first, the steps after it; sharing once one has signed.
    page = hosted(app, slug)
    assert order_on(page) == [name for name in expected if name != "share"]
    assert 'class="sign-form"' in page, "the form is shown whether steps lists sign or not"
    assert page.index('id="sign-heading"') < page.index('id="pk-steps"')


def test_an_unnamed_plugin_step_follows_the_listed_ones(tmp_path: Path,
                                                        migrated_sqlite: Path) -> None:
    plugins = tmp_path / "instance" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "old_style.py").write_text(
        "from markupsafe import Markup\nfrom petitionkit import hookimpl\n\n\n@hookimpl\n"
        "def petitionkit_action_steps(petition, embed):\n"
        "    return [Markup('<section><h2 id=\"old-heading\">Old</h2></section>')]\n",
        encoding="utf-8")
    app = make_app(tmp_path, migrated_sqlite)
    slug = load(app, tmp_path, "steps: [sign, share, call]\n")
    for path, text in pages(app, slug).items():
        assert text.index('id="share-heading"') < text.index('id="call-heading"') \
            < text.index('id="old-heading"'), path
    default = load(app, tmp_path, slug="river-default")
    text = hosted(app, default)
    assert text.index('id="write-heading"') < text.index('id="old-heading"') \
        < text.index('id="report-heading"'), "in plugin order, before the report"


class Forms(HTMLParser):
    """Every form and link of the steps' region, as a browser without JavaScript sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str | None]] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id") == "pk-steps":
            self.depth = 1
        elif self.depth and tag == "div":
            self.depth += 1
        if self.depth and tag == "form":
            self.forms.append(values)

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag == "div":
            self.depth -= 1


def test_every_step_works_without_javascript(app: Flask, tmp_path: Path) -> None:
    slug = load(app, tmp_path, "steps: [sign, call, letter, report, share, story]\n")
    client = app.test_client()
    for path, text in {**pages(app, slug), f"/p/{slug}": hosted(app, slug)}.items():
        parser = Forms()
        parser.feed(text)
        actions = {(form.get("method"), form.get("action")) for form in parser.forms}
        # The call and report forms post to the engine's own route; the share form is a GET
        # to the engine's Mastodon page, which works without the script too.
        shared = set() if path == f"/p/{slug}" else {("get", "/share/mastodon")}
        assert actions == {("post", f"/p/{slug}/report"), *shared}, path
        assert 'href="mailto:consul@example.org?' in text, path
        assert "/story" in text and 'href="tel:+995550100200"' in text, path

    # "I called", as a browser without JavaScript sends it from the call step.
    thanked = client.post(f"/p/{slug}/report", data={"action": "called", "outcome": "reached"})
    assert thanked.status_code == 200
    text = thanked.text
    assert re.search(r'<div class="steps" id="pk-steps" tabindex="-1" role="region" '
                     r'aria-labelledby="status-heading" data-focus>\s*<h1', text), \
        "the outcome opens the region the script focuses"
    assert order_on(text) == ["call", "letter", "share", "story"], "the report is done"

    # The same from the widget: its pages stay in the frame and keep the order.
    framed = client.post(f"/p/{slug}/report", data={"action": "wrote", "embed": "1"})
    assert framed.status_code == 200
    assert 'class="pk-embed' in framed.text
    assert order_on(framed.text) == ["call", "letter", "share", "story"]



def test_the_workspace_and_the_write_api_check_steps_as_a_file_is_checked(app: Flask) -> None:
    """Both edit through one service; a plugin's step is known there as in the CLI."""
    data = {"slug": "web-river", "title": "The river, from the workspace", "status": "open",
            "body": "Free them.", "call": {"script": "Hello"},
            "targets": [{"name": "Ilse Marrow", "phone": "+99 555 0100 200"}]}
    with app.test_request_context():
        def create(values: dict[str, Any]) -> Petition:
            return create_petition(db.session(), values, "ana@example.org",
                                   calls.petition_sections(), LIFECYCLE.of(app),
                                   steps=calls.step_names())

        with pytest.raises(PetitionInvalid) as refused:
            create({**data, "steps": ["sign", "report"]})
        assert refused.value.errors == {"steps": "steps: report needs report_actions: the "
                                                 "actions signers can report"}
        db.session.rollback()
        petition = create({**data, "steps": ["sign", "call", "share"]})
        assert petition.sections["steps"] == ["sign", "call", "share"]
        changed = update_petition(db.session(), petition, {"steps": ["call"]}, "ana@example.org",
                                  calls.petition_sections(), LIFECYCLE.of(app),
                                  steps=calls.step_names())
        assert changed == ["sections"]
    assert order_on(app.test_client().get("/p/web-river/check-email").text) == ["call"]
