"""petitionkit-calls: the call step renders without JavaScript and "I called" reports `called`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from petitionkit_calls import call_step_missing, call_targets, hour_spans, read_call, tel_href

from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import Signature
from petitionkit.signatures.tokens import Purpose, make_token
from petitionkit.targets import Target
from petitionkit.testing import add_petition, make_test_app, sign_and_confirm

SCRIPT = ("Hello, I am calling about **Lu Yunfei**.\n\n"
          "<script>alert(1)</script> [x](javascript:alert(1))")
TARGET = {"name": "Ilse Marrow", "title": "Consul", "phone": "+99 555 0100 200",
          "hours": "Mon–Fri 09:00–12:00", "timezone": "Europe/Brussels", "languages": []}
CALLED = [{"key": "called", "label": {"en": "I called the consulate"},
           "outcomes": ["reached", "voicemail", "no-answer"]}]


def calls_app(tmp_path: Path) -> Flask:
    return make_test_app(tmp_path, RATELIMIT_REPORT="1000/minute")


def call_petition(app: Flask, **values: Any) -> str:
    defaults: dict[str, Any] = {
        "slug": "call-the-consul", "title": "Call the consul", "status": "open", "locale": "en",
        "targets": [TARGET], "report_actions": CALLED,
        "sections": {"call": read_call({"script": SCRIPT})},
        "allowed_origins": ["http://127.0.0.1:8000"],
    }
    return add_petition(app, **{**defaults, **values})


def test_the_step_renders_a_tel_link_the_hours_and_the_script_without_javascript(
    tmp_path: Path
) -> None:
    app = calls_app(tmp_path)
    slug = call_petition(app)
    client = app.test_client()
    for path in (f"/p/{slug}", f"/p/{slug}/check-email", f"/embed/{slug}/check-email"):
        page = client.get(path)
        assert page.status_code == 200
        text = page.text
        assert '<a href="tel:+995550100200" dir="ltr">+99 555 0100 200</a>' in text, path
        # The hours and the zone are isolated from the sentence around them, which may run
        # the other way (an Arabic page of a Chinese petition).
        assert "<bdi>Mon–Fri 09:00–12:00</bdi>, <bdi>Europe/Brussels</bdi> time." in unescape(text)
        assert re.search(r"It is \d\d:\d\d there now\.", text)
        assert "<strong>Lu Yunfei</strong>" in text
        assert "<script>alert" not in text and 'href="javascript:' not in text
        assert 'name="action" value="called"' in text
        assert '<option value="voicemail">I left a voicemail</option>' in text
    assert 'name="embed" value="1"' in client.get(f"/embed/{slug}/check-email").text


def test_i_called_reports_the_action_anonymously_or_counted(tmp_path: Path) -> None:
    app = calls_app(tmp_path)
    slug = call_petition(app)
    client = app.test_client()
    target_key = Target.from_mapping(TARGET).key
    answer = client.post(f"/p/{slug}/report", data={"action": "called", "outcome": "reached",
                                                     "target": target_key})
    assert answer.status_code == 200
    signature_id = sign_and_confirm(app, slug, "Ana", "ana@example.org")
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        token = make_token(app.config["SECRET_KEY"], Purpose.CONFIRM, signature_id,
                           signature.token_nonce)
    confirmed = client.get(f"/confirm/{token}").text
    # The page after confirming carries the signer's own report token into the call step.
    [report_token] = set(re.findall(r'name="token" value="([^"]+)"', confirmed))
    for _ in range(2):
        client.post(f"/p/{slug}/report", data={"action": "called", "token": report_token,
                                               "outcome": "voicemail"})
    app.extensions["petitionkit.summary_cache"].clear()
    summary = client.get(f"/api/v1/petitions/{slug}").json
    assert summary["actions"] == {"called": 1}
    assert summary["actions_anonymous"] == {"called": 1}


def test_an_outcome_the_petition_does_not_list_is_refused(tmp_path: Path) -> None:
    app = calls_app(tmp_path)
    slug = call_petition(app, report_actions=[{**CALLED[0], "outcomes": ["reached"]}])
    client = app.test_client()
    page = client.get(f"/p/{slug}/check-email").text
    assert 'value="voicemail"' not in page
    refused = client.post(f"/p/{slug}/report", data={"action": "called", "outcome": "voicemail"})
    assert refused.status_code == 422


def test_without_called_in_report_actions_there_is_no_button(tmp_path: Path) -> None:
    app = calls_app(tmp_path)
    slug = call_petition(app, report_actions=[])
    page = app.test_client().get(f"/p/{slug}").text
    assert "tel:+995550100200" in page
    assert "I called" not in page


def test_no_step_without_a_call_section_or_a_phone(tmp_path: Path) -> None:
    app = calls_app(tmp_path)
    plain = call_petition(app, slug="plain", sections={})
    no_phone = call_petition(app, slug="no-phone", targets=[{"name": "Nobody", "languages": []}])
    client = app.test_client()
    for slug in (plain, no_phone):
        assert "call-step" not in client.get(f"/p/{slug}/check-email").text


def test_call_targets_may_name_whom_to_call_and_show_the_time_there(tmp_path: Path) -> None:
    app = calls_app(tmp_path)
    other = {"name": "Desk Officer", "phone": "+99 555 0100 300", "languages": []}
    section = read_call({"script": "Hi", "targets": ["Desk Officer"]})
    slug = call_petition(app, targets=[TARGET, other], sections={"call": section})
    with app.app_context():
        petition = db.session.query(Petition).filter_by(slug=slug).one()
        [only] = call_targets(petition)
        assert only.target.name == "Desk Officer" and only.local_time == ""
        petition.sections = {"call": read_call({"script": "Hi"})}
        first, _ = call_targets(petition, now=datetime(2027, 1, 15, 8, 30, tzinfo=UTC))
        assert first.local_time == "09:30"


def test_the_hours_spans_are_instants_of_the_day_there() -> None:
    brussels = ZoneInfo("Europe/Brussels")
    assert hour_spans("Mon–Fri 9:00–12:00, 14:00 - 17:30", date(2027, 1, 15), brussels) == (
        "2027-01-15T08:00:00Z/2027-01-15T11:00:00Z", "2027-01-15T13:00:00Z/2027-01-15T16:30:00Z")
    # Summer time moves the instants, not the office's hours.
    assert hour_spans("09:00-12:00", date(2027, 7, 15), brussels) == (
        "2027-07-15T07:00:00Z/2027-07-15T10:00:00Z",)
    assert hour_spans("22:00–02:00", date(2027, 1, 15), brussels) == (
        "2027-01-15T21:00:00Z/2027-01-16T01:00:00Z",)
    assert hour_spans("mornings", date(2027, 1, 15), brussels) == ()
    assert hour_spans("9-12", date(2027, 1, 15), brussels) == ()


def test_the_step_hands_its_script_the_hours_it_can_convert(tmp_path: Path) -> None:
    app = calls_app(tmp_path)
    slug = call_petition(app)
    client = app.test_client()
    text = client.get(f"/p/{slug}/check-email").text
    [spans] = re.findall(r'<p class="call-hours" data-zone="Europe/Brussels" data-date="[-0-9]+"'
                         r' data-spans="([^"]+)">', text)
    assert re.fullmatch(r"\S+T08:00:00Z/\S+T11:00:00Z|\S+T07:00:00Z/\S+T10:00:00Z", spans)
    [src] = re.findall(r'<script src="([^"]+call-hours.js)" defer', text)
    script = client.get(src)
    assert script.status_code == 200 and "Intl.DateTimeFormat" in script.text
    script.close()
    assert 'data-your-time="Your time: {hours}."' in text
    # Hours it cannot read stay as they are, and no script is sent for them.
    other = call_petition(app, slug="call-in-the-morning",
                          targets=[{**TARGET, "hours": "mornings"}])
    text = client.get(f"/p/{other}/check-email").text
    assert "<bdi>mornings</bdi>" in text and "data-spans" not in text
    assert "call-hours.js" not in text


@pytest.mark.parametrize("value", [
    "call me", {"script": ""}, {"script": 5}, {"script": "x" * 5001},
    {"script": "Hi", "targets": "all"}, {"script": "Hi", "phone": "1"},
])
def test_a_bad_call_section_is_refused(value: object) -> None:
    with pytest.raises(ValueError):
        read_call(value)


def test_the_loader_reads_the_call_section_and_target_hours(tmp_path: Path) -> None:
    app = calls_app(tmp_path)
    good = tmp_path / "call.md"
    good.write_text(
        "---\ntitle: Call\nstatus: open\ntargets:\n  - name: Ilse Marrow\n"
        "    phone: '+99 555 0100 200'\n    hours: 9-12\n    timezone: Europe/Brussels\n"
        "call:\n  script: Say **hello**\n---\nBody\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["petition", "load", str(good)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        petition = db.session.query(Petition).filter_by(slug="call").one()
        assert petition.sections["call"]["script_html"] == "<p>Say <strong>hello</strong></p>\n"
        assert petition.targets[0]["timezone"] == "Europe/Brussels"
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: Bad\ntargets:\n  - name: X\n    timezone: Mars/Olympus\n---\n",
                   encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["petition", "load", str(bad)])
    assert result.exit_code != 0
    assert "IANA time zone" in result.output


def test_tel_links_keep_only_what_a_dialler_needs() -> None:
    assert tel_href("+99 (555) 0100-200") == "tel:+995550100200"
    assert tel_href("javascript:alert(1)") == "tel:1"


def test_the_urgent_action_example_has_a_call_step_and_reported_actions(tmp_path: Path) -> None:
    example = (Path(__file__).resolve().parents[3] / "examples" / "petitions"
               / "urgent-action-lu-yunfei.md")
    app = calls_app(tmp_path)
    result = app.test_cli_runner().invoke(args=["petition", "load", str(example)])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    page = client.get("/p/urgent-action-lu-yunfei/check-email").text
    assert 'href="tel:+995550188420' in page
    assert "Asia/Shanghai" in page
    assert "<strong>陆云飞</strong>" in page
    for key in ("called", "wrote", "shared"):
        assert f'name="action" value="{key}"' in page
    answer = client.post("/p/urgent-action-lu-yunfei/report",
                         data={"action": "called", "outcome": "reached"})
    assert answer.status_code == 200
    app.extensions["petitionkit.summary_cache"].clear()
    summary = client.get("/api/v1/petitions/urgent-action-lu-yunfei").json
    assert summary["actions"] == {"called": 0, "wrote": 0, "shared": 0}
    assert summary["actions_anonymous"]["called"] == 1


def test_the_call_step_is_named_for_a_petition_s_steps_list(tmp_path: Path) -> None:
    app = calls_app(tmp_path)
    slug = call_petition(app, sections={"call": read_call({"script": SCRIPT}), "steps": ["call"]})
    text = app.test_client().get(f"/p/{slug}").text
    assert 'id="call-heading"' in text and 'id="report-heading"' not in text, "only the listed"
    section = read_call({"script": SCRIPT})
    assert call_step_missing({"targets": [TARGET], "sections": {"call": section}}) is None
    assert call_step_missing({"targets": [TARGET], "sections": {}}) == \
        "needs a call: section with the call script"
    assert call_step_missing({"targets": [{"name": "No Phone"}], "sections": {"call": section}}) \
        == "needs a target with a phone number (named in call.targets, if it names any)"


def test_i_called_asks_for_the_check_only_without_the_signer_s_link(tmp_path: Path) -> None:
    """While signing asks for the proof-of-work check, an anonymous "I called" is an anonymous
    report and asks for it too; with the signer's own link it counts without it."""
    app = make_test_app(tmp_path, RATELIMIT_REPORT="1000/minute", CHALLENGE_MODE="always")
    slug = call_petition(app)
    client = app.test_client()
    page = client.get(f"/p/{slug}").text
    assert f'class="call-report" data-challenge="/api/v1/petitions/{slug}/challenge"' in page
    assert page.count('name="altcha"') == 3, "signing, the report form and I called"
    refused = client.post(f"/p/{slug}/report", data={"action": "called"})
    assert refused.status_code == 422 and "needs JavaScript" in refused.text
    signature_id = sign_and_confirm(app, slug, "Ana", "ana@example.org")
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature is not None
        token = make_token(app.config["SECRET_KEY"], Purpose.CONFIRM, signature_id,
                           signature.token_nonce)
    confirmed = client.get(f"/confirm/{token}").text
    assert 'class="call-report">' in confirmed and 'class="call-report" data-' not in confirmed
