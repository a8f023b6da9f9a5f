"""The documented scale-out deployment, run for real: `petitionkit db upgrade` and
`petition load` against PostgreSQL, `gunicorn 'petitionkit:create_app()'` with two worker
processes and Redis rate limits, and a separate `petitionkit worker` delivering through SMTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import TEST_SECRET, free_port
from .smtp import RecordingSMTPServer, link_from

EXAMPLES = sorted((Path(__file__).parent.parent / "examples" / "petitions").glob("*.md"))
CLI = [sys.executable, "-c", "from petitionkit.cli import main; main()"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def request(url: str, data: dict[str, str] | None = None) -> tuple[int, bytes]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=body), timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def deployment_env(
    tmp_path: Path, postgres_url: str, redis_url: str, smtp_server: RecordingSMTPServer
) -> Iterator[tuple[dict[str, str], int]]:
    port = free_port()
    instance = tmp_path / "instance"
    instance.mkdir()
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("PETITIONKIT_")}
    environment.update({
        "PETITIONKIT_INSTANCE_PATH": str(instance),
        "PETITIONKIT_SECRET_KEY": TEST_SECRET,
        "PETITIONKIT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PETITIONKIT_DATABASE_URL": postgres_url,
        "PETITIONKIT_RATELIMIT_STORAGE_URI": redis_url,
        "PETITIONKIT_RATELIMIT_SIGN": "1000/minute",
        "PETITIONKIT_MAIL_URL": smtp_server.url,
        "PETITIONKIT_MAIL_FROM": "Petitions <petitions@example.org>",
        "PETITIONKIT_OUTBOX_INPROCESS_WORKER": "false",
        "PETITIONKIT_OUTBOX_POLL_INTERVAL": "0.2",
        "PETITIONKIT_COUNT_CACHE_SECONDS": "0",
    })
    yield environment, port


def wait_until_serving(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            if request(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not start serving")


def test_gunicorn_workers_postgresql_redis(
    deployment_env: tuple[dict[str, str], int], smtp_server: RecordingSMTPServer, tmp_path: Path
) -> None:
    environment, port = deployment_env
    cwd = tmp_path
    # Split keys: the web processes hold the public key only; the worker, which sends the mail,
    # holds the private key too.
    generated = subprocess.run([*CLI, "keys", "generate", "--dir", environment[
        "PETITIONKIT_INSTANCE_PATH"]], env=environment, capture_output=True, text=True, timeout=60)
    assert generated.returncode == 0, generated.stderr
    worker_environment = {**environment, "PETITIONKIT_DATA_PRIVATE_KEY_FILE": "data.key"}
    for command in (["db", "upgrade"], ["petition", "load", *map(str, EXAMPLES)]):
        done = subprocess.run([*CLI, *command], env=environment, cwd=cwd, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    base = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "petitionkit:create_app()", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"],
        env=environment, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen([*CLI, "worker"], env=worker_environment, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until_serving(base, web)
        status, page = request(f"{base}/p/bring-daniel-home")
        assert status == 200 and b"Bring Daniel Oduya home" in page

        status, _ = request(f"{base}/p/bring-daniel-home/sign",
                            {"name": "Mira Testwood", "email": "mira@example.org"})
        assert status == 303
        [message] = smtp_server.wait_for(1, timeout=30)
        confirm_url = link_from(message, f"{base}/confirm/")
        assert request(confirm_url, {})[0] == 200

        status, body = request(f"{base}/api/v1/petitions/bring-daniel-home")
        assert status == 200
        assert json.loads(body)["count"] == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        web.send_signal(signal.SIGTERM)
        _, worker_errors = worker.communicate(timeout=30)
        web.wait(timeout=30)
    assert worker.returncode == 0, worker_errors.decode()
    assert b"mira@example.org" not in worker_errors, "no address in the worker's log"
