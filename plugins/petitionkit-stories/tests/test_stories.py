"""petitionkit-stories: the form without JavaScript, sealed storage, export, abuse, the notice,
the proof-of-work check asked while signing asks for it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from petitionkit_stories import story_step_missing
from petitionkit_stories.models import StoryReceived
from petitionkit_stories.section import read_stories
from sqlalchemy import select

from petitionkit.encryption import generate_key_pair
from petitionkit.extensions import db
from petitionkit.outbox.models import OutboxJob
from petitionkit.petitions.models import Petition
from petitionkit.plugins import calls
from petitionkit.testing import (
    add_petition,
    challenge_payload,
    make_test_app,
    run_jobs,
    solve_challenge,
)

STORY = "Two officers came to my flat on 3 March marker-7f3a9c and asked about my sister."
ALLOWED = "http://127.0.0.1:8000"
SLUG = "stories-petition"


def stories_app(tmp_path: Path, keys: bool = True, config: dict[str, Any] | None = None,
                **settings: Any) -> Flask:
    plugin = {"rate_limit": "1000/minute", **settings}
    app = make_test_app(tmp_path, PLUGINS={"petitionkit-stories": plugin}, **(config or {}))
    if keys:
        generate_key_pair(app.instance_path, "stories")
    add_petition(app, slug=SLUG, title="Protect the diaspora", allowed_origins=[ALLOWED],
                 sections={"stories": read_stories({
                     "prompt": "Have you been approached by the police? <b>Tell us</b>.",
                     "fields": ["name", "country"],
                 })})
    return app


def post(app: Flask, path: str = f"/p/{SLUG}/story", **form: Any) -> Any:
    data = {"story": STORY, **form}
    return app.test_client().post(path, data=data, follow_redirects=True)


def stored(app: Flask) -> list[StoryReceived]:
    with app.app_context():
        return list(db.session.scalars(select(StoryReceived)))


def export(app: Flask, key: Path, *extra: str) -> Any:
    return app.test_cli_runner().invoke(
        args=["stories", "export", SLUG, "--key", str(key), *extra]
    )


def test_the_section_is_read_with_clear_messages() -> None:
    assert read_stories({"prompt": "Tell us"}) == {"prompt": "Tell us", "fields": [],
                                                   "contact": "allowed"}
    for value, message in (
        ({}, "prompt"), ({"prompt": " "}, "required"), ({"prompt": "x" * 2001}, "2000"),
        ({"prompt": "x", "fields": ["email"]}, "fields"), ({"prompt": "x", "fields": "name"},
                                                           "fields"),
        ({"prompt": "x", "contact": "maybe"}, "allowed or never"), ("text", "mapping"),
        ({"prompt": "x", "colour": 1}, "mapping"),
    ):
        with pytest.raises(ValueError, match=message):
            read_stories(value)


def test_the_form_renders_on_the_page_and_in_the_widget_without_javascript(
    tmp_path: Path
) -> None:
    app = stories_app(tmp_path)
    client = app.test_client()
    step = client.get(f"/p/{SLUG}").text
    assert "Share your story confidentially" in step
    assert f'href="/p/{SLUG}/story"' in step
    assert f'href="/embed/{SLUG}/story"' in client.get(f"/embed/{SLUG}/check-email").text
    for path in (f"/p/{SLUG}/story", f"/embed/{SLUG}/story"):
        page = client.get(path)
        assert page.status_code == 200, path
        text = page.text
        assert f'<form method="post" action="{path}"' in text
        assert 'name="story"' in text and 'name="name"' in text and 'name="country"' in text
        assert 'name="may_contact"' in text and 'name="contact"' in text
        assert 'type="email"' not in text
        assert "&lt;b&gt;Tell us&lt;/b&gt;" in text  # the prompt is text, not markup
    assert "pk-embed" in client.get(f"/embed/{SLUG}/story").text
    assert "pk-embed" not in client.get(f"/p/{SLUG}/story").text


def test_a_story_is_stored_only_sealed_and_opens_with_the_right_key(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    answer = post(app, name="Mina", country="DE", may_contact="1",
                  contact="signal: mina-contact-55")
    assert answer.status_code == 200
    assert "Thank you for your story" in answer.text
    [row] = stored(app)
    assert b"marker-7f3a9c" not in row.sealed
    instance = Path(app.instance_path)
    with app.app_context():
        db.engine.dispose()
    for name in ("petitionkit.db", "petitionkit.db-wal"):
        path = instance / name
        if path.exists():
            raw = path.read_bytes()
            for secret in (b"marker-7f3a9c", b"mina-contact-55", b"Mina"):
                assert secret not in raw, (name, secret)
    output = tmp_path / "stories.jsonl"
    result = export(app, instance / "stories.key", "--output", str(output))
    assert result.exit_code == 0, result.output
    [line] = output.read_text().splitlines()
    assert output.stat().st_mode & 0o777 == 0o600
    story = json.loads(line)
    assert story["story"] == STORY
    assert story["fields"] == {"name": "Mina", "country": "DE"}
    assert story["contact"] == "signal: mina-contact-55"
    assert story["id"] == row.id and story["created_at"]
    assert app.test_cli_runner().invoke(args=["stories", "count", SLUG]).output.strip() == "1"
    # To standard output as well.
    assert json.loads(export(app, instance / "stories.key").output)["story"] == STORY


def test_the_wrong_key_is_refused(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    assert post(app).status_code == 200
    other = tmp_path / "other"
    _, wrong = generate_key_pair(other, "stories")
    _, data_key = Path(app.instance_path) / "data.pub", Path(app.instance_path) / "data.key"
    for key in (wrong, data_key):
        result = export(app, key, "--output", str(tmp_path / "out.jsonl"))
        assert result.exit_code != 0
        assert "does not open the stories" in result.output
        assert not (tmp_path / "out.jsonl").exists()
    # Without the public key on the exporting machine, the sealed boxes themselves refuse.
    (Path(app.instance_path) / "stories.pub").unlink()
    result = export(app, wrong)
    assert result.exit_code != 0 and "does not open the stories" in result.output
    missing = export(app, tmp_path / "nowhere.key")
    assert missing.exit_code != 0 and "does not exist" in missing.output


def test_without_a_stories_key_the_form_says_so_and_stores_nothing(tmp_path: Path) -> None:
    app = stories_app(tmp_path, keys=False)
    client = app.test_client()
    for path in (f"/p/{SLUG}/story", f"/embed/{SLUG}/story"):
        page = client.get(path)
        assert page.status_code == 503
        assert "not accepting stories" in page.text
        assert post(app, path).status_code == 503
    assert stored(app) == []


def test_contact_is_required_only_when_ticked(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    refused = post(app, may_contact="1", contact="  ")
    assert refused.status_code == 422
    assert "Please say how we may contact you" in refused.text
    assert 'aria-invalid="true" aria-describedby="story-contact-error"' in refused.text
    assert STORY in refused.text  # the story is kept in the form, not lost
    assert post(app).status_code == 200
    # An address typed without ticking the box is not kept.
    assert post(app, contact="unticked@example.org").status_code == 200
    instance = Path(app.instance_path)
    lines = export(app, instance / "stories.key").output.splitlines()
    assert [json.loads(line)["contact"] for line in lines] == [None, None]


def test_contact_never_offers_no_contact(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    add_petition(app, slug="quiet", sections={"stories": read_stories(
        {"prompt": "Tell us", "contact": "never"})})
    page = app.test_client().get("/p/quiet/story").text
    assert 'name="may_contact"' not in page and 'name="name"' not in page
    assert post(app, "/p/quiet/story", may_contact="1", contact="x").status_code == 200


@pytest.mark.parametrize(("form", "field"), [
    ({"story": ""}, "Please write your story."),
    ({"story": "x" * 20_001}, "at most 20000 characters"),
    ({"story": "bad \x00 byte"}, "invisible control characters"),
    ({"story": "turn \u202e around"}, "change the direction of text"),
    ({"name": "<script>alert(1)</script>"}, "Please leave out the characters"),
    ({"name": "x" * 201}, "at most 200 characters"),
    ({"name": "Mi\u202ena"}, "change the direction of text"),
    ({"country": "XX"}, "Please choose a country"),
    ({"may_contact": "1", "contact": "x" * 301}, "at most 300 characters"),
    ({"may_contact": "1", "contact": "a\nb"}, "invisible control characters"),
])
def test_hostile_input_is_refused_with_a_message(tmp_path: Path, form: dict[str, str],
                                                   field: str) -> None:
    app = stories_app(tmp_path)
    answer = post(app, **form)
    assert answer.status_code == 422
    assert field in answer.text
    assert stored(app) == []


def test_html_in_a_story_is_kept_as_text(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    assert post(app, story="<b>they</b> came").status_code == 200
    line = export(app, Path(app.instance_path) / "stories.key").output
    assert json.loads(line)["story"] == "<b>they</b> came"


def test_a_long_story_in_any_script_fits_and_megabytes_do_not(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    client = app.test_client()
    long_story = "Ж" * 19_990
    assert post(app, story=long_story).status_code == 200
    too_big = client.post(f"/p/{SLUG}/story", data={"story": "x" * 2_000_000})
    assert too_big.status_code == 413
    assert "far too large" in too_big.text
    invalid = client.post(f"/p/{SLUG}/story", data=b"story=%FF%FEabc",
                          content_type="application/x-www-form-urlencoded")
    assert invalid.status_code == 422
    assert "could not be read" in invalid.text
    as_json = client.post(f"/p/{SLUG}/story", json={"story": "hi"})
    assert as_json.status_code == 415
    assert len(stored(app)) == 1


def test_a_post_from_another_site_is_refused_and_an_allowed_one_taken(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    client = app.test_client()
    refused = client.post(f"/p/{SLUG}/story", data={"story": STORY},
                          headers={"Origin": "https://evil.example",
                                   "Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    assert "another website" in refused.text
    taken = client.post(f"/embed/{SLUG}/story", data={"story": STORY},
                        headers={"Origin": ALLOWED, "Sec-Fetch-Site": "cross-site"})
    assert taken.status_code == 303
    assert len(stored(app)) == 1


def test_posts_are_rate_limited(tmp_path: Path) -> None:
    app = stories_app(tmp_path, rate_limit="2/minute")
    assert [post(app).status_code for _ in range(3)] == [200, 200, 429]
    assert len(stored(app)) == 2
    # Reading the form is not counted.
    assert app.test_client().get(f"/p/{SLUG}/story").status_code == 200


def test_every_method_gets_a_sensible_answer(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    client = app.test_client()
    for path in (f"/p/{SLUG}/story", f"/embed/{SLUG}/story"):
        assert client.head(path).status_code == 200
        assert client.options(path).status_code == 200
        for method in ("PUT", "PATCH", "DELETE", "TRACE"):
            answer = client.open(path, method=method)
            assert answer.status_code == 405, (method, path)
    assert client.get("/p/nothing-here/story").status_code == 404
    add_petition(app, slug="no-stories")
    assert client.get("/p/no-stories/story").status_code == 404
    assert client.post("/p/no-stories/story", data={"story": "x"}).status_code == 404
    add_petition(app, slug="closed", status="closed",
                 sections={"stories": read_stories({"prompt": "Tell us"})})
    closed = client.post("/p/closed/story", data={"story": STORY})
    assert closed.status_code == 409 and "no longer takes stories" in closed.text
    assert "Share your story" not in client.get("/p/closed").text


def test_organisers_get_a_notice_without_the_story(tmp_path: Path) -> None:
    app = stories_app(tmp_path, notify="organisers@example.org")
    assert post(app).status_code == 200
    assert post(app).status_code == 200
    with app.app_context():
        jobs = [job for job in db.session.scalars(select(OutboxJob))
                if job.kind == "email.stories.notice"]
        payloads = [job.payload for job in jobs]
        message_ids = {job.message_id for job in jobs}
    assert len(payloads) == 2 and len(message_ids) == 2 and None not in message_ids
    assert "marker-7f3a9c" not in json.dumps(payloads)
    run_jobs(app)
    mails = sorted((Path(app.instance_path) / "mail").iterdir())
    assert len(mails) == 2
    texts = [path.read_text() for path in mails]
    assert any("A new story arrived for Protect the diaspora (2 so far)" in text
               for text in texts)
    assert "organisers@example.org" in texts[0]
    for text in texts:
        assert "marker-7f3a9c" not in text and "officers" not in text
    # Each notice carries its job's Message-ID, the one a retry would send again.
    assert {re.search(r"^Message-ID: (\S+)$", text, re.M).group(1)  # type: ignore[union-attr]
            for text in texts} == message_ids


def test_a_notice_queued_under_the_earlier_kind_is_still_sent(tmp_path: Path) -> None:
    app = stories_app(tmp_path, notify="organisers@example.org")
    assert post(app).status_code == 200
    with app.app_context():
        job = db.session.scalar(select(OutboxJob).where(OutboxJob.kind == "email.stories.notice"))
        assert job is not None
        job.kind, job.message_id = "stories.notice", None
        db.session.commit()
    run_jobs(app)
    [mail] = (Path(app.instance_path) / "mail").glob("*.eml")
    assert "A new story arrived for Protect the diaspora (1 so far)" in mail.read_text()


def test_no_notice_without_the_setting(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    assert post(app).status_code == 200
    with app.app_context():
        assert not [job for job in db.session.scalars(select(OutboxJob))
                    if job.kind.endswith("stories.notice")]


def test_retention_removes_the_stories_of_a_petition_whose_time_is_up(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    assert post(app).status_code == 200
    assert post(app, name="Second").status_code == 200
    runner = app.test_cli_runner()
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == SLUG))
        assert petition is not None
        petition.retain_days = 0
        db.session.commit()
    assert runner.invoke(args=["privacy", "purge"]).exit_code == 0
    assert len(stored(app)) == 2, "an open petition keeps its stories"
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == SLUG))
        assert petition is not None
        petition.status = "closed"
        db.session.commit()
    result = runner.invoke(args=["privacy", "purge"])
    assert result.exit_code == 0, result.output
    assert stored(app) == []
    assert runner.invoke(args=["stories", "count", SLUG]).output.strip() == "0"


def test_the_workspace_lists_how_many_stories_arrived_and_nothing_of_them(
    tmp_path: Path
) -> None:
    from petitionkit.admin import dashboard

    app = stories_app(tmp_path)
    add_petition(app, slug="no-stories", title="Asks for none")
    for _ in range(3):
        assert "Thank you for your story" in post(app).text
    with app.test_request_context():
        labels: list[str] = []
        rows = {row.slug: row for row in dashboard.petition_rows(db.session(), None, labels)}
    assert labels == ["Stories"]
    assert rows[SLUG].plugin_counts == (3,)
    assert rows["no-stories"].plugin_counts == (0,)
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert dashboard.petition_rows(db.session(), None, labels) and labels == ["Geschichten"]


def test_the_story_step_is_named_for_a_petition_s_steps_list(tmp_path: Path) -> None:
    app = stories_app(tmp_path)
    with app.test_request_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == SLUG))
        assert petition is not None
        [(name, html)] = calls.action_steps(petition, False, None)
    assert name == "story" and 'id="story-heading"' in html
    assert story_step_missing({"sections": {}}) == \
        "needs a stories: section with the question to ask"
    assert story_step_missing({"sections": {"stories": read_stories({"prompt": "Tell"})}}) is None


@pytest.mark.parametrize("where", ["p", "embed"])
def test_a_story_taken_leads_to_a_thank_you_page_a_refresh_does_not_post_again(
    tmp_path: Path, where: str
) -> None:
    app = stories_app(tmp_path)
    client = app.test_client()
    answer = client.post(f"/{where}/{SLUG}/story", data={"story": STORY, "lang": "ar"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/{where}/{SLUG}/story/thanks?lang=ar"
    for _ in range(2):  # read twice, as a refresh does: one story all the same
        thanks = client.get(answer.headers["Location"])
        assert thanks.status_code == 200
        assert re.search(r'<html lang="ar" dir="rtl"', thanks.text)
    assert len(stored(app)) == 1
    assert ("pk-embed" in thanks.text) == (where == "embed")
    # The page says the same to anyone, so it tells nobody whether a story came; a petition
    # that asks for none has none.
    assert client.get(f"/{where}/{SLUG}/story/thanks").status_code == 200
    add_petition(app, slug="no-stories", title="Asks for none")
    assert client.get(f"/{where}/no-stories/story/thanks").status_code == 404
    assert client.post(f"/{where}/{SLUG}/story/thanks").status_code == 405


def test_a_page_read_in_another_language_keeps_it_on_the_story_form(tmp_path: Path) -> None:
    client = stories_app(tmp_path).test_client()
    step = client.get(f"/p/{SLUG}?lang=ar").text
    assert f'href="/p/{SLUG}/story?lang=ar"' in step
    form = client.get(f"/p/{SLUG}/story?lang=ar").text
    assert re.search(r'<html lang="ar" dir="rtl"', form)
    assert '<input type="hidden" name="lang" value="ar">' in form


# The proof-of-work check, asked exactly while signing asks for it

CHALLENGE = f"/api/v1/petitions/{SLUG}/challenge"
# Small enough that the solver takes a millisecond or two.
QUICK = {"CHALLENGE_MAX_ITERATIONS": 2000}
NEEDS_JAVASCRIPT = "this form asks your browser to complete a short check, which needs JavaScript"


def solution(app: Flask) -> str:
    answer = app.test_client().get(CHALLENGE)
    assert answer.status_code == 200, answer.text
    return solve_challenge(answer.json)


@pytest.mark.parametrize("path", [f"/p/{SLUG}/story", f"/embed/{SLUG}/story"])
def test_while_signing_asks_for_the_check_a_story_needs_it_too(
    tmp_path: Path, path: str
) -> None:
    app = stories_app(tmp_path, config={"CHALLENGE_MODE": "always", **QUICK})
    client = app.test_client()
    page = client.get(path).text
    assert f'class="story-form" data-challenge="{CHALLENGE}"' in page
    assert '<input type="hidden" name="altcha" value="">' in page
    assert 'src="/widget/challenge.js?v=' in page and 'class="challenge-status"' in page
    assert "Your story is sent as soon as it is done." in page
    assert '<noscript><p class="challenge-noscript">To keep automated posts out, ' in page

    # Without JavaScript: refused with the reason at the top, the story kept, nothing stored.
    missing = post(app, path)
    assert missing.status_code == 422
    assert NEEDS_JAVASCRIPT in missing.text and "send your story again" in missing.text
    assert "Please correct the fields marked below." not in missing.text
    assert STORY in missing.text
    assert "<noscript>" not in missing.text, "said once, at the top"
    for refused in ("not base64 at all", challenge_payload({"parameters": {}}, {})):
        answer = post(app, path, altcha=refused)
        assert answer.status_code == 422
        assert "did not succeed. Please send your story again." in answer.text
    assert stored(app) == []

    solved = solution(app)
    assert post(app, path, altcha=solved).status_code == 200
    assert len(stored(app)) == 1
    # A solution is taken once, whatever it was first spent on.
    again = post(app, path, altcha=solved)
    assert again.status_code == 422 and "did not succeed" in again.text
    assert len(stored(app)) == 1


def test_a_solution_for_another_petition_is_refused(tmp_path: Path) -> None:
    app = stories_app(tmp_path, config={"CHALLENGE_MODE": "always", **QUICK})
    add_petition(app, slug="another")
    other = solve_challenge(app.test_client().get("/api/v1/petitions/another/challenge").json)
    assert post(app, altcha=other).status_code == 422
    assert stored(app) == []


def test_a_story_refused_for_something_else_keeps_its_unspent_solution(tmp_path: Path) -> None:
    app = stories_app(tmp_path, config={"CHALLENGE_MODE": "always", **QUICK})
    solved = solution(app)
    refused = post(app, country="XX", altcha=solved)
    assert refused.status_code == 422
    assert "Please choose a country" in refused.text
    assert f'<input type="hidden" name="altcha" value="{solved}">' in refused.text
    assert post(app, altcha=solved).status_code == 200
    assert len(stored(app)) == 1


def test_while_signing_asks_for_no_check_neither_does_a_story(tmp_path: Path) -> None:
    app = stories_app(tmp_path, config={"CHALLENGE_MODE": "off"})
    page = app.test_client().get(f"/p/{SLUG}/story").text
    assert "data-challenge" not in page and 'name="altcha"' not in page
    assert "challenge.js" not in page
    assert post(app).status_code == 200


def test_in_the_automatic_mode_a_signing_flood_switches_the_story_check_on(
    tmp_path: Path
) -> None:
    app = stories_app(tmp_path, config={
        "CHALLENGE_MODE": "auto", "CHALLENGE_AUTO_THRESHOLD": 2,
        "CHALLENGE_AUTO_CACHE_SECONDS": 0, **QUICK,
    })
    client = app.test_client()
    assert post(app).status_code == 200, "no flood, no check"
    for number in range(2):
        signed = client.post(f"/p/{SLUG}/sign", data={
            "name": f"Signer {number}", "email": f"signer{number}@example.org"})
        assert signed.status_code == 303, signed.text
    assert client.get(CHALLENGE).json["required"] is True
    assert "data-challenge" in client.get(f"/p/{SLUG}/story").text
    missing = post(app)
    assert missing.status_code == 422 and NEEDS_JAVASCRIPT in missing.text
    assert post(app, altcha=solution(app)).status_code == 200
    assert len(stored(app)) == 2
