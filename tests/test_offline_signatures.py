"""Signatures gathered on paper or at events: audited entries added and corrected from the
command line, counted beside the online count, towards the goal and in recounts, and announced
to plugins."""

from __future__ import annotations

import logging
import threading
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select, update

from petitionkit.extensions import db
from petitionkit.petitions.models import OfflineEntry, Petition
from petitionkit.petitions.offline import OfflineEntryRefused, record_offline
from petitionkit.plugins.calls import manager_of as get_plugin_manager
from petitionkit.testing import run_jobs, sign_and_confirm

from .conftest import add_petition, make_app
from .test_goals import GoalRecorder


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    """The same test on SQLite and on PostgreSQL."""
    name = "app" if request.param == "sqlite" else "pg_app"
    application: Flask = request.getfixturevalue(name)
    return application


def offline(runner: FlaskCliRunner, slug: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(args=["petition", "offline", slug, *args])
    return result.exit_code, result.output


def counts(app: Flask, slug: str) -> tuple[int, int]:
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        assert petition is not None
        return petition.signature_count, petition.offline_count


def test_entries_are_added_corrected_and_listed(any_app: Flask) -> None:
    slug = add_petition(any_app)
    runner = any_app.test_cli_runner()
    sign_and_confirm(any_app, slug, "Online", "online@example.org")
    assert offline(runner, slug, "--add", "80", "--note", "Market stall, 3 May",
                   "--by", "Amina") == (0, f"{slug}: 80 offline, 81 in total\n")
    assert offline(runner, slug, "--add", "-5", "--note", "Counted a sheet twice",
                   "--by", "Amina") == (0, f"{slug}: 75 offline, 76 in total\n")
    assert counts(any_app, slug) == (1, 75)

    code, listing = offline(runner, slug)
    assert code == 0
    lines = [line.split("\t") for line in listing.splitlines()]
    assert [line[1:] for line in lines[:2]] == [
        ["+80", "Amina", "Market stall, 3 May"], ["-5", "Amina", "Counted a sheet twice"],
    ]
    assert lines[0][0].endswith("Z")
    assert listing.endswith("75 offline signature(s) in 2 entry(ies)\n")


def test_the_operating_system_user_records_when_no_name_is_given(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = add_petition(app)
    monkeypatch.setattr("getpass.getuser", lambda: "organiser")
    assert offline(app.test_cli_runner(), slug, "--add", "3")[0] == 0
    with app.app_context():
        entry = db.session.scalars(select(OfflineEntry)).one()
        assert (entry.recorded_by, entry.count, entry.note) == ("organiser", 3, "")
        assert entry.recorded_at.tzinfo is not None


def test_the_offline_total_never_goes_below_zero(any_app: Flask) -> None:
    slug = add_petition(any_app)
    runner = any_app.test_cli_runner()
    assert offline(runner, slug, "--add", "10", "--by", "A")[0] == 0
    code, output = offline(runner, slug, "--add", "-11", "--by", "A")
    assert code == 1
    assert f"Error: {slug} has 10 offline signature(s); a correction of -11 would take it " \
           "below 0" in output
    assert offline(runner, slug, "--add", "-10", "--by", "A")[0] == 0
    assert counts(any_app, slug) == (0, 0)
    with any_app.app_context():
        assert [e.count for e in db.session.scalars(select(OfflineEntry))] == [10, -10]


@pytest.mark.parametrize(("note", "problem"), [
    ("x" * 501, "the note is longer than 500 characters"),
    ("sheet\x00three", "the note contains control characters or line breaks"),
    ("two\nlines", "the note contains control characters or line breaks"),
    ("bidi \u2028 separator", "the note contains control characters or line breaks"),
])
def test_bad_notes_are_refused(app: Flask, note: str, problem: str) -> None:
    slug = add_petition(app)
    code, output = offline(app.test_cli_runner(), slug, "--add", "4", "--note", note,
                           "--by", "A")
    assert code == 1
    assert problem in output
    assert counts(app, slug) == (0, 0)
    with app.app_context():
        assert db.session.scalars(select(OfflineEntry)).all() == []


def test_a_zero_count_an_unknown_slug_and_stray_options_are_refused(app: Flask) -> None:
    slug = add_petition(app)
    runner = app.test_cli_runner()
    code, output = offline(runner, slug, "--add", "0", "--by", "A")
    assert (code, "the count must not be 0" in output) == (1, True)
    code, output = offline(runner, "no-such-petition", "--add", "5", "--by", "A")
    assert code == 1
    assert "there is no petition with the slug 'no-such-petition'" in output
    code, output = offline(runner, slug, "--note", "forgot --add")
    assert (code, "--note and --by go with --add" in output) == (2, True)


def test_html_in_a_note_is_kept_as_text(app: Flask) -> None:
    slug = add_petition(app)
    note = '<script>alert("x")</script> & <b>stall</b>'
    assert offline(app.test_cli_runner(), slug, "--add", "2", "--note", note, "--by", "A")[0] == 0
    with app.app_context():
        assert db.session.scalars(select(OfflineEntry.note)).one() == note
    page = app.test_client().get(f"/p/{slug}").text
    assert "<script>alert" not in page, "notes are for operators: no page shows them"


def test_the_read_api_reports_offline_and_total(any_app: Flask) -> None:
    slug = add_petition(any_app, goal=None, goal_settings={"ladder": [5, 100]})
    sign_and_confirm(any_app, slug, "Online", "online@example.org")
    client = any_app.test_client()
    before = client.get(f"/api/v1/petitions/{slug}").json
    assert (before["count"], before["offline"], before["total"], before["goal"]) == (1, 0, 1, 5)
    assert offline(any_app.test_cli_runner(), slug, "--add", "7", "--by", "A")[0] == 0
    # The entry drops the cached summaries of this process: no stale count is served.
    after = client.get(f"/api/v1/petitions/{slug}").json
    assert (after["count"], after["offline"], after["total"]) == (1, 7, 8)
    assert after["goal"] == 100, "goals count the total"


def test_an_offline_entry_reaches_goals_and_plugins_hear_of_it(app: Flask) -> None:
    recorder = GoalRecorder()
    get_plugin_manager(app).register(recorder)
    slug = add_petition(app, goal=None, goal_settings={"ladder": [3, 5, 50]})
    sign_and_confirm(app, slug, "Online", "online@example.org")
    runner = app.test_cli_runner()
    assert offline(runner, slug, "--add", "5", "--by", "A")[0] == 0  # 6: crosses 3 and 5
    assert offline(runner, slug, "--add", "-2", "--by", "A")[0] == 0  # 4
    assert offline(runner, slug, "--add", "2", "--by", "A")[0] == 0  # 6 again: nothing new
    sign_and_confirm(app, slug, "Online 2", "online2@example.org")  # 7
    run_jobs(app)
    assert recorder.reached == [(slug, 3, 6), (slug, 5, 6)]
    assert offline(runner, slug, "--add", "43", "--by", "A")[0] == 0  # 50
    run_jobs(app)
    assert recorder.reached[2:] == [(slug, 50, 50)]


def test_a_confirmation_counts_the_offline_signatures_towards_the_goal(app: Flask) -> None:
    recorder = GoalRecorder()
    get_plugin_manager(app).register(recorder)
    slug = add_petition(app, goal=10)
    assert offline(app.test_cli_runner(), slug, "--add", "9", "--by", "A")[0] == 0
    run_jobs(app)
    assert recorder.reached == []
    sign_and_confirm(app, slug, "Tenth", "tenth@example.org")
    run_jobs(app)
    assert recorder.reached == [(slug, 10, 10)]


ACTION_PLUGIN = '''\
import logging

from petitionkit import hookimpl

log = logging.getLogger("petitionkit.paper_tally")


@hookimpl
def petitionkit_action_taken(petition, action):
    log.info("%s: %s x %s", petition.slug, action.count, action.kind)
'''


def test_additions_are_announced_to_plugins_and_corrections_are_not(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plugins = tmp_path / "instance" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "paper_tally.py").write_text(ACTION_PLUGIN, encoding="utf-8")
    app = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(app)
    runner = app.test_cli_runner()
    assert offline(runner, slug, "--add", "120", "--by", "A")[0] == 0
    assert offline(runner, slug, "--add", "-20", "--by", "A")[0] == 0
    with caplog.at_level(logging.INFO, logger="petitionkit.paper_tally"):
        run_jobs(app)
    logged = [r.getMessage() for r in caplog.records if r.name == "petitionkit.paper_tally"]
    assert logged == [f"{slug}: 120 x paper"]


def test_recount_keeps_the_entries_and_repairs_the_offline_count(app: Flask) -> None:
    slug = add_petition(app)
    runner = app.test_cli_runner()
    sign_and_confirm(app, slug, "Online", "online@example.org")
    assert offline(runner, slug, "--add", "30", "--by", "A")[0] == 0
    assert runner.invoke(args=["recount"]).output == "all counts are correct\n"
    with app.app_context():
        db.session.execute(update(Petition).values(offline_count=999))
        db.session.commit()
    dry = runner.invoke(args=["recount", "--dry-run"]).output
    assert dry == (f"{slug}: offline count was 999, should be 30\n"
                   "1 count(s) wrong; run without --dry-run to repair\n")
    assert runner.invoke(args=["recount"]).output.endswith("repaired 1 count(s)\n")
    assert counts(app, slug) == (1, 30)
    with app.app_context():
        assert db.session.scalars(select(OfflineEntry.count)).all() == [30]


def test_the_page_and_the_widget_say_online_and_on_paper(app: Flask) -> None:
    slug = add_petition(app, goal=2000)
    with app.app_context():
        db.session.execute(update(Petition).values(signature_count=1147))
        db.session.commit()
    client = app.test_client()
    assert "1,147 have signed. Let's get to 2,000!" in unescape(client.get(f"/p/{slug}").text)
    assert offline(app.test_cli_runner(), slug, "--add", "80", "--by", "A")[0] == 0
    sentence = "1,147 signed online + 80 on paper. Let's get to 2,000!"
    page = unescape(client.get(f"/p/{slug}").text)
    assert sentence in page
    assert 'data-count="1227"' in page and 'value="1227"' in page
    assert sentence in unescape(client.get(f"/embed/{slug}").text)
    assert sentence in unescape(client.get("/").text)
    live = client.get(f"/embed/{slug}/count.json").json
    assert (live["count"], live["text"]) == (1227, sentence)
    german = client.get(f"/embed/{slug}/count.json?lang=de").json["text"]
    assert german == "1.147 online unterschrieben + 80 auf Papier. Auf zu 2.000!"


def test_the_handover_report_shows_the_offline_count(app: Flask, tmp_path: Path) -> None:
    slug = add_petition(app)
    sign_and_confirm(app, slug, "Online", "online@example.org")
    runner = app.test_cli_runner()
    assert offline(runner, slug, "--add", "12", "--by", "A")[0] == 0
    out = tmp_path / "out"
    result = runner.invoke(args=["deliver", slug, "--report", "--output-dir", str(out)])
    assert result.output.startswith("13 signature(s); wrote ")
    rows = (out / f"{slug}-handover.csv").read_text(encoding="utf-8").splitlines()
    assert rows[1:4] == ["total signatures,13", "signed online,1", "gathered offline,12"]
    html = (out / f"{slug}-handover.html").read_text(encoding="utf-8")
    assert "13 people signed this petition (as of " in html
    assert "1 signed online and 12 on paper or at events." in html


@pytest.mark.parametrize(("locale", "direction", "sentence"), [
    ("zh_Hans", "ltr", "已有 13 人签署此请愿（截至 "),
    ("ar", "rtl", "1 وقّعوا عبر الإنترنت و12 على الورق أو في الفعاليات."),
])
def test_the_handover_report_is_in_the_petitions_language(
    app: Flask, tmp_path: Path, locale: str, direction: str, sentence: str
) -> None:
    slug = add_petition(app, locale=locale)
    sign_and_confirm(app, slug, "Online", "online@example.org")
    runner = app.test_cli_runner()
    assert offline(runner, slug, "--add", "12", "--by", "A")[0] == 0
    out = tmp_path / "out"
    runner.invoke(args=["deliver", slug, "--report", "--output-dir", str(out)])
    html = (out / f"{slug}-handover.html").read_text(encoding="utf-8")
    assert f'dir="{direction}"' in html
    assert sentence in html
    assert "people signed" not in html and "Signers who agreed" not in html


def test_concurrent_entries_on_postgresql_lose_no_update(pg_app: Flask) -> None:
    slug = add_petition(pg_app)
    start = threading.Barrier(8)
    errors: list[BaseException] = []
    refused: list[int] = []

    def add_entries(count: int) -> None:
        try:
            with pg_app.app_context(), pg_app.test_request_context():
                petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
                assert petition is not None
                start.wait()
                for _ in range(10):
                    try:
                        record_offline(db.session(), petition, count, "", "A",
                                       listener=pg_app.extensions["petitionkit.lifecycle"])
                    except OfflineEntryRefused:
                        refused.append(count)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    # Six add 3 at a time; two take 4 away, which may be refused while the total is low.
    threads = [threading.Thread(target=add_entries, args=(3 if i < 6 else -4,))
               for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert all(count == -4 for count in refused)
    with pg_app.app_context():
        entries = db.session.scalars(select(OfflineEntry.count)).all()
    assert len(entries) + len(refused) == 80
    _, offline_count = counts(pg_app, slug)
    assert offline_count == sum(entries) >= 0
    assert sum(entries) == 180 - 4 * (20 - len(refused))
