"""What the public sees of a young petition's count (show_count_from) and of an archived one."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from petitionkit.extensions import db
from petitionkit.petitions.loader import parse_petition
from petitionkit.signatures.models import Signature
from petitionkit.testing import sign_and_confirm

from .conftest import add_petition

SIGNER = {"name": "Lio Brannock", "email": "lio@example.org"}


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


def test_an_archived_petition_stays_online_read_only_and_off_the_front_page(
    app: Flask, client: FlaskClient
) -> None:
    add_petition(app, slug="still-open", title="Still open")
    slug = add_petition(app, slug="old-campaign", title="An old campaign", status="archived")

    assert "old-campaign" not in client.get("/").get_data(as_text=True)
    for path in (f"/p/{slug}", f"/embed/{slug}"):
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert "This petition is archived and no longer takes signatures." in page, path
        assert "<form" not in page.split("<main", 1)[1], f"{path}: no form"
    assert client.get(f"/api/v1/petitions/{slug}").json["status"] == "archived"

    as_form = client.post(f"/p/{slug}/sign", data=SIGNER)
    assert as_form.status_code == 409
    assert "This petition is archived" in as_form.get_data(as_text=True)
    as_json = client.post(f"/api/v1/petitions/{slug}/signatures", json=SIGNER,
                          headers={"Origin": "http://127.0.0.1:8000"})
    assert as_json.status_code == 409
    assert as_json.json == {"error": "This petition is archived and no longer takes signatures."}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 0


def test_archived_loads_from_a_file(runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = tmp_path / "old-campaign.md"
    path.write_text("---\ntitle: An old campaign\nstatus: archived\n---\nDone.\n",
                    encoding="utf-8")
    assert runner.invoke(args=["petition", "load", str(path)]).output == (
        "created old-campaign\n"
    )
    assert "old-campaign\tarchived\t0\t" in runner.invoke(args=["petition", "list"]).output
