"""Fixtures for real parts: a migrated SQLite database per test, SMTP on loopback, and the
PostgreSQL and Redis servers of the machine when they are there."""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from petitionkit import create_app, testing
from petitionkit.extensions import db

from .smtp import RecordingSMTPServer

TEST_SECRET = "test-secret-key-0123456789abcdef"
POSTGRES_URL = os.environ.get("PETITIONKIT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PETITIONKIT_TEST_REDIS", "redis://127.0.0.1:6379/0")
# CI sets this: a missing server is then a failure, not a skip.
REQUIRE_SERVICES = os.environ.get("PETITIONKIT_REQUIRE_SERVICES") == "1"


@pytest.fixture
def pg_dump() -> str:
    """The PostgreSQL client's pg_dump, for the checks of what a dump of the database holds."""
    found = shutil.which("pg_dump")
    if found is None:
        message = "pg_dump is not installed; install the PostgreSQL client to run this check"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return found


def base_config(instance: Path, **overrides: Any) -> dict[str, Any]:
    """A test app's settings; its instance folder gets a key pair, and the app both keys."""
    config: dict[str, Any] = {
        **testing.key_settings(instance),
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'petitionkit.db'}",
        "PUBLIC_URL": "http://localhost",
        "RATELIMIT_SIGN": "1000/minute",
        "OUTBOX_INPROCESS_WORKER": False,
        "MAIL_FROM": "Petitions <petitions@example.org>",
    }
    config.update(overrides)
    return config


def migrate(app: Flask) -> None:
    import flask_migrate

    with app.app_context():
        flask_migrate.upgrade(revision="heads")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the schema through the migrations once; each test gets a copy of the file."""
    folder = tmp_path_factory.mktemp("template-db")
    app = create_app(base_config(folder))
    migrate(app)
    with app.app_context():
        db.engine.dispose()
    return folder / "petitionkit.db"


def make_app(tmp_path: Path, migrated_sqlite: Path, **overrides: Any) -> Flask:
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    if "DATABASE_URL" not in overrides:
        shutil.copy(migrated_sqlite, instance / "petitionkit.db")
    return create_app(base_config(instance, **overrides))


@pytest.fixture
def app(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Flask]:
    application = make_app(tmp_path, migrated_sqlite)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def add_petition(app: Flask, **values: Any) -> str:
    """A petition straight into the database; the loader's own path is tested elsewhere."""
    defaults: dict[str, Any] = {
        "slug": "free-the-poet",
        "title": "Free the poet",
        "summary": "A poet is held for his verses.",
        "body": "Release him.",
        "body_html": "<p>Release him.</p>",
        "status": "open",
        "locale": "en",
        "goal": 1000,
        "allowed_origins": ["http://127.0.0.1:8000"],
    }
    return testing.add_petition(app, **{**defaults, **values})


@pytest.fixture
def petition(app: Flask) -> str:
    return add_petition(app)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[RecordingSMTPServer]:
    server = RecordingSMTPServer(port=free_port())
    server.start()
    yield server
    server.stop()


def _server_missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error}); start it to run these tests"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database of its own, created and dropped on the local server; skips (or fails, in CI)
    when the server is not there."""
    try:
        import psycopg
    except ImportError as error:  # pragma: no cover - psycopg is a test dependency
        _server_missing("PostgreSQL (psycopg)", error)
    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    name = f"petitionkit_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        _server_missing("PostgreSQL at 127.0.0.1:5432", error)
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A database of its own for this test."""
    with postgres_database() as url:
        yield url


@pytest.fixture
def pg_app(tmp_path: Path, migrated_sqlite: Path, postgres_url: str) -> Iterator[Flask]:
    application = make_app(tmp_path, migrated_sqlite, DATABASE_URL=postgres_url)
    migrate(application)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    try:
        import redis
    except ImportError as error:  # pragma: no cover
        _server_missing("Redis (redis-py)", error)
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        _server_missing("Redis at 127.0.0.1:6379", error)
    # A database number of its own would collide across parallel runs; a key prefix does not.
    yield REDIS_URL
    client.close()
