"""Who may read /metrics and the outbox figures of /readyz: loopback connections, the bearer of
OPS_TOKEN, the networks an operator allows, or everyone once OPS_OPEN says so. /healthz and the
readiness status stay open to all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from werkzeug.test import TestResponse

from petitionkit.config import ConfigurationError

from .conftest import make_app

ROOT = Path(__file__).parent.parent

OUTSIDER = "203.0.113.5"
TOKEN = "operator-secret-123"
FIGURES = {"outbox_pending", "outbox_due", "outbox_oldest_age_seconds", "outbox_dead"}


def get(app: Flask, path: str, remote_addr: str, **headers: str) -> TestResponse:
    return app.test_client().get(path, environ_base={"REMOTE_ADDR": remote_addr},
                                 headers=headers)


def opened(app: Flask, remote_addr: str, **headers: str) -> tuple[bool, bool]:
    """(whether /metrics answered, whether /readyz gave its outbox figures)."""
    metrics = get(app, "/metrics", remote_addr, **headers)
    ready = get(app, "/readyz", remote_addr, **headers)
    assert ready.status_code == 200
    assert {"status": "ok", "database": "ok"}.items() <= ready.json.items()
    figures = FIGURES <= ready.json.keys()
    assert figures or ready.json.keys() == {"status", "database"}
    if metrics.status_code == 200:
        assert b"petitionkit_outbox_pending" in metrics.data
    else:
        assert metrics.status_code in (401, 403)
        assert b"petitionkit" not in metrics.data.replace(b"OPS_", b"")
    return metrics.status_code == 200, figures


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_closed_to_the_world_by_default_open_on_loopback(
    request: pytest.FixtureRequest, database: str
) -> None:
    app: Flask = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    assert opened(app, OUTSIDER) == (False, False)
    assert get(app, "/metrics", OUTSIDER).status_code == 403
    assert get(app, "/healthz", OUTSIDER).json == {"status": "ok"}
    for loopback in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"):
        assert opened(app, loopback) == (True, True), loopback
    for outside in ("10.0.0.7", "::2", "2001:db8::1", "::ffff:203.0.113.5", ""):
        assert opened(app, outside) == (False, False), outside


def test_the_token_opens_them_from_anywhere(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, OPS_TOKEN=TOKEN)
    assert opened(app, OUTSIDER, Authorization=f"Bearer {TOKEN}") == (True, True)
    refused = get(app, "/metrics", OUTSIDER)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert opened(app, OUTSIDER, Authorization="Bearer wrong") == (False, False)
    assert opened(app, OUTSIDER, Authorization=TOKEN) == (False, False), "the scheme is required"
    assert opened(app, "127.0.0.1") == (True, True), "loopback needs no token"


@pytest.mark.parametrize("forwarded_for", ["127.0.0.1", "::1", OUTSIDER])
def test_a_forwarded_request_is_never_local(
    tmp_path: Path, migrated_sqlite: Path, forwarded_for: str
) -> None:
    """Behind a proxy (TRUSTED_PROXIES) ProxyFix makes X-Forwarded-For the client address. A
    forged 127.0.0.1 there must not open the routes, whether the request reaches the app
    directly or through a proxy on the same machine (whose own address is loopback)."""
    app = make_app(tmp_path, migrated_sqlite, TRUSTED_PROXIES=1)
    assert opened(app, OUTSIDER, **{"X-Forwarded-For": forwarded_for}) == (False, False)
    assert opened(app, "127.0.0.1", **{"X-Forwarded-For": forwarded_for}) == (False, False)
    for header in ("Forwarded", "X-Real-IP"):
        value = f"for={forwarded_for}" if header == "Forwarded" else forwarded_for
        assert opened(app, "127.0.0.1", **{header: value}) == (False, False), header
    assert opened(app, "127.0.0.1") == (True, True), "a scrape straight to the app server"
    assert opened(app, "127.0.0.1", **{"X-Forwarded-For": forwarded_for,
                                       "Authorization": f"Bearer {TOKEN}"}) == (False, False)

    (tmp_path / "token").mkdir()
    with_token = make_app(tmp_path / "token", migrated_sqlite, TRUSTED_PROXIES=1, OPS_TOKEN=TOKEN)
    assert opened(with_token, "127.0.0.1", **{"X-Forwarded-For": forwarded_for,
                                              "Authorization": f"Bearer {TOKEN}"}) == (True, True)


def test_without_proxies_a_forwarded_header_does_not_help_either(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    app = make_app(tmp_path, migrated_sqlite, TRUSTED_PROXIES=0)
    assert opened(app, OUTSIDER, **{"X-Forwarded-For": "127.0.0.1"}) == (False, False)


def test_allowed_networks_replace_loopback(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, OPS_ALLOW_NETWORKS=["10.0.0.0/8", "fd00::/8"])
    assert opened(app, "10.1.2.3") == (True, True)
    assert opened(app, "fd12:3456::1") == (True, True)
    assert opened(app, "127.0.0.1") == (False, False), "the list replaces the default"
    assert opened(app, OUTSIDER) == (False, False)


def test_ops_open_answers_everyone(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, OPS_OPEN=True, TRUSTED_PROXIES=1)
    assert opened(app, OUTSIDER) == (True, True)
    assert opened(app, "127.0.0.1", **{"X-Forwarded-For": OUTSIDER}) == (True, True)


@pytest.mark.parametrize("networks", [["localhost"], ["10.0.0.1/8"], "127.0.0.0/8", [""]])
def test_an_unreadable_network_stops_the_start(
    tmp_path: Path, migrated_sqlite: Path, networks: Any
) -> None:
    with pytest.raises(ConfigurationError, match="OPS_ALLOW_NETWORKS"):
        make_app(tmp_path, migrated_sqlite, OPS_ALLOW_NETWORKS=networks)


def test_the_documented_scrape_configs_get_the_metrics(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", page, flags=re.DOTALL)
    jobs = [yaml.safe_load(block)["scrape_configs"][0] for block in blocks]
    local, remote = jobs
    app = make_app(tmp_path, migrated_sqlite, OPS_TOKEN=TOKEN)

    host = local["static_configs"][0]["targets"][0].rpartition(":")[0]
    assert "authorization" not in local
    assert get(app, local.get("metrics_path", "/metrics"), host).status_code == 200

    authorization = remote["authorization"]
    assert {"type", "credentials_file"} <= authorization.keys()
    header = f"{authorization['type']} {TOKEN}"  # what Prometheus sends: type, then the file
    assert get(app, remote["metrics_path"], OUTSIDER, Authorization=header).status_code == 200
    assert get(app, remote["metrics_path"], OUTSIDER).status_code == 401
