"""Real server processes: the in-process delivery loop of `petitionkit run`, and gunicorn with
several workers sharing their metrics through PROMETHEUS_MULTIPROC_DIR."""

from __future__ import annotations

import email
import email.policy
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from petitionkit.extensions import db

from .conftest import add_petition, free_port, make_app
from .smtp import link_from
from .test_worker_concurrency import worker_environment

BIN = Path(sys.executable).parent


def request(port: int, method: str, path: str, form: dict[str, str] | None = None
            ) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = urlencode(form) if form is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@contextmanager
def serving(command: list[str], environment: dict[str, str], port: int, cwd: Path
            ) -> Iterator[subprocess.Popen[bytes]]:
    log = (cwd / "server.log").open("wb")
    process = subprocess.Popen(command, env=environment, cwd=cwd, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, (cwd / "server.log").read_text()
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def prepared_instance(tmp_path: Path, migrated_sqlite: Path) -> tuple[Flask, str]:
    app = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(app)
    with app.app_context():
        db.engine.dispose()
    return app, slug


def wait_for_files(folder: Path, pattern: str, count: int, timeout: float = 30) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob(pattern)) if folder.exists() else []
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"expected {count} {pattern} in {folder}")


def test_petitionkit_run_delivers_to_the_dev_folder_without_a_worker(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app, slug = prepared_instance(tmp_path, migrated_sqlite)
    port = free_port()
    environment = worker_environment(app, OUTBOX_POLL_INTERVAL="0.2")
    command = [str(BIN / "petitionkit"), "run", "--host", "127.0.0.1", "--port", str(port),
               "--with-threads"]
    with serving(command, environment, port, tmp_path):
        status, _page = request(port, "POST", f"/p/{slug}/sign",
                                {"name": "Ilse Varga", "email": "ilse@example.org"})
        assert status == 303
        [eml] = wait_for_files(Path(app.instance_path) / "mail", "*.eml", 1)
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert message["To"] == "Ilse Varga <ilse@example.org>"
        assert eml.with_suffix(".html").exists()
        confirm_url = link_from(message, "http://localhost/confirm/")  # type: ignore[arg-type]
        confirm_path = confirm_url.removeprefix("http://localhost")
        assert request(port, "GET", confirm_path)[0] == 200
    log = (tmp_path / "server.log").read_text()
    assert "POST /p/" in log and "GET /confirm/… HTTP" in log, "one line per request"
    token = confirm_path.rsplit("/", 1)[1]
    for private in ("ilse", "127.0.0.1 -", token):
        assert private.lower() not in log.lower(), f"{private} in the server log:\n{log}"


def metric(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"{name} {labels} not in /metrics")


def test_gunicorn_workers_deliver_once_and_report_shared_metrics(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app, slug = prepared_instance(tmp_path, migrated_sqlite)
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    port = free_port()
    environment = worker_environment(app, OUTBOX_POLL_INTERVAL="0.2")
    environment["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    command = [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}",
               "petitionkit:create_app()"]
    signers = 6
    with serving(command, environment, port, tmp_path):
        for n in range(signers):
            status, _page = request(port, "POST", f"/p/{slug}/sign",
                                    {"name": f"Signer {n}", "email": f"signer{n}@example.org"})
            assert status == 303
        emls = wait_for_files(Path(app.instance_path) / "mail", "*.eml", signers)
        time.sleep(0.5)  # a duplicate, if any, would land now
        scrapes = [request(port, "GET", "/metrics") for _ in range(8)]
        pids = set(os.listdir(metrics_dir))
    emls = sorted((Path(app.instance_path) / "mail").glob("*.eml"))
    message_ids = [
        str(email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)["Message-ID"])
        for eml in emls
    ]
    assert len(message_ids) == signers and len(set(message_ids)) == signers
    assert len(pids) >= 2, "both workers wrote their counters"
    for status, text in scrapes:
        assert status == 200
        # Whichever worker answers, it reports what all of them counted.
        assert metric(text, "petitionkit_signings_total", channel="form") == signers
        assert metric(text, "petitionkit_outbox_jobs_done_total", kind="email") == signers
        assert metric(text, "petitionkit_outbox_pending") == 0
