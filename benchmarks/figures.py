"""The workspace's figures page on a petition of a million signatures, beside a bare baseline.

    python benchmarks/figures.py [--size 1000000] [--databases sqlite,postgresql] [--rounds 15]

For each database kind a fresh database (migrated with the engine's migrations) gets one open
petition and ``--size`` confirmed signatures spread over 30 days, three sources and four
embedding sites (the petition's own page among them), beside a quarter as many pending (an 80 %
confirmation rate) and 2 % withdrawn, which the page counts from the signatures' index, all
written in batches through Core;
`petitionkit recount`'s rebuild then fills the hourly aggregate (``confirmed_hours``), timed. In
one process, through the app's own WSGI entry point with a signed-in owner, it then times:

- the engine: GET /admin/p/SLUG, the whole page (both charts, sources, sites, confirmation rate,
  milestones, reported actions, the outbox's health);
- the baseline: the per-hour numbers of the same chart straight from the signatures (one
  GROUP BY over the petition's confirmed signatures, no Flask, no template): what the page would
  cost without the aggregate, for its first chart alone.

The median and the slowest of ``--rounds`` requests are printed; the goal is a page within 300 ms.
PostgreSQL needs a server at 127.0.0.1:5432 (user ``postgres``, trust); without one its rows are
skipped with a message.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from run import (
    SLUG,
    engine_config,
    exit_cleanly_on_sigterm,
    postgres_databases,
    postgres_unavailable,
    prepare_database,
)

SOURCES = (None, "partner-site", "newsletter")
# Hosts of the pages embedding the widget; None for the petition's own page. Four against three
# sources, so every pair of a source and a site turns up within each hour.
SITES = (None, "www.campaign.example", "partner.example", "xn--bcher-kva.example")
SPAN = timedelta(days=30)
PASSWORD = "a benchmark passphrase"


# Beside the confirmed signatures: those never confirmed and those withdrawn, per confirmed one.
PENDING_SHARE = 0.25
CANCELLED_SHARE = 0.02


def status_of(number: int, size: int) -> str:
    """Rows past ``size`` are the pending ones, then the withdrawn ones."""
    if number < size:
        return "confirmed"
    return "pending" if number < size + int(size * PENDING_SHARE) else "cancelled"


def fill(database_url: str, petition_id: int, size: int) -> float:
    """``size`` confirmed signatures and the others; returns the seconds the aggregate's
    rebuild took."""
    from sqlalchemy import create_engine, insert
    from sqlalchemy.orm import Session

    from petitionkit.signatures.figures import rebuild
    from petitionkit.signatures.models import Signature

    start = datetime.now(UTC) - SPAN
    step = SPAN / size
    rows_in_all = size + int(size * PENDING_SHARE) + int(size * CANCELLED_SHARE)
    engine = create_engine(database_url)
    try:
        for batch_start in range(0, rows_in_all, 20_000):
            rows = [{
                "petition_id": petition_id, "email_hash": number.to_bytes(32, "big"),
                "sealed": b"sealed", "status": status_of(number, size), "token_nonce": "n",
                "consent_updates": False, "show_name": False, "locale": "en",
                "source": SOURCES[number % 3], "site": SITES[number % 4],
                "mail_suppressed": False, "mails_sent_today": 0,
                "extra": {}, "created_at": start + step * (number % size),
                "confirmed_at": None if status_of(number, size) == "pending"
                else start + step * (number % size),
            } for number in range(batch_start, min(batch_start + 20_000, rows_in_all))]
            with engine.begin() as connection:
                connection.execute(insert(Signature), rows)
        with Session(engine) as session:
            began = time.perf_counter()
            rebuild(session)
            session.commit()
            return time.perf_counter() - began
    finally:
        engine.dispose()


def measure(kind: str, database_url: str, folder: Path, size: int, rounds: int) -> str:
    from petitionkit import create_app
    from petitionkit.extensions import db
    from petitionkit.petitions.models import Petition
    from petitionkit.signatures.figures import naive_per_hour

    petition_id = prepare_database(database_url, folder)
    rebuild_seconds = fill(database_url, petition_id, size)
    app = create_app({**engine_config(database_url, folder, "http://127.0.0.1"),
                      "ADMIN_REQUIRE_SECOND_FACTOR": False})
    runner = app.test_cli_runner()
    added = runner.invoke(args=["users", "add", "owner@example.org", "--role", "owner",
                                "--password-stdin"], input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    client = app.test_client()
    login = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login)
    assert token is not None
    answer = client.post("/admin/login", data={"csrf_token": token.group(1),
                                               "email": "owner@example.org",
                                               "password": PASSWORD})
    assert answer.status_code == 303, answer.status_code

    page_times: list[float] = []
    for _ in range(rounds):
        began = time.perf_counter()
        page = client.get(f"/admin/p/{SLUG}")
        page_times.append(time.perf_counter() - began)
        assert page.status_code == 200
    sites = page.get_data(as_text=True).split('id="sites-heading"')[1].split("</section>")[0]
    assert all(site in sites for site in SITES if site), "an embedding site is missing"
    total = re.search(r'id="days-title">[^<]*<span class="chart-total">total ([\d,]+)</span>',
                      page.get_data(as_text=True))
    baseline_times: list[float] = []
    with app.app_context():
        petition = db.session.get(Petition, petition_id)
        assert petition is not None
        for _ in range(rounds):
            began = time.perf_counter()
            hours = naive_per_hour(db.session(), petition)
            baseline_times.append(time.perf_counter() - began)
        db.engine.dispose()
    counted = sum(count for _hour, count in hours)
    assert counted == size, (counted, size)
    shown = total.group(1) if total else "?"
    rate = re.search(r"Confirmation rate</dt><dd>([^<]+)</dd>", page.get_data(as_text=True))
    return (f"| {kind} | {size:,} | {statistics.median(page_times) * 1000:.0f} | "
            f"{max(page_times) * 1000:.0f} | {statistics.median(baseline_times) * 1000:.0f} | "
            f"{max(baseline_times) * 1000:.0f} | {rebuild_seconds:.1f} | {shown} | "
            f"{rate.group(1) if rate else '?'} |")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=15)
    arguments = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average before: "
          f"{' / '.join(f'{load:.1f}' for load in os.getloadavg())}")
    print("| database | signatures | page median ms | page slowest ms | baseline median ms | "
          "baseline slowest ms | aggregate rebuild s | confirmed in the days chart | "
          "confirmation rate shown |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for kind in arguments.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="petitionkit-figures-") as name:
            folder = Path(name)
            if kind == "sqlite":
                print(measure(kind, f"sqlite:///{folder / 'figures.db'}", folder,
                              arguments.size, arguments.rounds), flush=True)
            elif kind == "postgresql":
                missing = postgres_unavailable()
                if missing:
                    print(f"postgresql skipped: {missing}")
                    continue
                with postgres_databases() as (database_url, _unused):
                    print(measure(kind, database_url, folder, arguments.size, arguments.rounds),
                          flush=True)
            else:
                parser.error(f"unknown database kind {kind!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
