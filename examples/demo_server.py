"""The example petitions served as ``make demo`` serves them, for scripts that look at the pages.

``serving_examples(folder)`` generates a key pair, migrates a fresh SQLite database in
``folder``, loads ``examples/petitions/`` and starts the engine on a free loopback port, under
gunicorn (``server="gunicorn"``) or as ``petitionkit run`` does (``server="run"``: one process
that also delivers its mail, into ``folder/mail``). It yields the engine's address and stops it
afterwards. Used by ``benchmarks/lighthouse.py`` and ``docs/screenshots/take.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A fictional organisation, so that the header and footer look as a real deployment's do.
ORGANISATION = {
    "ORGANIZATION_NAME": "Lantern Rights Network",
    "ORGANIZATION_URL": "https://lantern.example",
    "PRIVACY_URL": "https://lantern.example/privacy",
    "CONTACT_URL": "https://lantern.example/contact",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def example_env(folder: Path, url: str, server: str = "gunicorn",
                settings: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the example engine runs with: also for ``petitionkit`` commands run
    against it (adding a workspace account, say)."""
    values = {
        "SECRET_KEY": "example-server-secret-0123456789abcdef",
        "BLIND_INDEX_KEY": "example-server-blind-index-0123456789",
        "INSTANCE_PATH": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'petitionkit.db'}",
        "PUBLIC_URL": url,
        "DATA_PUBLIC_KEY_FILE": str(folder / "data.pub"),
        **ORGANISATION,
        **(settings or {}),
    }
    if server == "gunicorn":
        values["OUTBOX_INPROCESS_WORKER"] = "false"
    else:
        # One process that takes signatures and sends their mail holds both keys.
        values["DATA_PRIVATE_KEY_FILE"] = str(folder / "data.key")
    return {**os.environ, **{f"PETITIONKIT_{key}": value for key, value in values.items()}}


@contextmanager
def serving_examples(folder: Path, server: str = "gunicorn",
                     settings: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    env = example_env(folder, url, server, settings)
    petitionkit = str(bin_dir / "petitionkit")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([petitionkit, "keys", "generate"], env=env, check=True, **quiet)
    subprocess.run([petitionkit, "db", "upgrade"], env=env, check=True, **quiet)
    subprocess.run([petitionkit, "petition", "load",
                    *map(str, sorted((ROOT / "examples/petitions").glob("*.md")))],
                   env=env, check=True, **quiet)
    command = ([str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
                "--log-level", "warning", "petitionkit:create_app()"]
               if server == "gunicorn" else [petitionkit, "run", "--port", str(port)])
    process = subprocess.Popen(command, env=env, cwd=ROOT, **quiet)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the engine did not answer /healthz within 30 s") from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
