"""A petition's figures in the workspace: the hourly aggregate kept at confirmation and
withdrawal, rebuilt by recount, and the page that reads it (every role, unknown petitions)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from petitionkit.extensions import db
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.signatures import figures
from petitionkit.signatures.models import ConfirmedHour, Signature
from petitionkit.testing import sign_and_confirm, withdraw

from .admin import sign_in
from .conftest import add_petition


def aggregate(app: Flask) -> dict[tuple[str, str, str], int]:
    with app.app_context():
        return {(f"{row.hour:%Y-%m-%d %H}", row.source, row.site): row.count
                for row in db.session.scalars(select(ConfirmedHour)) if row.count}


@pytest.mark.parametrize("database", ["app", "pg_app"])
def test_the_aggregate_follows_confirmations_and_withdrawals(
    request: pytest.FixtureRequest, database: str,
) -> None:
    app: Flask = request.getfixturevalue(database)
    add_petition(app)
    ids = [sign_and_confirm(app, "free-the-poet", f"S {n}", f"s{n}@example.org",
                            source="partner-site" if n % 2 else None,
                            site="campaign.example" if n >= 3 else None) for n in range(5)]
    hour = f"{utcnow():%Y-%m-%d %H}"
    assert aggregate(app) == {(hour, "", ""): 2, (hour, "partner-site", ""): 1,
                              (hour, "partner-site", "campaign.example"): 1,
                              (hour, "", "campaign.example"): 1}
    withdraw(app, ids[1], "signer")
    withdraw(app, ids[4], "signer")
    assert aggregate(app) == {(hour, "", ""): 2, (hour, "partner-site", "campaign.example"): 1}
    live = aggregate(app)
    with app.app_context():
        figures.rebuild(db.session())
        db.session.commit()
    assert aggregate(app) == live  # recount's rebuild agrees with what was kept

    # Moved behind the aggregate's back, then repaired by `petitionkit recount`.
    with app.app_context():
        db.session.execute(update(Signature).where(Signature.id == ids[0])
                           .values(confirmed_at=utcnow() - timedelta(days=2)))
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["recount"]).exit_code == 0
    earlier = f"{utcnow() - timedelta(days=2):%Y-%m-%d %H}"
    assert aggregate(app) == {(earlier, "", ""): 1, (hour, "", ""): 1,
                              (hour, "partner-site", "campaign.example"): 1}


def test_the_figures_page(app: Flask, client: FlaskClient) -> None:
    add_petition(app, goal_settings={"ladder": [2, 10]}, goal=10,
                 report_actions=[{"key": "called", "label": {"en": "Called the embassy"},
                                  "outcomes": []}])
    for n in range(3):
        sign_and_confirm(app, "free-the-poet", f"S {n}", f"s{n}@example.org",
                         source="<b>partner</b>" if n else None,
                         site="xn--bcher-kva.example" if n else None)
    sign_in(client, "viewer@example.org", "viewer", app)
    page = client.get("/admin/p/free-the-poet")
    assert page.status_code == 200
    text = page.text
    assert text.count("<rect ") == 2  # the hour and the day with confirmations
    assert "&lt;b&gt;partner&lt;/b&gt;" in text and "<b>partner</b>" not in text
    sites = text.split('id="sites-heading"')[1].split("</section>")[0]
    # A site reads left to right in a cell that keeps the page's direction (its alignment).
    assert re.findall(r'<th scope="row">(?:<bdi dir="(\w+)">)?([^<]*)(?:</bdi>)?</th>'
                      r'<td class="number">(\d+)</td>', sites) == [
        ("ltr", "xn--bcher-kva.example", "2"), ("", "petition page or not named", "1")]
    assert "<dd>100%</dd>" in text  # three started, three confirmed
    assert "Called the embassy" in text
    milestones = text.split('class="milestones"')[1].split("</ul>")[0]
    assert "2 — reached" in milestones and "10 — not yet" in milestones
    assert "/admin/p/free-the-poet" in client.get("/admin/").text


def test_a_long_campaign_has_a_bar_per_day(app: Flask, client: FlaskClient) -> None:
    add_petition(app)
    with app.app_context():
        petition = db.session.scalar(select(Petition))
        assert petition is not None
        petition.created_at = utcnow() - timedelta(days=400)
        db.session.commit()
    sign_in(client, "viewer@example.org", "viewer", app)
    text = client.get("/admin/p/free-the-poet").text
    days = text.split('id="days-title"')[1].split("</figure>")[0]
    assert days.count("<text ") == len(range(0, 401, round(401 / 12)))


@pytest.mark.parametrize("role", [None, "viewer", "moderator", "editor", "owner"])
def test_every_role_reads_figures(app: Flask, client: FlaskClient, role: str | None) -> None:
    add_petition(app)
    if role:
        sign_in(client, f"{role}@example.org", role, app)
    answer = client.get("/admin/p/free-the-poet")
    assert answer.status_code == (200 if role else 303)
    if role:
        assert client.get("/admin/p/no-such-petition").status_code == 404
        assert client.get("/admin/p/%3Cscript%3E").status_code == 404
        assert client.post("/admin/p/free-the-poet").status_code in (400, 405)
