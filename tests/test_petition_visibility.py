"""What the public sees of a young petition's count (show_count_from)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from petitionkit.petitions.loader import parse_petition
from petitionkit.testing import sign_and_confirm

from .conftest import add_petition


def test_show_count_from_is_read_from_the_file() -> None:
    meta = {"title": "T", "show_count_from": 100}
    assert parse_petition("t.md", meta, "")["show_count_from"] == 100
    assert parse_petition("t.md", {"title": "T", "show_count_from": 0}, "")["show_count_from"] == 0
    assert parse_petition("t.md", {"title": "T"}, "")["show_count_from"] is None


def test_below_the_threshold_no_public_page_or_api_shows_a_number(
    app: Flask, client: FlaskClient
) -> None:
    slug = add_petition(app, show_count_from=3, goal=1000)
    sign_and_confirm(app, slug, "Aya Okafor", "aya@example.org")
    sign_and_confirm(app, slug, "Bo Lindqvist", "bo@example.org")

    for path in (f"/p/{slug}", f"/embed/{slug}", "/"):
        page = client.get(path).get_data(as_text=True)
        assert "have signed" not in page, path
        assert "data-count" not in page.split("<body", 1)[1], path
        assert "<progress" not in page, path
        assert "Aya Okafor" not in page, f"{path}: a short list of names tells the count"
    assert 'name="name"' in client.get(f"/p/{slug}").get_data(as_text=True), "still signable"

    summary = client.get(f"/api/v1/petitions/{slug}").json
    assert summary["count"] is None
    assert summary["offline"] is None
    assert summary["total"] is None
    assert summary["goal"] is None
    assert summary["count_hidden"] is True
    assert client.get(f"/embed/{slug}/count.json").json == {
        "count": None, "count_hidden": True, "goal": None, "text": "", "percent": "",
    }


def test_the_cli_and_the_handover_report_see_the_true_count(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    slug = add_petition(app, show_count_from=100)
    sign_and_confirm(app, slug, "Aya Okafor", "aya@example.org")
    listing = runner.invoke(args=["petition", "list"]).output
    assert f"{slug}\topen\t1\t" in listing
    report = runner.invoke(
        args=["deliver", slug, "--report", "--output-dir", str(tmp_path)]
    ).output
    assert report.startswith("1 signature(s)")


def test_from_the_threshold_on_the_count_shows_everywhere(
    app: Flask, client: FlaskClient
) -> None:
    slug = add_petition(app, show_count_from=2, goal=1000)
    sign_and_confirm(app, slug, "Aya Okafor", "aya@example.org")
    assert client.get(f"/api/v1/petitions/{slug}").json["count_hidden"] is True
    app.extensions["petitionkit.summary_cache"].clear()
    sign_and_confirm(app, slug, "Bo Lindqvist", "bo@example.org")

    page = client.get(f"/p/{slug}").get_data(as_text=True)
    assert "2 have signed. Let&#39;s get to 1,000!" in page
    summary = client.get(f"/api/v1/petitions/{slug}").json
    assert (summary["count"], summary["total"], summary["count_hidden"]) == (2, 2, False)
    assert client.get(f"/embed/{slug}/count.json").json["count"] == 2


def test_signatures_on_paper_count_towards_the_threshold(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    slug = add_petition(app, show_count_from=50)
    added = runner.invoke(args=["petition", "offline", slug, "--add", "60", "--note", "Stall"])
    assert added.exit_code == 0, added.output
    summary = client.get(f"/api/v1/petitions/{slug}").json
    assert (summary["count"], summary["offline"], summary["count_hidden"]) == (0, 60, False)
