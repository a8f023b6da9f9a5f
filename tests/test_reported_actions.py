"""Reported actions: the signer's own link counts once per signer and action; anonymous reports
are rate-limited and counted apart; every input path refuses hostile input with a 4xx."""

from __future__ import annotations

import logging
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from petitionkit.actions.models import ActionReport
from petitionkit.extensions import db
from petitionkit.petitions.loader import PetitionFileError, parse_petition
from petitionkit.signatures.models import Signature
from petitionkit.signatures.tokens import Purpose, make_token
from petitionkit.testing import run_jobs, sign_and_confirm, withdraw

from .challenge_solver import solve
from .conftest import TEST_SECRET, add_petition, make_app

REPORT_ACTIONS = [
    {"key": "called", "label": {"en": "Called the embassy", "fr": "Appelé l'ambassade"},
     "outcomes": ["reached", "voicemail", "no-answer"]},
    {"key": "wrote", "label": {"en": "Wrote a letter"}, "outcomes": []},
]
ORIGIN = "http://127.0.0.1:8000"


def reporting_app(tmp_path: Path, migrated_sqlite: Path, **config: Any) -> Flask:
    return make_app(tmp_path, migrated_sqlite, RATELIMIT_REPORT="1000/minute", **config)


@pytest.fixture
def app(tmp_path: Path, migrated_sqlite: Path) -> Flask:
    return reporting_app(tmp_path, migrated_sqlite)


@pytest.fixture
def slug(app: Flask) -> str:
    return add_petition(app, report_actions=REPORT_ACTIONS)


def token_for(app: Flask, signature_id: int) -> str:
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        return make_token(TEST_SECRET, Purpose.REPORT, signature_id, signature.token_nonce)


def api_counts(app: Flask, slug: str) -> tuple[dict[str, int], dict[str, int]]:
    app.extensions["petitionkit.summary_cache"].clear()
    body = app.test_client().get(f"/api/v1/petitions/{slug}").json
    return body["actions"], body["actions_anonymous"]


def test_a_signer_link_counts_once_per_signer_and_action(app: Flask, slug: str) -> None:
    first = token_for(app, sign_and_confirm(app, slug, "Ana", "ana@example.org"))
    second = token_for(app, sign_and_confirm(app, slug, "Ben", "ben@example.org"))
    client = app.test_client()
    for _ in range(3):
        answer = client.post(f"/p/{slug}/report", data={"token": first, "action": "called"})
        assert answer.status_code == 200
        assert "counts in the totals" in unescape(answer.text)
    client.post(f"/p/{slug}/report", data={"token": first, "action": ["called", "wrote"]})
    client.post(f"/api/v1/petitions/{slug}/reports", json={"token": second, "actions": ["called"]})
    assert api_counts(app, slug) == ({"called": 2, "wrote": 1}, {"called": 0, "wrote": 0})
    with app.app_context():
        assert db.session.scalar(select(func.count(ActionReport.id))) == 3


def test_a_withdrawn_signature_no_longer_counts_and_cannot_report(app: Flask, slug: str) -> None:
    signature_id = sign_and_confirm(app, slug, "Ana", "ana@example.org")
    token = token_for(app, signature_id)
    client = app.test_client()
    client.post(f"/p/{slug}/report", data={"token": token, "action": "called"})
    assert api_counts(app, slug)[0] == {"called": 1, "wrote": 0}
    withdraw(app, signature_id)
    assert api_counts(app, slug)[0] == {"called": 0, "wrote": 0}
    answer = client.post(f"/p/{slug}/report", data={"token": token, "action": "wrote"})
    assert answer.status_code == 410


def test_the_link_of_a_pending_signature_asks_to_confirm_first(app: Flask, slug: str) -> None:
    client = app.test_client()
    client.post(f"/p/{slug}/sign", data={"name": "Ana", "email": "ana@example.org"})
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        token = make_token(TEST_SECRET, Purpose.REPORT, signature.id, signature.token_nonce)
    assert client.get(f"/p/{slug}/report?token={token}").status_code == 409
    answer = client.post(f"/api/v1/petitions/{slug}/reports",
                         json={"token": token, "actions": ["called"]})
    assert answer.status_code == 409
    assert "confirm your signature first" in answer.json["error"]


def test_a_token_for_another_purpose_or_petition_is_refused(app: Flask, slug: str) -> None:
    signature_id = sign_and_confirm(app, slug, "Ana", "ana@example.org")
    other = add_petition(app, slug="other", report_actions=REPORT_ACTIONS)
    with app.app_context():
        nonce = db.session.get(Signature, signature_id).token_nonce  # type: ignore[union-attr]
    cancel = make_token(TEST_SECRET, Purpose.CANCEL, signature_id, nonce)
    report = make_token(TEST_SECRET, Purpose.REPORT, signature_id, nonce)
    client = app.test_client()
    for where, token in ((slug, cancel), (other, report), (slug, report + "x"), (slug, "é\u202e")):
        answer = client.post(f"/p/{where}/report", data={"token": token, "action": "called"})
        assert answer.status_code == 400, (where, token)
        assert "not valid" in answer.text
    assert api_counts(app, slug)[0] == {"called": 0, "wrote": 0}


def test_anonymous_reports_count_apart_and_are_rate_limited(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = make_app(tmp_path, migrated_sqlite, RATELIMIT_REPORT="3/minute")
    slug = add_petition(app, report_actions=REPORT_ACTIONS)
    client = app.test_client()
    statuses = [client.post(f"/p/{slug}/report", data={"action": "called"}).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = client.post(f"/api/v1/petitions/{slug}/reports", json={"actions": ["called"]})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"]
    # Anonymous reports never join what organisers tell officials.
    assert api_counts(app, slug) == ({"called": 0, "wrote": 0}, {"called": 3, "wrote": 0})


def test_the_report_page_of_the_signer_link_works_without_javascript(
    app: Flask, slug: str
) -> None:
    token = token_for(app, sign_and_confirm(app, slug, "Ana", "ana@example.org"))
    client = app.test_client()
    page = client.get(f"/p/{slug}/report?token={token}")
    assert page.status_code == 200
    assert f'name="token" value="{token}"' in page.text
    assert 'type="checkbox" name="action" value="called"' in page.text
    french = client.get(f"/p/{slug}/report?token={token}&lang=fr", headers={
        "Accept-Language": "fr"})
    assert "Appelé l&#39;ambassade" in french.text or "Appelé l'ambassade" in french.text
    # An action labelled only in the petition's language falls back to it.
    assert "Wrote a letter" in french.text


def test_the_confirmation_page_and_mail_carry_the_signer_link(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: Any
) -> None:
    app = reporting_app(tmp_path, migrated_sqlite,
                        MAIL_URL=f"smtp://127.0.0.1:{smtp_server.port}")
    slug = add_petition(app, report_actions=REPORT_ACTIONS)
    client = app.test_client()
    client.post(f"/p/{slug}/sign", data={"name": "Ana", "email": "ana@example.org"})
    run_jobs(app)
    [message] = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    report_url = re.search(r"http://localhost(/p/[^/]+/report\?token=\S+)", text)
    confirm_url = re.search(r"http://localhost(/confirm/\S+)", text)
    assert report_url and confirm_url
    confirmed = client.post(confirm_url.group(1))
    assert confirmed.status_code == 200
    assert 'name="token"' in confirmed.text
    token = report_url.group(1).split("token=")[1]
    answer = client.post(f"/p/{slug}/report", data={"token": token, "action": "wrote"})
    assert answer.status_code == 200
    assert api_counts(app, slug)[0] == {"called": 0, "wrote": 1}


def test_a_report_from_the_widget_answers_inside_its_frame(app: Flask, slug: str) -> None:
    client = app.test_client()
    answer = client.post(f"/p/{slug}/report", data={"action": "called", "embed": "1"})
    assert answer.status_code == 200
    assert "frame-ancestors" in answer.headers["Content-Security-Policy"]
    assert ORIGIN in answer.headers["Content-Security-Policy"]
    assert 'class="pk-embed' in answer.text
    refused = client.post(f"/p/{slug}/report", data={"action": "nothing", "embed": "1"})
    assert refused.status_code == 422
    assert 'name="embed" value="1"' in refused.text


def test_the_check_email_page_offers_the_anonymous_form(app: Flask, slug: str) -> None:
    for path in (f"/p/{slug}/check-email", f"/embed/{slug}/check-email"):
        page = app.test_client().get(path)
        assert 'action="/p/' + slug + '/report"' in page.text
        assert 'name="token"' not in page.text


@pytest.mark.parametrize("data", [
    {"action": "teleported"},
    {"embed": "0"},
    {"action": "called", "outcome": "<script>alert(1)</script>"},
    {"action": "wrote", "outcome": "reached"},
    {"action": "called", "target": "nobody"},
    {"action": "\u202ecalled"},
    {"action": "<b>called</b>"},
    {"action": ["called"] * 50},
])
def test_hostile_form_reports_are_refused_with_a_message(
    app: Flask, slug: str, data: dict[str, Any]
) -> None:
    answer = app.test_client().post(f"/p/{slug}/report", data=data)
    assert answer.status_code == 422
    assert 'class="error"' in answer.text
    assert "<script>alert" not in answer.text
    assert api_counts(app, slug) == ({"called": 0, "wrote": 0}, {"called": 0, "wrote": 0})


@pytest.mark.parametrize("body", [
    {"actions": "called"},
    {"actions": [1, 2]},
    {"actions": ["called"], "token": 5},
    {"actions": ["called"], "outcome": ["reached"]},
    {"actions": ["called"], "extra": "x"},
    {"actions": ["called\u0000"]},
    {"actions": ["x" * 10_000]},
])
def test_hostile_json_reports_are_refused_with_a_message(
    app: Flask, slug: str, body: dict[str, Any]
) -> None:
    answer = app.test_client().post(f"/api/v1/petitions/{slug}/reports", json=body)
    assert 400 <= answer.status_code < 500
    assert answer.json["error"]


def test_malformed_and_oversized_bodies_get_4xx(app: Flask, slug: str) -> None:
    client = app.test_client()
    url = f"/api/v1/petitions/{slug}/reports"
    assert client.post(url, data="{", content_type="application/json").status_code == 400
    assert client.post(url, data=b"\xff\xfe", content_type="application/json").status_code == 400
    assert client.post(url, json=["called"]).status_code == 400
    assert client.post(url, data="actions=called").status_code == 415
    huge = {"actions": ["called"], "token": "a" * 200_000}
    assert client.post(url, json=huge).status_code == 413
    assert client.post(f"/p/{slug}/report", data={"action": "a" * 200_000}).status_code == 413
    assert client.post(f"/p/{slug}/report", json={"action": "called"}).status_code == 415
    assert client.post("/p/nothing-here/report", data={"action": "called"}).status_code == 404
    assert client.post("/api/v1/petitions/nothing-here/reports",
                       json={"actions": ["called"]}).status_code == 404


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE"])
def test_other_methods_are_not_allowed(app: Flask, slug: str, method: str) -> None:
    client = app.test_client()
    for path in (f"/p/{slug}/report", f"/api/v1/petitions/{slug}/reports"):
        assert client.open(path, method=method).status_code == 405


def test_get_and_head_never_record(app: Flask, slug: str) -> None:
    client = app.test_client()
    assert client.get(f"/p/{slug}/report?action=called").status_code == 200
    assert client.head(f"/p/{slug}/report?action=called").status_code == 200
    assert client.get(f"/api/v1/petitions/{slug}/reports").status_code == 405
    assert api_counts(app, slug)[1] == {"called": 0, "wrote": 0}


def test_cross_site_posts_are_refused_and_allowed_origins_get_cors(
    app: Flask, slug: str
) -> None:
    client = app.test_client()
    form = client.post(f"/p/{slug}/report", data={"action": "called"},
                       headers={"Origin": "https://evil.example"})
    assert form.status_code == 403
    api = f"/api/v1/petitions/{slug}/reports"
    refused = client.post(api, json={"actions": ["called"]},
                          headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    allowed = client.post(api, json={"actions": ["called"]}, headers={"Origin": ORIGIN})
    assert allowed.status_code == 202
    assert allowed.json == {"status": "recorded", "counted": False,
                            "message": "Thank you for telling us what you did."}
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    preflight = client.options(api, headers={"Origin": ORIGIN})
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


def test_a_closed_petition_takes_no_reports(app: Flask) -> None:
    slug = add_petition(app, status="closed", report_actions=REPORT_ACTIONS)
    client = app.test_client()
    assert client.post(f"/p/{slug}/report", data={"action": "called"}).status_code == 409
    assert client.post(f"/api/v1/petitions/{slug}/reports",
                       json={"actions": ["called"]}).status_code == 409


def test_counts_show_on_the_page_and_in_the_widget(app: Flask, slug: str) -> None:
    for number in range(3):
        signature_id = sign_and_confirm(app, slug, f"S{number}", f"s{number}@example.org")
        app.test_client().post(f"/p/{slug}/report",
                               data={"token": token_for(app, signature_id), "action": "called"})
    for path in (f"/p/{slug}", f"/embed/{slug}"):
        text = unescape(app.test_client().get(path).text)
        assert "3 people: Called the embassy" in text
        assert "Wrote a letter" not in text.split("What supporters did")[1][:300]


def test_counts_stay_hidden_with_the_count(app: Flask) -> None:
    slug = add_petition(app, report_actions=REPORT_ACTIONS, show_count_from=100)
    signature_id = sign_and_confirm(app, slug, "Ana", "ana@example.org")
    app.test_client().post(f"/p/{slug}/report",
                           data={"token": token_for(app, signature_id), "action": "called"})
    assert api_counts(app, slug) == (None, None)
    assert "What supporters did" not in app.test_client().get(f"/p/{slug}").text


ACTION_PLUGIN = '''
import logging

from petitionkit import hookimpl

log = logging.getLogger("petitionkit.report_tally")


@hookimpl
def petitionkit_action_taken(petition, action):
    log.info("%s %s %s %s %s", action.kind, action.report, action.outcome,
             action.signature_id is not None, action.count)
'''


def test_plugins_hear_of_each_new_report(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plugins = tmp_path / "instance" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "report_tally.py").write_text(ACTION_PLUGIN, encoding="utf-8")
    app = reporting_app(tmp_path, migrated_sqlite)
    slug = add_petition(app, report_actions=REPORT_ACTIONS)
    token = token_for(app, sign_and_confirm(app, slug, "Ana", "ana@example.org"))
    client = app.test_client()
    client.post(f"/p/{slug}/report", data={"token": token, "action": "called",
                                           "outcome": "voicemail"})
    client.post(f"/p/{slug}/report", data={"token": token, "action": "called"})  # a repeat
    client.post(f"/api/v1/petitions/{slug}/reports", json={"actions": ["wrote"]})
    with caplog.at_level(logging.INFO, logger="petitionkit.report_tally"):
        run_jobs(app)
    logged = sorted(r.getMessage() for r in caplog.records if r.name == "petitionkit.report_tally")
    assert logged == ["report called voicemail True 1", "report wrote None False 1"]


def test_the_handover_report_lists_the_actions(app: Flask, slug: str, tmp_path: Path) -> None:
    token = token_for(app, sign_and_confirm(app, slug, "Ana", "ana@example.org"))
    client = app.test_client()
    client.post(f"/p/{slug}/report", data={"token": token, "action": "called"})
    client.post(f"/p/{slug}/report", data={"action": "called"})
    out = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["deliver", slug, "--report",
                                                "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    csv_text = (out / f"{slug}-handover.csv").read_text(encoding="utf-8")
    assert "Called the embassy,1,1" in csv_text
    html = (out / f"{slug}-handover.html").read_text(encoding="utf-8")
    assert "<td><bdi>Called the embassy</bdi></td><td>1</td><td>1</td>" in html


def test_the_loader_checks_report_actions() -> None:
    def load(actions: object, locale: str = "en") -> Any:
        return parse_petition("p.md", {"title": "T", "locale": locale,
                                       "report_actions": actions}, "")

    values = load([{"key": "called", "label": "Called"}])
    assert values["report_actions"] == [
        {"key": "called", "label": {"en": "Called"}, "outcomes": []}]
    for bad in ("called", [{"key": "Called!", "label": "x"}], [{"key": "a"}],
                [{"key": "a", "label": {"fr": "x"}}], [{"key": "a", "label": "x", "more": 1}],
                [{"key": "a", "label": "x"}, {"key": "a", "label": "y"}],
                [{"key": "a", "label": "x", "outcomes": ["Bad word"]}],
                [{"key": "a", "label": "x" * 201}],
                [{"key": f"k{n}", "label": "x"} for n in range(21)]):
        with pytest.raises(PetitionFileError):
            load(bad)


def test_counts_on_postgresql(pg_app: Flask) -> None:
    pg_app.config["RATELIMIT_REPORT"] = "1000/minute"
    slug = add_petition(pg_app, report_actions=REPORT_ACTIONS)
    token = token_for(pg_app, sign_and_confirm(pg_app, slug, "Ana", "ana@example.org"))
    client = pg_app.test_client()
    for _ in range(2):
        client.post(f"/p/{slug}/report", data={"token": token, "action": ["called", "wrote"]})
    client.post(f"/api/v1/petitions/{slug}/reports", json={"actions": ["called"]})
    assert api_counts(pg_app, slug) == ({"called": 1, "wrote": 1}, {"called": 1, "wrote": 0})


def test_anonymous_reports_ask_for_the_check_while_signing_does(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = reporting_app(tmp_path, migrated_sqlite, CHALLENGE_MODE="always",
                        CHALLENGE_MAX_ITERATIONS=2000)
    slug = add_petition(app, report_actions=REPORT_ACTIONS)
    client = app.test_client()
    api = f"/api/v1/petitions/{slug}/reports"
    missing = client.post(api, json={"actions": ["called"]})
    assert missing.status_code == 422
    assert "needs JavaScript" in missing.json["errors"]["altcha"][0]
    page = client.post(f"/p/{slug}/report", data={"action": "called"})
    assert page.status_code == 422
    assert "needs JavaScript" in page.text
    solution = solve(client.get(f"/api/v1/petitions/{slug}/challenge").json)
    assert client.post(api, json={"actions": ["called"], "altcha": solution}).status_code == 202
    spent = client.post(api, json={"actions": ["called"], "altcha": solution})
    assert spent.status_code == 422 and "altcha" in spent.json["errors"]
    # A signer's own link needs no check: it counts once anyway.
    token = token_for(app, sign_and_confirm(app, slug, "Ana", "ana@example.org"))
    assert client.post(api, json={"actions": ["wrote"], "token": token}).status_code == 202
    assert api_counts(app, slug) == ({"called": 0, "wrote": 1}, {"called": 1, "wrote": 0})


def test_the_thank_you_page_speaks_the_language_of_the_page_the_report_came_from(
    app: Flask, slug: str
) -> None:
    """A page read in another language than the petition's sends it with the report (and with
    "I called"), so that the thanks and the steps still open come in that language too."""
    client = app.test_client()
    page = client.get(f"/p/{slug}?lang=ar").text
    assert '<input type="hidden" name="lang" value="ar">' in page
    token = token_for(app, sign_and_confirm(app, slug, "Ana", "ana@example.org"))
    answer = client.post(f"/p/{slug}/report",
                         data={"token": token, "action": "called", "lang": "ar"})
    assert answer.status_code == 200
    assert re.search(r'<html lang="ar" dir="rtl"', answer.text)
    plain = client.post(f"/p/{slug}/report", data={"token": token, "action": "wrote"})
    assert re.search(r'<html lang="en" dir="ltr"', plain.text)
