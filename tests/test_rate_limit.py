"""Abuse limits on signing: per client (by a keyed hash, never the address), global and per
petition, shared across worker processes through Redis, and no raw IP address kept anywhere."""

from __future__ import annotations

import http.client
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from petitionkit.extensions import db, limiter
from petitionkit.signatures.models import Signature

from .conftest import TEST_SECRET, add_petition, free_port, make_app

SLUG = "free-the-poet"
FORM = f"/p/{SLUG}/sign"
API = f"/api/v1/petitions/{SLUG}/signatures"
CLIENT_IP = "203.0.113.77"
SPOOFED_IP = "198.51.100.9"


def limited_app(tmp_path: Path, migrated_sqlite: Path, limit: str, **config: object) -> Flask:
    app = make_app(tmp_path, migrated_sqlite, RATELIMIT_SIGN=limit, **config)
    add_petition(app)
    return app


def sign(client: FlaskClient, number: int, ip: str = CLIENT_IP, slug: str = SLUG,
         **headers: str) -> int:
    response = client.post(f"/p/{slug}/sign",
                           data={"name": "Ines", "email": f"ines{number}@example.org"},
                           environ_base={"REMOTE_ADDR": ip}, headers=headers)
    return response.status_code


def signatures(app: Flask) -> int:
    with app.app_context():
        found = db.session.scalar(select(func.count()).select_from(Signature))
        db.session.remove()
    return int(found or 0)


def test_burst_limit_answers_429_with_retry_after_and_a_friendly_page(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "3/minute;100/hour")
    client = app.test_client()
    assert [sign(client, n) for n in range(3)] == [303, 303, 303]
    refused = client.post(FORM, data={"name": "Ines", "email": "ines9@example.org"},
                          environ_base={"REMOTE_ADDR": CLIENT_IP})
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    page = refused.get_data(as_text=True)
    assert "Too many attempts from your connection" in page
    assert "protects the petition from automated signing" in page
    assert "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"]
    assert signatures(app) == 3

    from_widget = client.post(FORM, data={"name": "Ines", "email": "ines9@example.org",
                                          "embed": "1"},
                              environ_base={"REMOTE_ADDR": CLIENT_IP},
                              headers={"Referer": f"http://localhost/embed/{SLUG}"})
    assert from_widget.status_code == 429
    assert "frame-ancestors 'self' http://127.0.0.1:8000;" in from_widget.headers[
        "Content-Security-Policy"
    ], "the widget shows this page in its iframe, on the petition's allowed sites"

    assert sign(client, 10, ip="203.0.113.78") == 303, "another client has its own budget"


def test_sustained_limit_counts_too(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "100/minute;4/day")
    client = app.test_client()
    assert [sign(client, n) for n in range(6)] == [303] * 4 + [429] * 2


def test_json_429_with_cors_for_allowed_origins(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "1/minute")
    client = app.test_client()
    headers = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "cross-site"}
    body = {"name": "Ines", "email": "ines@example.org"}
    assert client.post(API, json=body, headers=headers).status_code == 202
    refused = client.post(API, json=body, headers=headers)
    assert refused.status_code == 429
    assert refused.json == {
        "error": "Too many attempts from your connection. Please wait a moment and try again."
    }
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"
    assert "Retry-After" in refused.headers["Access-Control-Expose-Headers"]


def test_form_and_api_share_one_budget(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "2/minute")
    client = app.test_client()
    assert sign(client, 1) == 303
    api = client.post(API, json={"name": "Ines", "email": "ines2@example.org"},
                      environ_base={"REMOTE_ADDR": CLIENT_IP})
    assert api.status_code == 202
    assert sign(client, 3) == 429


def test_resend_is_limited_like_signing(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "2/minute")
    client = app.test_client()
    statuses = [
        client.post("/confirm/not-a-token/resend", environ_base={"REMOTE_ADDR": CLIENT_IP})
        .status_code for _ in range(3)
    ]
    assert statuses == [400, 400, 429]


def test_a_petition_may_set_its_own_limit(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "2/minute")
    add_petition(app, slug="town-hall-meeting", rate_limit="4/minute")
    add_petition(app, slug="strict-one", rate_limit="1/minute")
    client = app.test_client()
    assert [sign(client, n, slug="town-hall-meeting") for n in range(5)] == [303] * 4 + [429]
    assert [sign(client, n, slug="strict-one") for n in range(2)] == [303, 429]
    assert [sign(client, n) for n in range(3)] == [303, 303, 429], (
        "the site-wide budget is untouched by petitions with their own limit"
    )


def test_spoofed_forwarded_for_is_ignored_without_trusted_proxies(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "2/minute", TRUSTED_PROXIES=0)
    client = app.test_client()
    statuses = [sign(client, n, **{"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(3)]
    assert statuses == [303, 303, 429]


def test_forwarded_for_is_used_behind_a_trusted_proxy(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "2/minute", TRUSTED_PROXIES=1)
    client = app.test_client()
    proxy = "10.0.0.5"
    # Two clients behind the same proxy each get their own budget.
    first = [sign(client, n, ip=proxy, **{"X-Forwarded-For": CLIENT_IP}) for n in range(3)]
    second = [sign(client, 10 + n, ip=proxy, **{"X-Forwarded-For": "203.0.113.78"})
              for n in range(2)]
    assert first == [303, 303, 429]
    assert second == [303, 303]
    # A client cannot escape by prepending addresses of its own: only the hop the trusted
    # proxy added counts.
    spoofed = sign(client, 20, ip=proxy, **{"X-Forwarded-For": f"{SPOOFED_IP}, {CLIENT_IP}"})
    assert spoofed == 429


def test_rate_limit_keys_are_keyed_hashes(app: Flask, petition: str) -> None:
    client = app.test_client()
    assert sign(client, 1) == 303
    keys = list(limiter.storage.storage)  # type: ignore[attr-defined]
    assert keys and all(CLIENT_IP not in key for key in keys)
    with app.test_request_context(environ_base={"REMOTE_ADDR": CLIENT_IP}):
        from petitionkit.security import client_key

        hashed = client_key()
    assert any(hashed in key for key in keys)


def test_honeypot_answers_like_success_and_stores_nothing(app: Flask, petition: str) -> None:
    client = app.test_client()
    trapped = client.post(FORM, data={"name": "Bot", "email": "bot@example.org",
                                      "website": "http://spam.example"})
    assert trapped.status_code == 303
    assert trapped.headers["Location"] == f"/p/{SLUG}/check-email"
    assert signatures(app) == 0


def everything_stored_as_text(app: Flask) -> str:
    """Every row of every table, as the database prints it."""
    with app.app_context():
        tables = db.metadata.sorted_tables
        dumped = []
        for table in tables:
            if db.engine.dialect.name == "postgresql":
                query = text(f'SELECT t::text FROM "{table.name}" t')
            else:
                columns = " || '|' || ".join(
                    f"coalesce(quote({column.name}), '')" for column in table.columns
                )
                query = text(f'SELECT {columns} FROM "{table.name}"')
            dumped.extend(str(row[0]) for row in db.session.execute(query))
        db.session.remove()
    return "\n".join(dumped)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_no_raw_ip_in_the_database_or_the_logs(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, database: str
) -> None:
    app: Flask = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    app.config["TRUSTED_PROXIES"] = 0
    add_petition(app)
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    headers = {"X-Forwarded-For": SPOOFED_IP}
    assert sign(client, 1, **headers) == 303
    assert client.post(API, json={"name": "Ines", "email": "ines2@example.org"},
                       environ_base={"REMOTE_ADDR": CLIENT_IP}, headers=headers).status_code == 202
    assert client.post(FORM, data={"name": "", "email": "x"},
                       environ_base={"REMOTE_ADDR": CLIENT_IP}).status_code == 422
    assert client.post(FORM, data={"name": "Ines", "email": "ines@example.org"},
                       environ_base={"REMOTE_ADDR": CLIENT_IP},
                       headers={"Origin": "http://evil.example"}).status_code == 403
    assert signatures(app) == 2

    stored = everything_stored_as_text(app)
    assert "email.confirm" in stored, "the dump does show what was stored"
    assert "ines2@example.org" not in stored, "the address is sealed"
    for address in (CLIENT_IP, SPOOFED_IP):
        assert address not in stored
        assert address not in caplog.text
    assert "ines2@example.org" not in caplog.text
    if database == "sqlite":
        database_file = Path(app.instance_path) / "petitionkit.db"
        for path in (database_file, Path(f"{database_file}-wal")):
            if path.exists():
                assert CLIENT_IP.encode() not in path.read_bytes()


SERVER = """
import sys
from werkzeug.serving import make_server
from petitionkit import create_app

app = create_app()
server = make_server("127.0.0.1", int(sys.argv[1]), app)
print("ready", flush=True)
server.serve_forever()
"""


class Worker:
    """One engine process, as a gunicorn worker would be, on a port of its own."""

    def __init__(self, instance: Path, environment: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.port)],
            env={**os.environ, **environment, "PETITIONKIT_INSTANCE_PATH": str(instance)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.process.kill()
            raise AssertionError(f"worker did not start: {self.process.communicate()[1]}")

    def sign(self, number: int) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        body = urlencode({"name": "Ines", "email": f"ines{number}@example.org"})
        connection.request("POST", FORM, body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        status = connection.getresponse().status
        connection.close()
        return status

    def stop(self) -> str:
        self.process.terminate()
        _, errors = self.process.communicate(timeout=10)
        return errors


@pytest.fixture
def shared_database(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Path]:
    app = make_app(tmp_path, migrated_sqlite)
    add_petition(app)
    with app.app_context():
        db.engine.dispose()
    yield tmp_path / "instance"


def run_two_workers(instance: Path, storage_uri: str, prefix: str) -> tuple[list[int], str]:
    environment = {
        "PETITIONKIT_SECRET_KEY": TEST_SECRET,
        "PETITIONKIT_DATABASE_URL": f"sqlite:///{instance / 'petitionkit.db'}",
        "PETITIONKIT_RATELIMIT_STORAGE_URI": storage_uri,
        "PETITIONKIT_RATELIMIT_KEY_PREFIX": prefix,
        "PETITIONKIT_RATELIMIT_SIGN": "3/minute",
        "PETITIONKIT_OUTBOX_INPROCESS_WORKER": "false",
        "PETITIONKIT_PUBLIC_URL": "http://127.0.0.1",
    }
    first, second = Worker(instance, environment), Worker(instance, environment)
    try:
        statuses = [first.sign(1), second.sign(2), first.sign(3), second.sign(4)]
    finally:
        logs = first.stop() + second.stop()
    return statuses, logs


def test_redis_shares_the_limit_across_worker_processes(
    shared_database: Path, redis_url: str
) -> None:
    import redis

    prefix = f"petitionkit-test-{uuid.uuid4().hex[:12]}"
    statuses, logs = run_two_workers(shared_database, redis_url, prefix)
    assert statuses == [303, 303, 303, 429]

    store = redis.Redis.from_url(redis_url)
    try:
        keys = [key.decode() for key in store.scan_iter(match=f"*{prefix}*")]
        assert keys, "the limit was counted in Redis"
        assert all("127.0.0.1" not in key for key in keys)
        for key in keys:
            store.delete(key)
    finally:
        store.close()
    assert "127.0.0.1 -" not in logs, "the request log names no client address"
    assert "POST /p/free-the-poet/sign" in logs


def test_in_memory_limits_are_per_process(shared_database: Path) -> None:
    """The control for the test above: without Redis each worker counts on its own."""
    statuses, _ = run_two_workers(shared_database, "memory://", "unused")
    assert statuses == [303, 303, 303, 303]


def test_signing_answer_has_no_running_counters(app: Flask, petition: str) -> None:
    response = app.test_client().post(FORM, data={"name": "Ines", "email": "i@example.org"})
    assert response.status_code == 303
    for header in ("X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"):
        assert header not in response.headers
    body = json.dumps({"name": "Ines", "email": "j@example.org"})
    api = app.test_client().post(API, data=body, content_type="application/json")
    assert "X-RateLimit-Remaining" not in api.headers


def test_one_ipv6_subscriber_network_is_one_client(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "2/minute")
    client = app.test_client()
    same_64 = ["2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:2:aaaa:bbbb:cccc:dddd"]
    assert [sign(client, n, ip=ip) for n, ip in enumerate(same_64)] == [303, 303, 429]
    assert sign(client, 9, ip="2001:db8:1:3::1") == 303, "the next /64 is someone else"


def test_ipv4_mapped_ipv6_counts_as_the_ipv4_address(tmp_path: Path,
                                                     migrated_sqlite: Path) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "2/minute")
    client = app.test_client()
    assert sign(client, 1, ip=CLIENT_IP) == 303
    assert sign(client, 2, ip=f"::ffff:{CLIENT_IP}") == 303
    assert sign(client, 3, ip=CLIENT_IP) == 429


def test_an_unreadable_petition_limit_falls_back_to_the_site_limit(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "2/minute")
    add_petition(app, slug="typo", rate_limit="lots per minute")
    client = app.test_client()
    assert [sign(client, n, slug="typo") for n in range(3)] == [303, 303, 429]
    assert "unreadable rate_limit on petition=typo" in caplog.text


def closed_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


def sample(name: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_an_unreachable_limit_storage_falls_back_to_limits_in_memory(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_sqlite: Path,
    caplog: pytest.LogCaptureFixture, database: str,
) -> None:
    """Redis down: signing goes on, counted per process in memory, so the limit still bites;
    the log and /metrics say why, and the log names no client."""
    config: dict[str, object] = {"RATELIMIT_STORAGE_URI": closed_redis_url()}
    if database == "postgresql":
        config["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = limited_app(tmp_path, migrated_sqlite, "2/minute", **config) if database == "sqlite" \
        else _migrated(make_app(tmp_path, migrated_sqlite, RATELIMIT_SIGN="2/minute", **config))
    fallback = "petitionkit_rate_limit_fallback_total"
    errors = "petitionkit_rate_limit_storage_errors_total"
    before = sample(fallback, outcome="memory"), sample(errors)
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="petitionkit"):
        assert [sign(client, n) for n in range(3)] == [303, 303, 429]
        api = client.post(API, json={"name": "Ines", "email": "ines9@example.org"},
                          environ_base={"REMOTE_ADDR": CLIENT_IP})
    assert api.status_code == 429
    assert sign(client, 4, ip="203.0.113.78") == 303, "another client has its own budget"
    assert signatures(app) == 3
    assert "rate limit storage failed" in caplog.text
    assert "counting in memory" in caplog.text
    assert CLIENT_IP not in caplog.text
    assert sample(fallback, outcome="memory") - before[0] == 5
    assert sample(errors) - before[1] >= 1
    with app.app_context():
        db.engine.dispose()


def _migrated(app: Flask) -> Flask:
    from .conftest import migrate

    migrate(app)
    add_petition(app)
    return app


def test_the_storage_is_tried_again_after_a_pause(
    tmp_path: Path, migrated_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from petitionkit.signatures import limits

    monkeypatch.setattr(limits, "STORAGE_RETRY_SECONDS", 0.3)
    errors = "petitionkit_rate_limit_storage_errors_total"
    app = limited_app(tmp_path, migrated_sqlite, "2/minute",
                      RATELIMIT_STORAGE_URI=closed_redis_url())
    client = app.test_client()
    before = sample(errors)
    assert [sign(client, n) for n in range(3)] == [303, 303, 429]
    assert sample(errors) - before == 1, "one failure, then memory for a while"
    time.sleep(0.35)
    assert sign(client, 4) == 429, "the storage failed again: memory still counts"
    assert sample(errors) - before == 2


def test_an_unreachable_limit_storage_can_refuse_signing_instead(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "2/minute",
                      RATELIMIT_STORAGE_URI=closed_redis_url(),
                      RATELIMIT_ON_STORAGE_ERROR="refuse")
    refused = "petitionkit_rate_limit_fallback_total"
    before = sample(refused, outcome="refused")
    client = app.test_client()
    page = client.post(FORM, data={"name": "Ines", "email": "ines@example.org"},
                       environ_base={"REMOTE_ADDR": CLIENT_IP})
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert 0 < int(page.headers["Retry-After"]) <= 60
    message = ("Signing is paused for a moment because of a problem on our side. Nothing was "
               "saved; please try again in a minute.")
    assert message in page.get_data(as_text=True)

    headers = {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "cross-site"}
    api = client.post(API, json={"name": "Ines", "email": "ines@example.org"}, headers=headers)
    assert api.status_code == 503
    assert api.json == {"error": message}
    assert 0 < int(api.headers["Retry-After"]) <= 60
    assert api.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8000"

    with app.test_request_context(headers={"Accept-Language": "fr"}):
        from petitionkit.signatures.limits import SigningPaused

        assert SigningPaused().description != message, "translated"
    assert signatures(app) == 0
    assert sample(refused, outcome="refused") - before == 2


def test_an_unknown_storage_error_mode_stops_the_start(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    from petitionkit.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="RATELIMIT_ON_STORAGE_ERROR"):
        make_app(tmp_path, migrated_sqlite, RATELIMIT_ON_STORAGE_ERROR="allow")


def test_the_429_keeps_the_retry_after_on_the_json_answer_too(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = limited_app(tmp_path, migrated_sqlite, "1/minute")
    client = app.test_client()
    body = {"name": "Ines", "email": "ines@example.org"}
    assert client.post(API, json=body, environ_base={"REMOTE_ADDR": CLIENT_IP}).status_code == 202
    refused = client.post(API, json=body, environ_base={"REMOTE_ADDR": CLIENT_IP})
    assert refused.status_code == 429
    assert refused.json == {
        "error": "Too many attempts from your connection. Please wait a moment and try again."
    }
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_rate_limits_can_be_switched_off(tmp_path: Path, migrated_sqlite: Path) -> None:
    """RATELIMIT_ENABLED = False (Flask-Limiter's own setting): the app starts and signing is
    not counted at all."""
    app = limited_app(tmp_path, migrated_sqlite, "1/minute", RATELIMIT_ENABLED=False)
    client = app.test_client()
    assert [sign(client, n) for n in range(3)] == [303, 303, 303]
    assert signatures(app) == 3


def test_memory_counters_are_swept_by_one_thread_not_a_timer_per_burst(
    tmp_path: Path, migrated_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from petitionkit.signatures import limits

    monkeypatch.setattr(limits, "MEMORY_SWEEP_SECONDS", 0.1)
    app = limited_app(tmp_path, migrated_sqlite, "100/second")
    storage = limiter.storage
    sweeper = storage.timer
    assert sweeper.name == "petitionkit-ratelimit-sweep" and sweeper.is_alive()
    client = app.test_client()
    assert {sign(client, n, ip=f"192.0.2.{n + 1}") for n in range(30)} == {303}
    # The library starts its own 10 ms timer whenever storage.timer is not alive.
    assert storage.timer is sweeper
    assert len(storage.storage) == 30, "one counter per client"
    deadline = time.monotonic() + 5
    while storage.storage and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not storage.storage, "expired counters are swept without being read again"


@pytest.mark.parametrize("spellings", [
    ["[2001:db8::3]", "2001:db8::3", "[2001:db8::3]:443"],
    ["2001:db8::3", "[2001:db8:0:0:ffff::9]:8443", "2001:DB8::3%eth0"],
    ["203.0.113.5:8080", "203.0.113.5", " 203.0.113.5:443 "],
    ["::ffff:203.0.113.5", "[::ffff:203.0.113.5]:80", "203.0.113.5"],
    ["not-an-address", "unknown", "300.1.2.3"],
    ["_hidden", "203.0.113.5:port", "[2001:db8::3"],
    ["[]", "2001:db8::3]:443", "203.0.113.5:99999"],
], ids=["ipv6-brackets", "ipv6-same-64", "ipv4-ports", "ipv4-mapped", "garbage", "garbled",
        "broken-ports"])
def test_one_client_however_the_proxy_spells_its_address(
    tmp_path: Path, migrated_sqlite: Path, spellings: list[str]
) -> None:
    """Behind a trusted proxy, each way of writing one address (brackets, a port, an IPv4-mapped
    IPv6 address) is the same client, and every value that is no address at all shares a single
    budget: none of them opens a fresh one."""
    app = limited_app(tmp_path, migrated_sqlite, "2/minute", TRUSTED_PROXIES=1)
    client = app.test_client()
    statuses = [sign(client, n, ip="10.0.0.5", **{"X-Forwarded-For": f"198.51.100.1, {value}"})
                for n, value in enumerate(spellings)]
    assert statuses == [303, 303, 429]
    assert sign(client, 9, ip="10.0.0.5", **{"X-Forwarded-For": "198.51.100.77"}) == 303


def test_unparseable_addresses_share_one_budget_however_they_differ(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    from petitionkit.security import client_network

    garbage = ["nonsense", "unknown", "_hidden", "300.1.2.3", "", None, "[]", "1.2.3.4.5",
               "[2001:db8::3]:x", "2001:db8::3]", "203.0.113.005", "fe80::1%", "::1:2:3:4:5:6:7:8"]
    assert {client_network(value) for value in garbage} == {"unparseable"}
    assert client_network("[2001:db8::3]:443") == "2001:db8::/64"
    assert client_network("203.0.113.5:8080") == "203.0.113.5"
    assert client_network("[::ffff:203.0.113.5]:80") == "203.0.113.5"
