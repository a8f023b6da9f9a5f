"""What the proof-of-work check costs a signer's browser: time to solve in real Chromium.

    python benchmarks/challenge_solve.py [--challenges 20] [--max-iterations 100000]
                                         [--cpu-slowdown 1,4]

The engine runs in this process (SQLite, ``CHALLENGE_MODE = "always"``) on a loopback port;
Debian's Chromium (/usr/bin/chromium, driven by Playwright) opens the hosted petition page,
focuses the name field as a signer would, and waits for the page's own script to say the check
is done. The time is the script's own figure carried in the solution: from asking the engine
for a challenge to holding the answer, fetch included. Each challenge is a fresh page load.

``--cpu-slowdown 4`` runs the same under Chrome's CPU throttling at 4x, DevTools' preset for a
mid-tier phone. Medians are printed with the spread; nothing is asserted.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import platform
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SLUG = "bench-petition"


def serve_engine(folder: Path, max_iterations: int) -> tuple[str, Any]:
    import flask_migrate
    from werkzeug.serving import make_server

    from petitionkit import create_app, testing

    from_port = make_server("127.0.0.1", 0, lambda *_: None)
    port = from_port.server_port
    from_port.server_close()
    url = f"http://127.0.0.1:{port}"
    app = create_app({
        "TESTING": True,
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "benchmark-secret-key-0123456789abcdef",
        "INSTANCE_PATH": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'petitionkit.db'}",
        "PUBLIC_URL": url,
        "OUTBOX_INPROCESS_WORKER": False,
        "CHALLENGE_MODE": "always",
        "CHALLENGE_MAX_ITERATIONS": max_iterations,
    })
    with app.app_context():
        flask_migrate.upgrade(revision="heads")
    testing.add_petition(app, slug=SLUG)
    # Werkzeug's request log would drown the figures.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return url, server


def solve_times(browser: Any, url: str, challenges: int, slowdown: float) -> list[dict[str, float]]:
    context = browser.new_context()
    page = context.new_page()
    if slowdown > 1:
        session = context.new_cdp_session(page)
        session.send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
    results = []
    for _ in range(challenges):
        page.goto(f"{url}/p/{SLUG}")
        page.focus("#name")
        done = page.get_attribute(".challenge-status", "data-done")
        # A locator rather than a script: the page's policy allows no eval.
        page.locator(".challenge-status", has_text=done).wait_for(timeout=120_000)
        payload = json.loads(base64.b64decode(page.input_value("input[name=altcha]")))
        solution = payload["solution"]
        results.append({"ms": float(solution["time"]), "hashes": solution["counter"] + 1})
    context.close()
    return results


def report(results: list[dict[str, float]], slowdown: float, max_iterations: int) -> str:
    times = sorted(result["ms"] for result in results)
    rates = [result["hashes"] / (result["ms"] / 1000) for result in results if result["ms"] > 0]
    rate = statistics.median(rates)
    label = "no throttling" if slowdown <= 1 else f"CPU throttled {slowdown:g}x"
    return (
        f"{label}: median {statistics.median(times):.0f} ms over {len(times)} challenges "
        f"(min {times[0]:.0f}, max {times[-1]:.0f}); median {rate:,.0f} hashes/s, so the "
        f"worst case of {max_iterations:,} hashes takes about {max_iterations / rate * 1000:.0f} ms"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--challenges", type=int, default=20)
    parser.add_argument("--max-iterations", type=int, default=None,
                        help="CHALLENGE_MAX_ITERATIONS; the engine's default when not given")
    parser.add_argument("--cpu-slowdown", default="1,4",
                        help="comma-separated Chrome CPU throttling rates")
    arguments = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"Cannot benchmark: no Chromium at {CHROMIUM} (`apt-get install chromium`)",
              file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from petitionkit.config import DEFAULTS

    max_iterations = arguments.max_iterations or int(DEFAULTS["CHALLENGE_MAX_ITERATIONS"])
    with tempfile.TemporaryDirectory() as folder:
        url, server = serve_engine(Path(folder), max_iterations)
        try:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                version = browser.version
                lines = []
                for slowdown in (float(value) for value in arguments.cpu_slowdown.split(",")):
                    results = solve_times(browser, url, arguments.challenges, slowdown)
                    lines.append(report(results, slowdown, max_iterations))
                    print(lines[-1], flush=True)
                browser.close()
        finally:
            server.shutdown()
    print(f"\nChromium {version}, Python {platform.python_version()}, "
          f"CHALLENGE_MAX_ITERATIONS = {max_iterations:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
