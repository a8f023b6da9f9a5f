"""``petitionkit export``: formats, consent flags, cursors, progress and flat memory."""

from __future__ import annotations

import csv
import io
import json
import sys
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import insert, select

from petitionkit.encryption import DATA_SEALER
from petitionkit.export import Cursor, CursorError, SignatureStream
from petitionkit.export.cli import _with_progress
from petitionkit.export.formats import neutralise, write_csv
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import PersonalData, Signature
from petitionkit.testing import sign_and_confirm

from .conftest import add_petition


def export(app: Flask, *args: str) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(args=["export", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("cell", [
    "=HYPERLINK(\"http://example.org\")", "+1 555", "-2+3", "@SUM(A1)", "\tx", "\rx", "＝1+1",
])
def test_cells_a_spreadsheet_would_run_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", [
    "\u200b=HYPERLINK(\"http://example.org\")", "\u00a0+1", "\ufeff@SUM(A1)", "\u202f-1",
    "\u2007=1", " =1", "  \u3000@A1", "\u2060\u200d=1", "\u202e=1", "\u00ad+1",
    "\u200e\u200f\u061c=1", "\u3164=1", "\x0b=1", "\u0085=1", "\u2028=1", "\u200b\uff1d1",
])
def test_a_formula_behind_whitespace_or_invisible_characters_is_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


def test_ordinary_cells_are_left_alone() -> None:
    assert neutralise("Ayşe Yılmaz") == "Ayşe Yılmaz"
    assert neutralise("O'Brien = ok") == "O'Brien = ok"
    assert neutralise("\u200bAli") == "\u200bAli"
    assert neutralise(" Ali = 1") == " Ali = 1"
    assert neutralise("") == ""
    assert neutralise("\u00a0") == "\u00a0"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_csv_export_neutralises_formulas_behind_invisible_characters(
    request: pytest.FixtureRequest, database: str
) -> None:
    app: Flask = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    slug = add_petition(app)
    sign_and_confirm(app, slug, "Ines", "ines@example.org", postal_code="\u00a0+1 555",
                     source="\ufeff@SUM(A1)", site="campaign.example")
    status, out, err = export(app, slug, "--format", "csv")
    assert status == 0, err
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert (row["postal_code"], row["source"]) == ("'\u00a0+1 555", "'\ufeff@SUM(A1)")
    assert row["site"] == "campaign.example", "the embedding site is exported beside the source"
    status, out, err = export(app, slug, "--format", "jsonl")
    assert status == 0, err
    record = json.loads(out)
    assert (record["postal_code"], record["source"]) == ("\u00a0+1 555", "\ufeff@SUM(A1)"), (
        "JSON is read by programs, not run by spreadsheets: values stay as they were sent"
    )


def test_csv_export_has_consent_flags_and_no_live_formulas(app: Flask, petition: str) -> None:
    sign_and_confirm(app, petition, "=cmd|' /C calc'!A0", "formula@example.org",
                     consent_updates=True, show_name=True)
    sign_and_confirm(app, petition, "Plain Signer", "plain@example.org")
    status, out, err = export(app, petition, "--format", "csv")
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["name"] for row in rows] == ["'=cmd|' /C calc'!A0", "Plain Signer"]
    assert [(row["consent_updates"], row["consent_version"], row["show_name"]) for row in rows] == [
        ("yes", "1", "yes"), ("no", "", "no"),
    ]
    assert "exported 2 signature(s) as csv" in err


def test_jsonl_export_only_confirmed_unless_all(app: Flask, petition: str) -> None:
    sign_and_confirm(app, petition, "Confirmed", "c@example.org", consent_updates=True)
    with app.app_context(), app.test_request_context():
        from petitionkit.signatures import services

        target = db.session.scalar(select(Petition).where(Petition.slug == petition))
        services.sign(db.engine, target, services.SignatureInput(
            name="Pending", email="p@example.org"), app.extensions["petitionkit.signing_policy"])
    status, out, _ = export(app, petition, "--format", "jsonl")
    assert status == 0
    [line] = [json.loads(line) for line in out.splitlines()]
    assert (line["name"], line["status"]) == ("Confirmed", "confirmed")
    assert line["consent_updates"] is True
    assert line["confirmed_at"].endswith("+00:00")
    status, out, _ = export(app, petition, "--format", "jsonl", "--all")
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["confirmed", "pending"]


def test_since_continues_where_the_last_export_stopped(
    app: Flask, petition: str, tmp_path: Path
) -> None:
    sign_and_confirm(app, petition, "First", "1@example.org")
    first_file = tmp_path / "first.jsonl"
    status, _, err = export(app, petition, "--format", "jsonl", "--output", str(first_file))
    assert status == 0
    cursor = err.split("cursor: ", 1)[1].split()[0]
    sign_and_confirm(app, petition, "Second", "2@example.org")
    status, out, err = export(app, petition, "--format", "jsonl", "--since", cursor)
    assert [json.loads(line)["name"] for line in out.splitlines()] == ["Second"]
    status, out, err = export(app, petition, "--format", "jsonl", "--since",
                              err.split("cursor: ", 1)[1].split()[0])
    assert (status, out) == (0, "")
    assert [json.loads(line)["name"] for line in first_file.read_text().splitlines()] == ["First"]


def test_clear_errors_for_wrong_format_cursor_or_slug(app: Flask, petition: str) -> None:
    status, _, err = export(app, petition, "--format", "xlsx")
    assert status == 2 and "unknown format 'xlsx'; choose one of csv, jsonl" in err
    status, _, err = export(app, petition, "--since", "yesterday")
    assert status == 2 and "not a cursor printed by petitionkit export" in err
    status, _, err = export(app, petition, "--since", "A12")
    assert status == 2 and "came from a --all export" in err
    status, _, err = export(app, "no-such-petition")
    assert status == 1 and "there is no petition with the slug 'no-such-petition'" in err
    status, out, _ = export(app, petition, "--format", "list")
    assert out.splitlines()[0].startswith("csv\t")


def test_cursor_round_trips() -> None:
    moment = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    assert Cursor.parse(str(Cursor(moment, 42)), include_unconfirmed=False) == Cursor(moment, 42)
    assert Cursor.parse("A42", include_unconfirmed=True) == Cursor(None, 42)
    with pytest.raises(CursorError):
        Cursor.parse("C12-x", include_unconfirmed=False)


def test_a_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(_with_progress(iter([{"n": 1}, {"n": 2}]), 2)) == [{"n": 1}, {"n": 2}]
    assert "exporting" in terminal.getvalue() and "100%" in terminal.getvalue()
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    assert len(list(_with_progress(iter([{"n": 1}]), 1))) == 1
    assert pipe.getvalue() == ""


def _bulk_confirmed(app: Flask, slug: str, how_many: int, same_moment: int = 1) -> None:
    """``how_many`` confirmed signatures, ``same_moment`` of them confirmed at each moment."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with app.app_context():
        petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == slug))
        sealer = DATA_SEALER.of(app)
        rows = [{
            "petition_id": petition_id, "email_hash": i.to_bytes(32, "big"),
            "sealed": sealer.seal_json(PersonalData(
                name=f"Bulk Signer {i}", email=f"bulk{i}@example.org").to_json()),
            "status": "confirmed",
            "token_nonce": "n", "consent_updates": i % 2 == 0, "show_name": False,
            "locale": "en", "mail_suppressed": False, "mails_sent_today": 0, "extra": {},
            "created_at": start, "confirmed_at": start + timedelta(seconds=i // same_moment),
        } for i in range(how_many)]
        db.session.execute(insert(Signature), rows)
        db.session.commit()


def _export_peak(app: Flask, slug: str) -> tuple[int, int]:
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        sink = _CountingSink()
        tracemalloc.start()
        write_csv(petition, SignatureStream(db.session(), petition, page_size=100), sink)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return sink.lines, peak


class _CountingSink(io.TextIOBase):
    lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


def test_export_memory_stays_flat_as_the_petition_grows(app: Flask) -> None:
    add_petition(app, slug="small")
    add_petition(app, slug="large")
    _bulk_confirmed(app, "small", 500)
    _bulk_confirmed(app, "large", 5_000)
    _export_peak(app, "small")  # warm SQLAlchemy's statement caches
    small_lines, small_peak = _export_peak(app, "small")
    large_lines, large_peak = _export_peak(app, "large")
    assert (small_lines, large_lines) == (501, 5_001)
    # Ten times the signatures, nowhere near ten times the memory: only one page is held.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)


def _exported_ids_and_steps(app: Flask, slug: str, page_size: int) -> tuple[list[int], list[int]]:
    """Every exported id, and the SQLite VM steps each page's query took."""
    with app.app_context():
        session = db.session()
        petition = session.scalar(select(Petition).where(Petition.slug == slug))
        raw = session.connection().connection.driver_connection
        steps = [0]

        def count_step() -> int:
            steps[-1] += 1
            return 0

        raw.set_progress_handler(count_step, 1)
        ids: list[int] = []
        try:
            for record in SignatureStream(session, petition, page_size=page_size):
                if len(ids) % page_size == 0:
                    steps.append(0)  # this record's page has just been read
                ids.append(int(record["signature_id"]))
        finally:
            raw.set_progress_handler(None, 1)
        # steps[0] is the petition lookup; steps[n] is page n and the records that followed it.
        return ids, steps[1:]


def test_pages_continue_in_the_index_across_ties_without_rescanning(app: Flask) -> None:
    add_petition(app, slug="viral")
    # Signatures confirmed in the same instant straddle page boundaries.
    _bulk_confirmed(app, "viral", 3_000, same_moment=250)
    ids, steps = _exported_ids_and_steps(app, "viral", page_size=100)
    with app.app_context():
        expected = list(db.session.scalars(
            select(Signature.id).order_by(Signature.confirmed_at, Signature.id)
        ))
    assert ids == expected and len(ids) == 3_000, "every signature once, in order"
    assert len(steps) == 30
    # Each page starts where the last one stopped: the thirtieth costs what the first did, not
    # thirty times as much, so a million signatures export in linear time.
    assert max(steps[1:]) < 2 * steps[0], steps


def test_export_pages_across_ties_on_postgresql(pg_app: Flask) -> None:
    add_petition(pg_app, slug="viral")
    _bulk_confirmed(pg_app, "viral", 1_000, same_moment=150)
    with pg_app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == "viral"))
        ids = [int(record["signature_id"])
               for record in SignatureStream(db.session(), petition, page_size=70)]
        expected = list(db.session.scalars(
            select(Signature.id).order_by(Signature.confirmed_at, Signature.id)
        ))
    assert ids == expected and len(ids) == 1_000


def test_a_signature_carries_its_kind_into_exports(app: Flask, runner: FlaskCliRunner) -> None:
    """Room for joint letters: an organisation signs as such, and exports say which is which."""
    slug = add_petition(app, slug="joint-letter")
    sign_and_confirm(app, slug, "Ada Example", "ada@example.org")
    sign_and_confirm(app, slug, "Harbour Watch", "contact@harbour.example.org",
                     kind="organization", organization="Harbour Watch")
    with pytest.raises(ValueError, match="unknown kind of signer"):
        sign_and_confirm(app, slug, "Someone", "x@example.org", kind="robot")
    result = runner.invoke(args=["export", slug, "--format", "jsonl"])
    kinds = {json.loads(line)["name"]: json.loads(line)["kind"]
             for line in result.output.splitlines() if line.startswith("{")}
    assert kinds == {"Ada Example": "person", "Harbour Watch": "organization"}
