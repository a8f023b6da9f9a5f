"""Load petitionkit under gunicorn on loopback, beside bare baselines measured in the same run.

    python benchmarks/run.py [--duration 10] [--workers 3] [--worker-class sync] ...

For each database kind (SQLite, and PostgreSQL at 127.0.0.1:5432 when it answers) the engine and
the baseline app of ``benchmarks/baseline.py`` get a fresh database each, migrated with the
engine's migrations and holding one open petition. Both run under the same gunicorn settings;
wrk (``benchmarks/load.lua``) then drives, one after the other:

- the form ``POST /p/SLUG/sign`` and the JSON ``POST /api/v1/petitions/SLUG/signatures``, each
  request with an address never used before, beside the baseline's bare INSERT of the same row;
- the count read ``GET /api/v1/petitions/SLUG`` beside a bare endpoint returning the same bytes.

After each signing measurement the rows in the database are counted: every answered request must
have left its signature (and, for the engine, its outbox job). Ratios are printed, not asserted.

``--challenge`` sets the engine's proof-of-work check (docs/signing.md): ``auto`` (the default, as
in production, with a threshold the load never reaches, so each worker reads the flood state
every few seconds and the check stays off), ``off``, or ``always``, where every request carries
a solution of its own, solved here beforehand, for the engine to verify and spend.
Nothing is installed here: a missing tool is named with the way to get it.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from widget_budget import DOCUMENT_BUDGET, LOADER_BUDGET, measure_widget

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
LUA_SCRIPT = HERE / "load.lua"
SECRET_KEY = "benchmark-secret-key-0123456789abcdef"
SLUG = "bench-petition"
# The JSON API is used from an organisation's own site, so it comes with that site's Origin.
ORGANISATION_ORIGIN = "https://campaign.example.org"
POSTGRES_ADMIN_URL = os.environ.get(
    "PETITIONKIT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Far above anything one client address can send in a run: wrk is a single client.
BENCH_RATELIMIT_SIGN = "100000000/minute"

SIGNING_GOAL = 1000.0
SIGNING_RATIO_GOAL = 0.5
READ_RATIO_GOAL = 0.8


@dataclass(frozen=True)
class Settings:
    workers: int
    worker_class: str
    threads: int
    duration: float
    warmup: float
    connections: int
    wrk_threads: int
    ratelimit_storage: str
    challenge: str
    cases: tuple[str, ...]
    rounds: int

    def gunicorn_arguments(self) -> list[str]:
        arguments = ["--workers", str(self.workers), "--worker-class", self.worker_class]
        if self.worker_class == "gthread":
            arguments += ["--threads", str(self.threads)]
        return arguments

    def describe(self) -> str:
        threads = f", {self.threads} threads each" if self.worker_class == "gthread" else ""
        return f"{self.workers} workers, worker class {self.worker_class}{threads}"


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    failed: int
    latency_p50_ms: float
    latency_p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def answered(self) -> int:
        return self.requests - self.failed


@dataclass
class Row:
    """One line of the results table: the engine beside its baseline, round by round.

    In each round the two are measured back to back, so whatever else the machine is doing in
    that minute weighs on both; the row reports the medians over the rounds.
    """

    database: str
    what: str
    engine_rounds: list[LoadResult]
    baseline_rounds: list[LoadResult]
    goal_ratio: float
    goal_rate: float | None
    stored_note: str = ""

    @property
    def ratios(self) -> list[float]:
        return [engine.per_second / baseline.per_second
                for engine, baseline in zip(self.engine_rounds, self.baseline_rounds, strict=True)]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def engine_rate(self) -> float:
        return statistics.median(result.per_second for result in self.engine_rounds)

    @property
    def baseline_rate(self) -> float:
        return statistics.median(result.per_second for result in self.baseline_rounds)

    @property
    def engine_p99(self) -> float:
        return statistics.median(result.latency_p99_ms for result in self.engine_rounds)

    @property
    def baseline_p99(self) -> float:
        return statistics.median(result.latency_p99_ms for result in self.baseline_rounds)

    @property
    def failed(self) -> int:
        return sum(result.failed for result in self.engine_rounds + self.baseline_rounds)


def missing_tools() -> list[str]:
    missing = []
    if shutil.which("wrk") is None:
        missing.append("wrk (the load generator): on Debian or Ubuntu `apt-get install wrk`")
    if not (Path(sys.executable).parent / "gunicorn").exists():
        missing.append(
            "gunicorn in this Python environment: `pip install -e '.[test]'` (or `make venv`)"
        )
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The proof-of-work check under load. "auto" as in production, with a flood threshold of 10,000
# signatures within one second, which the load never reaches: each worker reads the flood state
# every CHALLENGE_AUTO_CACHE_SECONDS (walking at most 10,000 index entries) and signs without the
# check. "always" with a difficulty of one hash: what the engine pays to verify a solution does
# not depend on how long the browser searched for it, and the solutions are made here.
CHALLENGE_SETTINGS: dict[str, dict[str, Any]] = {
    "off": {"CHALLENGE_MODE": "off"},
    "auto": {"CHALLENGE_MODE": "auto", "CHALLENGE_AUTO_THRESHOLD": 10_000,
             "CHALLENGE_AUTO_WINDOW": 1},
    "always": {"CHALLENGE_MODE": "always", "CHALLENGE_MAX_ITERATIONS": 1},
}
# Solutions made for each wrk run: more than the engine can take in that time at this rate.
SOLUTIONS_PER_SECOND = 4000


def engine_config(database_url: str, instance: Path, public_url: str,
                  ratelimit_storage: str = "memory://", challenge: str = "auto",
                  private_key: bool = False) -> dict[str, Any]:
    """The engine's settings; like a production web process it holds only the public key of
    the key pair personal data is sealed to, unless ``private_key`` (exports, the worker)."""
    from petitionkit.encryption import ensure_key_pair

    public, private = ensure_key_pair(instance)
    keys = {"DATA_PUBLIC_KEY_FILE": str(public)}
    if private_key:
        keys["DATA_PRIVATE_KEY_FILE"] = str(private)
    return {
        **keys,
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance),
        "PUBLIC_URL": public_url,
        "RATELIMIT_SIGN": BENCH_RATELIMIT_SIGN,
        "RATELIMIT_STORAGE_URI": ratelimit_storage,
        # In production under gunicorn mail goes out from `petitionkit worker` processes; a
        # delivery loop inside each web worker would compete with the requests being measured.
        "OUTBOX_INPROCESS_WORKER": False,
        **CHALLENGE_SETTINGS[challenge],
    }


def write_solutions(path: Path, count: int, challenge: str) -> Path | None:
    """``count`` solved challenges for the benchmark petition, one per line, for load.lua; None
    when the check is not always on."""
    if challenge != "always":
        return None
    from altcha import solve_challenge

    from petitionkit.challenges.services import ChallengePolicy, issue
    from petitionkit.config import DEFAULTS
    from petitionkit.keys import Keys

    config = {**DEFAULTS, "SECRET_KEY": SECRET_KEY, **CHALLENGE_SETTINGS[challenge]}
    policy = ChallengePolicy.from_config(config, Keys.from_config(config).challenge)
    with path.open("w") as out:
        for _ in range(count):
            made = issue(policy, SLUG)
            solution = solve_challenge(made)
            assert solution is not None
            payload = {"challenge": made.to_dict(), "solution": solution.to_dict()}
            out.write(base64.b64encode(json.dumps(payload).encode()).decode() + "\n")
    return path


def prepare_database(database_url: str, instance: Path) -> int:
    """Migrate ``database_url`` and add the open petition; returns the petition's id."""
    import flask_migrate
    from sqlalchemy import select

    from petitionkit import create_app
    from petitionkit.extensions import db
    from petitionkit.petitions.loader import upsert_petition
    from petitionkit.petitions.models import Petition

    app = create_app(engine_config(database_url, instance, "http://127.0.0.1"))
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
        upsert_petition(db.session(), {
            "slug": SLUG,
            "title": "Release the detained cartographer",
            "summary": "A mapmaker is held for drawing a border where it is.",
            "body": "Release him.",
            "body_html": "<p>Release him.</p>",
            "status": "open",
            "locale": "en",
            "goal": 1_000_000,
            "allowed_origins": [ORGANISATION_ORIGIN],
        })
        petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == SLUG))
        db.session.remove()
        db.engine.dispose()
    assert petition_id is not None
    return int(petition_id)


def count_rows(database_url: str) -> tuple[int, int]:
    """(signatures, outbox jobs) stored once the requests still in flight have finished.

    wrk stops with requests under way; the server finishes them after wrk has counted. Both
    counts come from one statement, so they see the same committed transactions.
    """
    from sqlalchemy import create_engine, text

    statement = text(
        "SELECT (SELECT count(*) FROM signatures), (SELECT count(*) FROM outbox_jobs)"
    )
    engine = create_engine(database_url)
    previous: tuple[int, int] | None = None
    deadline = time.monotonic() + 15
    try:
        while True:
            with engine.connect() as connection:
                signatures, jobs = connection.execute(statement).one()
            counts = (int(signatures), int(jobs))
            if counts == previous or time.monotonic() > deadline:
                return counts
            previous = counts
            time.sleep(0.5)
    finally:
        engine.dispose()


@contextmanager
def sqlite_databases(folder: Path) -> Iterator[tuple[str, str]]:
    yield (f"sqlite:///{folder / 'engine.db'}", f"sqlite:///{folder / 'baseline.db'}")


@contextmanager
def postgres_databases() -> Iterator[tuple[str, str]]:
    """Two databases of the benchmark's own on the local server, dropped afterwards."""
    import psycopg

    prefix = f"petitionkit_bench_{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}_engine", f"{prefix}_baseline"]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3) as connection:
        for name in names:
            connection.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0]
    try:
        yield (f"{base}/{names[0]}", f"{base}/{names[1]}")
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            for name in names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def exit_cleanly_on_sigterm() -> None:
    """A SIGTERM (``kill``, a CI timeout) unwinds like Ctrl-C, so the ``finally`` blocks stop
    the servers and drop the run's PostgreSQL databases instead of leaving them behind."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))


def postgres_unavailable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (`pip install -e '.[test]'`)"
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({str(error).strip()})"


class Server:
    """A gunicorn serving ``app`` on a port of its own, until ``stop``."""

    def __init__(self, name: str, app: str, settings: Settings, env: dict[str, str],
                 log: Path, port: int, pythonpath: Path | None = None) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "--bind", f"127.0.0.1:{self.port}",
            *settings.gunicorn_arguments(),
            "--log-level", "warning",
        ]
        if pythonpath is not None:
            command += ["--pythonpath", str(pythonpath)]
        command.append(app)
        self.name = name
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env},
            stdout=self._log_file, stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout:.0f}s")

    def stop(self) -> None:
        # SIGINT is gunicorn's quick shutdown; nothing is left in flight between measurements.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()


def run_wrk(url: str, mode: str, origin: str, settings: Settings, seconds: float,
            run_id: str, solutions: Path | None = None) -> LoadResult:
    command = [
        "wrk", "--threads", str(settings.wrk_threads), "--connections", str(settings.connections),
        "--duration", f"{seconds:g}s", "--timeout", "10s", "--script", str(LUA_SCRIPT),
        url, "--", mode, run_id, origin, str(solutions or ""), str(settings.wrk_threads),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    match = re.search(r"^BENCH_JSON (.*)$", completed.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no figures:\n{completed.stdout}\n{completed.stderr}")
    figures = json.loads(match.group(1))
    failed = sum(figures[key] for key in (
        "status_errors", "connect_errors", "read_errors", "write_errors", "timeouts"
    ))
    return LoadResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        failed=failed,
        latency_p50_ms=figures["latency_p50_us"] / 1000,
        latency_p99_ms=figures["latency_p99_us"] / 1000,
    )


def solutions_for(settings: Settings, mode: str, seconds: float) -> Path | None:
    """A fresh file of solutions for one wrk run of the engine's signing (none is used twice)."""
    if mode not in ("form", "json"):
        return None
    path = OUT / f"solutions-{uuid.uuid4().hex[:8]}.txt"
    return write_solutions(path, int(SOLUTIONS_PER_SECOND * seconds), settings.challenge)


def warm_up(url: str, mode: str, origin: str, settings: Settings,
            engine: bool = False) -> None:
    if settings.warmup > 0:
        solutions = solutions_for(settings, mode, settings.warmup) if engine else None
        run_wrk(url, mode, origin, settings, settings.warmup, uuid.uuid4().hex[:8], solutions)
        if solutions is not None:
            solutions.unlink()


def measure(url: str, mode: str, origin: str, settings: Settings, label: str,
            engine: bool = False) -> LoadResult:
    solutions = solutions_for(settings, mode, settings.duration) if engine else None
    result = run_wrk(url, mode, origin, settings, settings.duration, uuid.uuid4().hex[:8],
                     solutions)
    if solutions is not None:
        solutions.unlink()
    print(f"  {label:<62} {result.per_second:8.0f}/s  p99 {result.latency_p99_ms:7.1f} ms"
          + (f"  FAILED {result.failed}" if result.failed else ""), flush=True)
    return result


def stored_check(before: tuple[int, int], after: tuple[int, int], answered: int,
                 with_outbox: bool) -> str:
    """Every answered signing left a row (rows may exceed answers: wrk stops mid-flight)."""
    signatures = after[0] - before[0]
    jobs = after[1] - before[1]
    problems = []
    if signatures < answered:
        problems.append(f"only {signatures} rows for {answered} answered requests")
    if with_outbox and jobs != signatures:
        problems.append(f"{jobs} outbox jobs for {signatures} signatures")
    if problems:
        return "LOST: " + "; ".join(problems)
    return f"{signatures} rows"


def measurer(url: str, mode: str, origin: str, settings: Settings,
             label: str, engine: bool = False) -> Callable[[str], LoadResult]:
    """One side of a round: ``measure`` of ``url``, labelled with the round's name."""
    return lambda round_name: measure(url, mode, origin, settings, f"{label} {round_name}",
                                      engine)


def alternate(settings: Settings, label: str, engine: Callable[[str], LoadResult],
              baseline: Callable[[str], LoadResult]) -> tuple[list[LoadResult], list[LoadResult]]:
    """``settings.rounds`` rounds of engine and baseline back to back, the order swapped from one
    round to the next so that neither always runs on a machine the other has just warmed."""
    engine_results: list[LoadResult] = []
    baseline_results: list[LoadResult] = []
    for number in range(settings.rounds):
        first, second = (engine, baseline) if number % 2 == 0 else (baseline, engine)
        for side in (first, second):
            result = side(f"round {number + 1}")
            (engine_results if side is engine else baseline_results).append(result)
        ratio = engine_results[-1].per_second / baseline_results[-1].per_second
        print(f"  {label:<52} round {number + 1}: ratio {ratio:.2f}", flush=True)
    return engine_results, baseline_results


def signing_rows(kind: str, engine_server: Server, baseline_server: Server, engine_url: str,
                 baseline_url: str, settings: Settings) -> list[Row]:
    rows = []
    cases = [
        ("form", f"/p/{SLUG}/sign", "form POST /p/SLUG/sign"),
        ("json", f"/api/v1/petitions/{SLUG}/signatures",
         "JSON POST /api/v1/petitions/SLUG/signatures"),
    ]
    for mode, path, label in cases:
        if mode not in settings.cases:
            continue
        # The form comes from the engine's own page (hosted or in its iframe); the JSON from an
        # organisation's site that the petition lists in allowed_origins.
        engine_origin = engine_server.url if mode == "form" else ORGANISATION_ORIGIN
        warm_up(engine_server.url + path, mode, engine_origin, settings, engine=True)
        warm_up(baseline_server.url + path, mode, baseline_server.url, settings)
        engine_before = count_rows(engine_url)
        baseline_before = count_rows(baseline_url)
        engine_results, baseline_results = alternate(
            settings, f"{kind} {label}",
            measurer(engine_server.url + path, mode, engine_origin, settings,
                     f"{kind} engine   {label}", engine=True),
            measurer(baseline_server.url + path, mode, baseline_server.url, settings,
                     f"{kind} baseline {label}"),
        )
        engine_note = stored_check(engine_before, count_rows(engine_url),
                                   sum(result.answered for result in engine_results), True)
        baseline_note = stored_check(baseline_before, count_rows(baseline_url),
                                     sum(result.answered for result in baseline_results), False)
        rows.append(Row(kind, label, engine_results, baseline_results, SIGNING_RATIO_GOAL,
                        SIGNING_GOAL, f"engine {engine_note}; baseline {baseline_note}"))
    return rows


def read_row(kind: str, engine_server: Server, baseline_server: Server,
             settings: Settings) -> Row:
    path = f"/api/v1/petitions/{SLUG}"
    label = "GET /api/v1/petitions/SLUG"
    warm_up(engine_server.url + path, "get", "", settings)
    warm_up(baseline_server.url + path, "get", "", settings)
    engine_results, baseline_results = alternate(
        settings, f"{kind} {label}",
        measurer(engine_server.url + path, "get", "", settings, f"{kind} engine   {label}"),
        measurer(baseline_server.url + path, "get", "", settings, f"{kind} baseline {label}"),
    )
    return Row(kind, "count read GET /api/v1/petitions/SLUG", engine_results, baseline_results,
               READ_RATIO_GOAL, None)


def measure_database(kind: str, urls: tuple[str, str], folder: Path,
                     settings: Settings) -> tuple[list[Row], Server | None]:
    engine_url, baseline_url = urls
    instance = folder / f"{kind}-instance"
    instance.mkdir(parents=True, exist_ok=True)
    prepare_database(engine_url, instance)
    baseline_petition = prepare_database(baseline_url, instance)

    port = free_port()
    engine_env = {
        f"PETITIONKIT_{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in engine_config(
            engine_url, instance, f"http://127.0.0.1:{port}", settings.ratelimit_storage,
            settings.challenge,
        ).items()
    }
    engine_server = Server(f"{kind} engine", "petitionkit:create_app()", settings, engine_env,
                           folder / f"{kind}-engine.log", port)
    try:
        summary_file = folder / f"{kind}-summary.json"
        with urllib.request.urlopen(f"{engine_server.url}/api/v1/petitions/{SLUG}") as response:
            summary_file.write_bytes(response.read())
        baseline_server = Server(
            f"{kind} baseline", "baseline:create_app()", settings,
            {
                "BASELINE_DATABASE_URL": baseline_url,
                "BASELINE_PETITION_ID": str(baseline_petition),
                "BASELINE_SUMMARY_FILE": str(summary_file),
            },
            folder / f"{kind}-baseline.log", free_port(), pythonpath=HERE,
        )
        try:
            rows = signing_rows(kind, engine_server, baseline_server, engine_url, baseline_url,
                                settings)
            if "read" in settings.cases:
                rows.append(read_row(kind, engine_server, baseline_server, settings))
        finally:
            baseline_server.stop()
    except BaseException:
        engine_server.stop()
        raise
    return rows, engine_server


def widget_report(base_url: str) -> list[str]:
    sizes = measure_widget(base_url, SLUG)
    if sizes is None:
        return ["skipped: no widget (/widget.js or /embed/SLUG is not served)"]
    lines = [
        f"loader /widget.js: {sizes.loader_gzip} B gzipped (budget {LOADER_BUDGET} B): "
        + ("within" if sizes.loader_within_budget else "OVER"),
        f"iframe document with its CSS/JS: {sizes.document_gzip} B gzipped "
        f"(budget {DOCUMENT_BUDGET} B): " + ("within" if sizes.document_within_budget else "OVER"),
    ]
    lines += [f"  {path}: {size} B" for path, size in sizes.parts.items()]
    return lines


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}"


def load_average() -> str:
    """Other work on the machine takes cores from both sides; the report says how much."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def versions() -> str:
    import gunicorn
    import sqlalchemy

    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split()
    sqlite_version = __import__("sqlite3").sqlite_version
    return (f"Python {platform.python_version()}, gunicorn {gunicorn.__version__}, "
            f"SQLAlchemy {sqlalchemy.__version__}, SQLite {sqlite_version}, "
            f"wrk {wrk[1] if len(wrk) > 1 else '?'}")


def ratio_range(row: Row) -> str:
    return f"{min(row.ratios):.2f}–{max(row.ratios):.2f}"


def verdict(row: Row) -> str:
    parts = [f"median ratio {row.ratio:.2f} (rounds {ratio_range(row)}; goal >= {row.goal_ratio})"]
    if row.goal_rate is not None:
        met = row.engine_rate >= row.goal_rate
        parts.append(f"{'meets' if met else 'below'} {row.goal_rate:.0f}/s")
    return ", ".join(parts)


def markdown(rows: list[Row], settings: Settings, command: str, widget: list[str],
             skipped: list[str], load_before: str, started: datetime) -> str:
    lines = [
        f"- date: {started:%Y-%m-%d %H:%M} UTC (start of the run)",
        f"- command: `{command}`"
        + (" (what `make bench` runs)" if command.endswith(".py") else ""),
        f"- machine: {machine()}; load generator (wrk) on the same machine",
        f"- load average (1/5/15 min) before the run: {load_before}; after: {load_average()}",
        f"- {versions()}",
        f"- gunicorn: {settings.describe()}; wrk: {settings.wrk_threads} threads, "
        f"{settings.connections} connections; per row {settings.rounds} rounds of engine and "
        f"baseline back to back, {settings.duration:g} s each, after {settings.warmup:g} s of "
        "warm-up; figures are medians over the rounds",
        f"- engine configuration for the benchmark: RATELIMIT_SIGN = \"{BENCH_RATELIMIT_SIGN}\", "
        f"RATELIMIT_STORAGE_URI = \"{settings.ratelimit_storage}\", "
        "OUTBOX_INPROCESS_WORKER = False, "
        + ", ".join(f"{key} = {value!r}"
                    for key, value in CHALLENGE_SETTINGS[settings.challenge].items()),
        "",
        "| database | endpoint | engine /s | engine p99 ms | baseline /s | baseline p99 ms "
        "| ratio | ratio by round | goal | stored |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for row in rows:
        goal = f">= {row.goal_ratio} of baseline"
        if row.goal_rate is not None:
            goal += f", >= {row.goal_rate:.0f}/s"
        by_round = " ".join(f"{ratio:.2f}" for ratio in row.ratios)
        lines.append(
            f"| {row.database} | {row.what} | {row.engine_rate:.0f} "
            f"| {row.engine_p99:.1f} | {row.baseline_rate:.0f} "
            f"| {row.baseline_p99:.1f} | {row.ratio:.2f} | {by_round} | {goal} "
            f"| {row.stored_note or '-'} |"
        )
    lines.append("")
    lines += [f"- {line}" for line in skipped]
    lines += ["", "Widget budgets:", ""] + [f"    {line}" for line in widget]
    return "\n".join(lines) + "\n"


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # gunicorn's own advice for sync workers: two per core, plus one.
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="per worker, for gthread")
    parser.add_argument("--rounds", type=int, default=5,
                        help="engine/baseline pairs per row; the row reports their medians")
    parser.add_argument("--duration", type=float, default=4.0,
                        help="seconds per measurement (each side of each round)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of warm-up for each side before the rounds")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--databases", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql")
    parser.add_argument("--cases", default="form,json,read",
                        help="comma-separated: form, json (signing), read (count)")
    parser.add_argument("--ratelimit-storage", default="memory://",
                        help="the engine's RATELIMIT_STORAGE_URI, e.g. redis://127.0.0.1:6379/0")
    parser.add_argument("--challenge", default="auto", choices=sorted(CHALLENGE_SETTINGS),
                        help="the engine's proof-of-work check (see CHALLENGE_SETTINGS)")
    parser.add_argument("--markdown", type=Path, default=OUT / "results.md",
                        help="where to write the results as Markdown")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    exit_cleanly_on_sigterm()
    missing = missing_tools()
    if missing:
        print("Cannot benchmark; missing:", file=sys.stderr)
        for item in missing:
            print(f"  - {item}", file=sys.stderr)
        return 2
    settings = Settings(
        workers=arguments.workers, worker_class=arguments.worker_class,
        threads=arguments.threads, duration=arguments.duration, warmup=arguments.warmup,
        connections=arguments.connections, wrk_threads=arguments.wrk_threads,
        ratelimit_storage=arguments.ratelimit_storage,
        challenge=arguments.challenge,
        cases=tuple(case.strip() for case in arguments.cases.split(",") if case.strip()),
        rounds=max(1, arguments.rounds),
    )
    command = " ".join(["python", "benchmarks/run.py", *argv])
    OUT.mkdir(exist_ok=True)
    started = datetime.now(UTC)
    folder = OUT / started.strftime("run-%Y%m%d-%H%M%S")
    folder.mkdir()
    load_before = load_average()
    print(f"{machine()}\n{versions()}\ngunicorn: {settings.describe()}\n"
          f"load average: {load_before}\n", flush=True)

    rows: list[Row] = []
    skipped: list[str] = []
    widget: list[str] = ["skipped: no engine was started"]
    kinds = [kind.strip() for kind in arguments.databases.split(",") if kind.strip()]
    for kind in kinds:
        if kind == "sqlite":
            databases = sqlite_databases(folder)
        elif kind == "postgresql":
            problem = postgres_unavailable()
            if problem:
                skipped.append(f"skipped: PostgreSQL ({problem})")
                print(skipped[-1], flush=True)
                continue
            databases = postgres_databases()
        else:
            print(f"unknown database kind {kind!r}", file=sys.stderr)
            return 2
        with databases as urls:
            kind_rows, engine_server = measure_database(kind, urls, folder, settings)
            rows += kind_rows
            assert engine_server is not None
            try:
                if kind == kinds[0]:
                    widget = widget_report(engine_server.url)
            finally:
                engine_server.stop()

    print()
    for row in rows:
        print(f"{row.database:<10} {row.what:<46} engine {row.engine_rate:7.0f}/s "
              f"baseline {row.baseline_rate:7.0f}/s  {verdict(row)}")
        if row.stored_note:
            print(f"{'':<10} {'':<46} {row.stored_note}")
    print("\nWidget budgets:")
    for line in widget:
        print(f"  {line}")
    for line in skipped:
        print(line)

    report = markdown(rows, settings, command, widget, skipped, load_before, started)
    arguments.markdown.parent.mkdir(parents=True, exist_ok=True)
    arguments.markdown.write_text(report)
    print(f"\nMarkdown written to {arguments.markdown}")
    lost = [row for row in rows if "LOST" in row.stored_note]
    failed = [row for row in rows if row.failed]
    if lost or failed:
        print("Some requests failed or signatures were not stored; the figures above are not "
              "valid.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
