"""Instructions per signing, engine beside baseline, counted by valgrind: a figure the host's
load does not move.

    python benchmarks/instructions.py [--requests 300]

Timings on a shared machine swing with whatever else the host runs (``run.py`` reports its
rounds so the swing shows). Counted instructions do not: valgrind's callgrind tool runs the
process on a simulated CPU and counts every instruction it executes, so the same code and
inputs give the same count, busy host or not. This calls each app's WSGI entry point with the
requests wrk sends (as ``cpu_per_request.py`` does, SQLite, every request a new signer) and
counts only the signings: the interpreter's start-up, the imports and a warm-up of 200 requests
run uninstrumented, then counting is switched on (``callgrind_control -i on``). Each figure is
the difference between counting ``2N`` and ``N`` signings, divided by ``N``, which takes out the
fixed cost of switching on. The two runs of each figure run side by side.

What it leaves out is what happens outside the Python process: the server, the kernel's
sockets, the load generator and SQLite's waits for its write lock. ``run.py`` is what the goals
are judged by; this is what to compare when changing the signing path. Needs Debian's
``valgrind`` (which provides ``callgrind_control``); a run takes about two minutes.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARM_UP = 200
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def count(app: str, mode: str, requests: int) -> int:
    """Instructions callgrind counted for ``requests`` signings of ``app`` in ``mode``."""
    with tempfile.TemporaryDirectory(prefix="petitionkit-instructions-") as folder:
        completed = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no",
             f"--callgrind-out-file={Path(folder) / 'callgrind.out'}",
             sys.executable, str(Path(__file__).resolve()), "--child", app, mode,
             "--requests", str(requests)],
            capture_output=True, text=True, cwd=HERE.parent,
        )
    match = _COLLECTED.search(completed.stderr)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"{app} {mode}: the counted run failed:\n{completed.stderr[-2000:]}")
    return int(match.group(1))


def per_request(app: str, mode: str, requests: int) -> float:
    with ThreadPoolExecutor(max_workers=2) as pool:
        single, double = pool.map(lambda n: count(app, mode, n), (requests, 2 * requests))
    return (double - single) / requests


def child(app_name: str, mode: str, requests: int) -> int:
    """Runs inside valgrind: warm up uninstrumented, switch counting on, sign ``requests``."""
    sys.path.insert(0, str(HERE))
    from cpu_per_request import ACCEPTED, build_apps, sign_once

    logging.disable(logging.CRITICAL)
    # The check as production runs it when no petition is flooded ("auto", see run.py).
    engine, baseline = build_apps(Path(tempfile.mkdtemp(prefix="petitionkit-instructions-")),
                                  "auto")
    app = engine if app_name == "engine" else baseline
    for _ in range(WARM_UP):
        sign_once(app, mode)
    subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())],
                   check=True, capture_output=True)
    statuses = {sign_once(app, mode) for _ in range(requests)}
    if not statuses <= ACCEPTED:
        print(f"{app_name} {mode}: refused: {statuses}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="N: signings counted")
    parser.add_argument("--child", nargs=2, metavar=("APP", "MODE"), help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        return child(*arguments.child, arguments.requests)
    missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
    if missing:
        print(f"Cannot count instructions; missing {', '.join(missing)} "
              "(Debian: apt-get install valgrind).", file=sys.stderr)
        return 2
    print(f"Instructions per signing, {arguments.requests} counted (SQLite, in-process):")
    for mode in ("form", "json"):
        engine = per_request("engine", mode, arguments.requests)
        baseline = per_request("baseline", mode, arguments.requests)
        print(f"  {mode:<4}  engine {engine / 1e6:.2f} M  baseline {baseline / 1e6:.2f} M  "
              f"({engine / baseline:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
