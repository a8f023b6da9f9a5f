"""CPU time per signing inside one process, engine beside baseline: a quick, quiet measure.

    python benchmarks/cpu_per_request.py [--requests 300] [--rounds 8]

The load test (``run.py``) measures what a client sees, and on a shared machine it swings with
whatever else runs. This calls each app's WSGI entry point directly, with the same requests wrk
sends (a new address each time), and reports the CPU time (``time.process_time``) per request,
best of several rounds: the cost of the Python code alone, without a server, sockets or the
load generator. It is what to look at when changing the signing path (compare runs made one
after the other: a busy host still moves it by up to a tenth); ``run.py`` is what the goals are
judged by. SQLite only, in a folder of its own. ``--challenge`` sets the engine's proof-of-work
check as ``run.py`` does; with ``always`` the solutions are made before each round, outside the
time measured.
"""

from __future__ import annotations

import argparse
import io
import itertools
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from run import (
    CHALLENGE_SETTINGS,
    ORGANISATION_ORIGIN,
    SLUG,
    engine_config,
    prepare_database,
    write_solutions,
)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PUBLIC_URL = "http://127.0.0.1:5000"
# Numbers the signers across every measurement, so that no request repeats an earlier address.
_SIGNERS = itertools.count(1)


def environ(mode: str, number: int, solution: str | None = None) -> dict[str, Any]:
    """The request ``load.lua`` sends for ``mode`` (form or json), as a WSGI environ."""
    if mode == "form":
        body = f"name=Test+Signer+{number}&email=signer-{number}%40example.org".encode()
        if solution is not None:
            body += b"&altcha=" + quote(solution, safe="").encode()
        path, content_type, origin = f"/p/{SLUG}/sign", "application/x-www-form-urlencoded", \
            PUBLIC_URL
    else:
        extra = f',"altcha":"{solution}"' if solution is not None else ""
        body = (f'{{"name":"Test Signer {number}","email":"signer-{number}@example.org"{extra}}}'
                .encode())
        path, content_type, origin = (f"/api/v1/petitions/{SLUG}/signatures",
                                      "application/json", ORGANISATION_ORIGIN)
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:5000", "HTTP_ORIGIN": origin,
        "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def build_apps(folder: Path, challenge: str) -> tuple[WsgiApp, WsgiApp]:
    """The engine and the baseline, each on a fresh SQLite database of its own in ``folder``."""
    engine_url = f"sqlite:///{folder / 'engine.db'}"
    baseline_url = f"sqlite:///{folder / 'baseline.db'}"
    prepare_database(engine_url, folder)
    petition_id = prepare_database(baseline_url, folder)
    summary = folder / "summary.json"
    summary.write_bytes(b"{}")
    os.environ.update(BASELINE_DATABASE_URL=baseline_url,
                      BASELINE_PETITION_ID=str(petition_id), BASELINE_SUMMARY_FILE=str(summary))

    from baseline import create_app as create_baseline

    from petitionkit import create_app

    engine = create_app(engine_config(engine_url, folder, PUBLIC_URL, challenge=challenge))
    return engine, create_baseline()


def sign_once(app: WsgiApp, mode: str, solution: str | None = None) -> str:
    """One signing by a signer never seen before; returns the status line."""
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        statuses.append(status)

    body = app(environ(mode, next(_SIGNERS), solution), start_response)
    b"".join(body)
    close = getattr(body, "close", None)
    if close is not None:
        close()
    return statuses[0]


ACCEPTED = frozenset({"303 SEE OTHER", "202 ACCEPTED"})


def solutions(count: int, challenge: str, folder: Path) -> list[str | None]:
    """A solution for each of ``count`` signings when the check is always on, else None each."""
    made = write_solutions(folder / "solutions.txt", count, challenge)
    if made is None:
        return [None] * count
    return list(made.read_text().split())


def cpu_per_request(app: WsgiApp, mode: str, requests: int, rounds: int,
                    challenge: str = "off", folder: Path | None = None) -> float:
    """Seconds of CPU per request, best of ``rounds``; every request is a new signer."""
    folder = folder or Path(tempfile.mkdtemp(prefix="petitionkit-cpu-"))
    statuses = [sign_once(app, mode, solution)  # warm-up: imports, caches
                for solution in solutions(requests, challenge, folder)]
    if statuses[-1] not in ACCEPTED:
        raise RuntimeError(f"{mode}: the app answered {statuses[-1]}, not a signing")
    best = float("inf")
    for _ in range(rounds):
        prepared = solutions(requests, challenge, folder)
        started = time.process_time()
        for solution in prepared:
            statuses.append(sign_once(app, mode, solution))
        best = min(best, (time.process_time() - started) / requests)
    if any(status not in ACCEPTED for status in statuses):
        raise RuntimeError(f"{mode}: some requests were refused: {set(statuses)}")
    return best


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per round")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--challenge", default="auto", choices=sorted(CHALLENGE_SETTINGS))
    arguments = parser.parse_args(argv)
    # Both apps log nothing here: each request's one log line would go to this terminal.
    logging.disable(logging.CRITICAL)

    folder = Path(tempfile.mkdtemp(prefix="petitionkit-cpu-"))
    engine, baseline = build_apps(folder, arguments.challenge)
    print(f"CPU per request, best of {arguments.rounds} rounds of {arguments.requests} "
          f"(SQLite, in-process, challenge {arguments.challenge}):")
    for mode in ("form", "json"):
        engine_cpu = cpu_per_request(engine, mode, arguments.requests, arguments.rounds,
                                     arguments.challenge, folder)
        baseline_cpu = cpu_per_request(baseline, mode, arguments.requests, arguments.rounds)
        print(f"  {mode:<4}  engine {engine_cpu * 1000:.3f} ms  baseline "
              f"{baseline_cpu * 1000:.3f} ms  ({engine_cpu / baseline_cpu:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
