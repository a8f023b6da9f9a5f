"""Lighthouse on the pages signers see: the front page, the hosted petitions and the widget frame.

    python benchmarks/lighthouse.py [--lighthouse PATH] [--pages /,/p/SLUG,...]

The engine runs as ``make demo`` runs it (SQLite, the example petitions, the example
organisation's name and footer links) on a loopback port, under gunicorn so the figures are not
the development server's. Lighthouse 12 (npm; it needs Node 18 or later) drives Debian's
Chromium (/usr/bin/chromium) with the desktop preset and again with its default mobile
emulation (a mid-tier phone on a throttled connection), and the scores of its four categories
are printed per page.

Accessibility, best practices and SEO must be 1.00 on every hosted page: the script exits
non-zero when one is not, naming the audits that failed. The widget's frame (``/embed/SLUG``) is
judged on accessibility and best practices only: it asks search engines not to index it, so that
the hosted page is the copy they find, and Lighthouse's SEO category counts that against it.
Performance is printed, not judged: it moves with whatever else the machine runs.

Lighthouse is not a Python package; install it once with
``npm install --prefix ~/.cache/petitionkit-bench/lighthouse -E lighthouse@12.2.3`` (the
default ``--lighthouse`` path), or name another install with ``--lighthouse``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))

from demo_server import serving_examples  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ("--headless --no-sandbox --disable-gpu --disable-background-networking "
                  "--disable-component-update --disable-sync")
DEFAULT_LIGHTHOUSE = (Path.home() / ".cache/petitionkit-bench/lighthouse/node_modules/.bin"
                      / "lighthouse")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
JUDGED = ("accessibility", "best-practices", "seo")
DEFAULT_PAGES = ("/", "/p/free-journalist-salma-qadiri", "/p/letter-director-vantic",
                 "/p/urgent-action-lu-yunfei", "/embed/bring-daniel-home")
def audit(lighthouse: Path, url: str, preset: str, folder: Path) -> dict[str, object]:
    report = folder / "report.json"
    command = [str(lighthouse), url, "--quiet", "--output=json", f"--output-path={report}",
               f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={CHROMIUM_FLAGS}"]
    if preset == "desktop":
        command.append("--preset=desktop")
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM},
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    result: dict[str, object] = json.loads(report.read_text())
    return result


def failures(result: dict[str, object], category: str) -> list[str]:
    """The audits that cost ``category`` points, by title."""
    categories = result["categories"]
    audits = result["audits"]
    assert isinstance(categories, dict) and isinstance(audits, dict)
    names = []
    for reference in categories[category]["auditRefs"]:
        found = audits[reference["id"]]
        if reference["weight"] and found["score"] is not None and found["score"] < 1:
            names.append(f"{found['id']} ({found['title']})")
    return names


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lighthouse", type=Path, default=DEFAULT_LIGHTHOUSE)
    parser.add_argument("--pages", default=",".join(DEFAULT_PAGES))
    parser.add_argument("--presets", default="desktop,mobile")
    arguments = parser.parse_args(argv)
    missing = [what for what, there in (
        (f"Chromium at {CHROMIUM} (`apt-get install chromium`)", Path(CHROMIUM).exists()),
        (f"Lighthouse at {arguments.lighthouse} (see this script's docstring)",
         arguments.lighthouse.exists()),
        ("Node (`apt-get install nodejs`)", shutil.which("node") is not None),
    ) if not there]
    if missing:
        print("Cannot run Lighthouse: no " + "; no ".join(missing), file=sys.stderr)
        return 2
    version = subprocess.run([str(arguments.lighthouse), "--version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with serving_examples(folder / "instance") as url:
            print("| page | preset | performance | accessibility | best practices | SEO |")
            print("|---|---|---:|---:|---:|---:|")
            for page in arguments.pages.split(","):
                for preset in arguments.presets.split(","):
                    result = audit(arguments.lighthouse, url + page, preset, folder)
                    categories = result["categories"]
                    assert isinstance(categories, dict)
                    scores = [categories[category]["score"] for category in CATEGORIES]
                    print(f"| `{page}` | {preset} | "
                          + " | ".join(f"{score:.2f}" for score in scores) + " |", flush=True)
                    judged = [category for category in JUDGED
                              if not (category == "seo" and page.startswith("/embed/"))]
                    for category in judged:
                        if categories[category]["score"] < 1:
                            problems.append(f"{page} ({preset}) {category}: "
                                            + ", ".join(failures(result, category)))
    print(f"\nLighthouse {version}, Chromium at {CHROMIUM}, Python {platform.python_version()}")
    for problem in problems:
        print(f"BELOW 1.00: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
