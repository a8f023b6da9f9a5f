"""Several workers at once, and a worker killed mid-batch: every e-mail goes out exactly once."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.outbox.models import DONE, PENDING, OutboxJob
from petitionkit.outbox.worker import run_batch

from .conftest import TEST_SECRET, add_petition, free_port, make_app
from .smtp import RecordingSMTPServer
from .test_worker_delivery import jobs, sign_many

PETITIONKIT = str(Path(sys.executable).with_name("petitionkit"))


def worker_environment(app: Flask, **config: Any) -> dict[str, str]:
    """The same instance as ``app``, configured the way an operator would: by environment."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("PETITIONKIT_")}
    environment.update({
        "PETITIONKIT_INSTANCE_PATH": app.instance_path,
        "PETITIONKIT_SECRET_KEY": TEST_SECRET,
        "PETITIONKIT_DATABASE_URL": app.config["DATABASE_URL"],
        "PETITIONKIT_PUBLIC_URL": app.config["PUBLIC_URL"],
        "PETITIONKIT_MAIL_FROM": app.config["MAIL_FROM"],
        # The worker opens what the web process sealed: it holds the private key.
        "PETITIONKIT_DATA_PUBLIC_KEY_FILE": app.config["DATA_PUBLIC_KEY_FILE"],
        "PETITIONKIT_DATA_PRIVATE_KEY_FILE": app.config["DATA_PRIVATE_KEY_FILE"],
    })
    for key, value in config.items():
        environment[f"PETITIONKIT_{key}"] = str(value)
    return environment


def assert_each_delivered_once(app: Flask, delivered: list[Any], number: int) -> None:
    rows = jobs(app)
    assert len(rows) == number
    assert {row.status for row in rows} == {DONE}
    sent = Counter(str(message["Message-ID"]) for message in delivered)
    assert sent == Counter(row.message_id for row in rows), "each row exactly once"
    assert len(set(sent)) == number


def test_worker_threads_on_postgresql_send_each_job_once(
    pg_app: Flask, smtp_server: RecordingSMTPServer
) -> None:
    pg_app.config.update(MAIL_URL=smtp_server.url, OUTBOX_BATCH_SIZE=10)
    slug = add_petition(pg_app)
    sign_many(pg_app, slug, 200)
    errors: list[BaseException] = []
    batch_sizes: list[int] = []
    start = threading.Barrier(4)

    def work() -> None:
        try:
            start.wait()
            with pg_app.app_context():
                while (batch := run_batch(pg_app)).claimed > 0:
                    batch_sizes.append(batch.claimed)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert max(batch_sizes) <= 10, "a claim never takes more than a batch"
    assert_each_delivered_once(pg_app, smtp_server.wait_for(200, timeout=60), 200)
    assert len(smtp_server.messages) == 200
    workers = {str(row.locked_by).rsplit(":", 1)[0] for row in jobs(pg_app)}
    assert len(workers) > 1, "the threads really did share the work"


def test_two_worker_processes_on_sqlite_send_each_job_once(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(app)
    sign_many(app, slug, 120)
    with app.app_context():
        db.engine.dispose()
    environment = worker_environment(app, MAIL_URL=smtp_server.url, OUTBOX_BATCH_SIZE=5)
    processes = [
        subprocess.Popen([PETITIONKIT, "worker", "--once"], env=environment,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    delivered_counts = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        match = re.search(r"delivered (\d+), failed 0", out)
        assert match, out
        delivered_counts.append(int(match.group(1)))
    assert sum(delivered_counts) == 120
    assert_each_delivered_once(app, smtp_server.wait_for(120, timeout=60), 120)
    assert len(smtp_server.messages) == 120


class StallingHandler:
    """Takes the first message's DATA and never answers while the test holds it."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:
        self.arrived.set()
        while not self.release.is_set():
            await asyncio.sleep(0.02)
        return "451 4.3.0 Too late"


def test_a_killed_worker_leaves_its_batch_to_the_next_once_the_lease_expires(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    lease_seconds = 5
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=smtp_server.url,
                   OUTBOX_LEASE_SECONDS=lease_seconds)
    slug = add_petition(app)
    sign_many(app, slug, 8)

    stalling = StallingHandler()
    stalling_port = free_port()
    controller = Controller(stalling, hostname="127.0.0.1", port=stalling_port)
    controller.start()
    environment = worker_environment(
        app, MAIL_URL=f"smtp://127.0.0.1:{stalling_port}", OUTBOX_LEASE_SECONDS=lease_seconds,
        OUTBOX_BATCH_SIZE=50,
    )
    worker = subprocess.Popen([PETITIONKIT, "worker", "--poll", "0.2"], env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert stalling.arrived.wait(timeout=30), "the worker never started sending"
        claimed = jobs(app)
        assert {row.status for row in claimed} == {PENDING}
        leases = {row.locked_by for row in claimed}
        assert len(leases) == 1 and None not in leases, "the worker claimed the whole batch"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
        stalling.release.set()
        controller.stop()

    with app.app_context():
        assert run_batch(app).claimed == 0, "the dead worker's lease still holds"
        deadline = time.monotonic() + lease_seconds + 10
        delivered = 0
        while time.monotonic() < deadline:
            batch = run_batch(app)
            delivered += batch.delivered
            if batch.claimed:
                break
            time.sleep(0.2)
        leftovers = db.session.scalars(select(OutboxJob).where(OutboxJob.status != DONE)).all()
        assert leftovers == []
    assert delivered == 8
    assert_each_delivered_once(app, smtp_server.wait_for(8), 8)


def test_sigterm_lets_the_worker_finish_and_exit(
    tmp_path: Path, migrated_sqlite: Path, smtp_server: RecordingSMTPServer
) -> None:
    app = make_app(tmp_path, migrated_sqlite)
    sign_many(app, add_petition(app), 3)
    environment = worker_environment(app, MAIL_URL=smtp_server.url)
    worker = subprocess.Popen([PETITIONKIT, "worker", "--poll", "0.2"], env=environment,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        smtp_server.wait_for(3, timeout=30)
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "worker started" in err and "worker stopped" in err
    assert f"mail=smtp://127.0.0.1:{smtp_server.port}" in err
    assert {row.status for row in jobs(app)} == {DONE}


class SlowHandler:
    """Accepts every message, each after a pause longer than half the lease."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.message_ids: list[str] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.pause)
        for line in envelope.content.decode("utf-8", "replace").splitlines():
            if line.lower().startswith("message-id:"):
                self.message_ids.append(line.split(":", 1)[1].strip())
        return "250 OK"


def test_a_slow_batch_renews_its_lease_so_no_other_worker_sends_it_again(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    slow = SlowHandler(pause=1.1)
    port = free_port()
    controller = Controller(slow, hostname="127.0.0.1", port=port)
    controller.start()
    app = make_app(tmp_path, migrated_sqlite, MAIL_URL=f"smtp://127.0.0.1:{port}",
                   OUTBOX_LEASE_SECONDS=2, OUTBOX_BATCH_SIZE=10)
    sign_many(app, add_petition(app), 3)
    first_done = threading.Event()
    results: list[Any] = []

    def slow_worker() -> None:
        with app.app_context():
            results.append(run_batch(app, worker="slow"))
        first_done.set()

    thread = threading.Thread(target=slow_worker)
    try:
        thread.start()
        taken_by_other = 0
        # Three messages take about 3.3 s, well past the 2 s lease, while another worker polls.
        while not first_done.wait(0.1):
            with app.app_context():
                taken_by_other += run_batch(app, worker="eager").claimed
        thread.join(timeout=30)
    finally:
        controller.stop()
    assert taken_by_other == 0
    assert [(result.claimed, result.delivered) for result in results] == [(3, 3)]
    assert sorted(slow.message_ids) == sorted(str(row.message_id) for row in jobs(app))
