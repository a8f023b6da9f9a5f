"""Export a petition of a million signatures: time and peak memory, beside a bare export.

    python benchmarks/export_scale.py [--sizes 100000,1000000] [--databases sqlite,postgresql]

For each database kind a fresh database (migrated with the engine's migrations) gets one open
petition, then confirmed signatures in steps up to each size. At each size two processes run one
after the other, each started from here and measured by the kernel (``wait4``: peak resident
memory, CPU time) and the clock:

- the engine: ``petitionkit export SLUG --format csv --output FILE``, as an operator runs it;
- the baseline: a bare Python process that reads the same columns of the confirmed signatures,
  in the same order, through the database driver alone (one query, ``fetchmany`` of 1,000 rows;
  a server-side cursor on PostgreSQL) and writes them with ``csv.writer``. No SQLAlchemy, no
  Flask, no plugin, no formula neutralising, no pages.

Both files are counted: each must hold one line per signature plus its header. Memory that stays
the same from the smaller size to the larger is what the export promises (pages of 1,000 rows);
the ratios are printed, not asserted. PostgreSQL needs a server at 127.0.0.1:5432 (user
``postgres``, trust); without one its rows are skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from run import (
    ROOT,
    SLUG,
    engine_config,
    exit_cleanly_on_sigterm,
    postgres_databases,
    postgres_unavailable,
    prepare_database,
)

# The bare export: the driver, a query and csv.writer. argv: driver, DSN, petition id, output.
BARE_EXPORT = r"""
import csv, sys
driver, dsn, petition_id, output = sys.argv[1:]
if driver == "sqlite":
    import sqlite3
    connection = sqlite3.connect(dsn)
    marker = "?"
else:
    import psycopg
    connection = psycopg.connect(dsn)
    marker = "%s"
# On PostgreSQL a named (server-side) cursor, so rows stream instead of all arriving at once.
cursor = connection.cursor() if driver == "sqlite" else connection.cursor(name="bare_export")
cursor.execute(
    "SELECT id, status, name, email, country, postal_code, locale, source, consent_updates,"
    " consent_version, show_name, created_at, confirmed_at, extra FROM signatures"
    f" WHERE petition_id = {marker} AND status = 'confirmed' ORDER BY confirmed_at, id",
    (int(petition_id),),
)
with open(output, "w", newline="", encoding="utf-8") as out:
    writer = csv.writer(out)
    writer.writerow([column[0] for column in cursor.description])
    while rows := cursor.fetchmany(1000):
        writer.writerows(rows)
"""


@dataclass(frozen=True)
class ProcessFigures:
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    lines: int


# Started between this process and the measured one. Linux carries a process's peak memory
# across fork and exec, so a command started from here directly would report at least this
# process's own size (SQLAlchemy and petitionkit imported); started from this small launcher, it
# reports its own peak, or the launcher's ten-odd MiB if that is more. Prints the kernel's
# account of the command (wait4) as JSON on standard error's last line.
LAUNCHER = r"""
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_pid, status, usage = os.wait4(pid, 0)
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss,
                  "cpu": usage.ru_utime + usage.ru_stime}), file=sys.stderr)
"""


def measure_process(command: list[str], env: dict[str, str], output: Path) -> ProcessFigures:
    """Run ``command`` to completion; the kernel's account of it and the lines it wrote."""
    output.unlink(missing_ok=True)
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", LAUNCHER, *command], cwd=ROOT,
                               env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, check=True)
    seconds = time.perf_counter() - started
    *errors, last = completed.stderr.splitlines() or [""]
    account = json.loads(last)
    if account["exit"] != 0:
        raise RuntimeError(f"{command[0]} failed ({account['exit']}):\n" + "\n".join(errors))
    with output.open("rb") as written:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: written.read(1 << 20), b""))
    return ProcessFigures(
        seconds=seconds,
        cpu_seconds=account["cpu"],
        peak_rss_mib=account["maxrss_kib"] / 1024,
        lines=lines,
    )


def add_confirmed(database_url: str, folder: Path, petition_id: int, first: int,
                  count: int) -> None:
    """``count`` confirmed signatures numbered from ``first``, in batches, through Core; their
    personal data sealed to the key pair in ``folder`` as the signing path seals it."""
    from sqlalchemy import create_engine, insert

    from petitionkit.encryption import Sealer, key_file_names
    from petitionkit.signatures.models import PersonalData, Signature

    public_name, _ = key_file_names("data")
    sealer = Sealer(public_key_file=folder / public_name, private_key_file=None)

    start = datetime(2026, 1, 1, tzinfo=UTC)
    engine = create_engine(database_url)
    try:
        for batch_start in range(first, first + count, 10_000):
            batch_end = min(batch_start + 10_000, first + count)
            rows = [{
                "petition_id": petition_id, "email_hash": number.to_bytes(32, "big"),
                "sealed": sealer.seal_json(PersonalData(
                    name=f"Signer Number {number}", email=f"signer{number}@example.org",
                ).to_json()),
                "country": "NL" if number % 3 else None,
                "status": "confirmed", "token_nonce": "n", "consent_updates": number % 2 == 0,
                "consent_version": "1" if number % 2 == 0 else None, "show_name": False,
                "locale": "en", "source": None, "mail_suppressed": False, "mails_sent_today": 0,
                "extra": {}, "created_at": start, "confirmed_at": start + timedelta(seconds=number),
            } for number in range(batch_start, batch_end)]
            with engine.begin() as connection:
                connection.execute(insert(Signature), rows)
    finally:
        engine.dispose()


def driver_dsn(database_url: str) -> tuple[str, str]:
    if database_url.startswith("sqlite:///"):
        return "sqlite", database_url.removeprefix("sqlite:///")
    return "postgresql", database_url.replace("postgresql+psycopg://", "postgresql://")


def measure_database(kind: str, database_url: str, folder: Path, sizes: list[int]) -> list[str]:
    petition_id = prepare_database(database_url, folder)
    env = {f"PETITIONKIT_{key}": value if isinstance(value, str) else json.dumps(value)
           for key, value in engine_config(database_url, folder, "http://127.0.0.1",
                                           private_key=True).items()}
    petitionkit = str(Path(sys.executable).parent / "petitionkit")
    driver, dsn = driver_dsn(database_url)
    rows: list[str] = []
    stored = 0
    for size in sizes:
        add_confirmed(database_url, folder, petition_id, stored, size - stored)
        stored = size
        engine_file, bare_file = folder / "engine.csv", folder / "bare.csv"
        engine = measure_process(
            [petitionkit, "export", SLUG, "--format", "csv", "--output", str(engine_file)],
            env, engine_file)
        bare = measure_process(
            [sys.executable, "-c", BARE_EXPORT, driver, dsn, str(petition_id), str(bare_file)],
            {}, bare_file)
        lost = [name for name, figures in (("engine", engine), ("baseline", bare))
                if figures.lines != size + 1]
        row = (f"| {kind} | {size:,} | {engine.seconds:.1f} | {size / engine.seconds:,.0f} | "
               f"{engine.peak_rss_mib:.0f} | {bare.seconds:.1f} | {size / bare.seconds:,.0f} | "
               f"{bare.peak_rss_mib:.0f} | {bare.seconds / engine.seconds:.2f} | "
               + ("LOST: " + ", ".join(lost) if lost else "every row") + " |")
        print(row, flush=True)
        rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        help="comma-separated signature counts, rising")
    parser.add_argument("--databases", default="sqlite,postgresql")
    arguments = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    if sizes != sorted(set(sizes)):
        parser.error("--sizes must rise")
    header = ("| database | signatures | engine s | engine rows/s | engine peak MiB | "
              "baseline s | baseline rows/s | baseline peak MiB | speed ratio | written |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average before: "
          f"{' / '.join(f'{load:.1f}' for load in os.getloadavg())}")
    print(header, flush=True)
    failed = False
    for kind in arguments.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="petitionkit-export-") as name:
            folder = Path(name)
            if kind == "sqlite":
                rows = measure_database(kind, f"sqlite:///{folder / 'export.db'}", folder, sizes)
            elif kind == "postgresql":
                missing = postgres_unavailable()
                if missing:
                    print(f"postgresql skipped: {missing}")
                    continue
                with postgres_databases() as (database_url, _unused):
                    rows = measure_database(kind, database_url, folder, sizes)
            else:
                parser.error(f"unknown database kind {kind!r}")
            failed = failed or any("LOST" in row for row in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
