"""Configuration: defaults, then instance/config.py, then PETITIONKIT_* environment variables;
no start without a real secret outside debug and testing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from petitionkit import create_app
from petitionkit.config import DEFAULTS, ConfigurationError
from petitionkit.encryption import generate_key_pair
from petitionkit.extensions import db

from .conftest import TEST_SECRET

SECRET_MESSAGE = "petitionkit refuses to start without a real SECRET_KEY"


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instance folder chosen by the environment, and no other PETITIONKIT_* setting."""
    for key in list(os.environ):
        if key.startswith("PETITIONKIT_"):
            monkeypatch.delenv(key)
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setenv("PETITIONKIT_INSTANCE_PATH", str(folder))
    return folder


@pytest.fixture
def created() -> Iterator[list[Flask]]:
    apps: list[Flask] = []
    yield apps
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def build(created: list[Flask]) -> Flask:
    app = create_app()
    created.append(app)
    return app


def test_instance_file_then_environment(
    instance: Path, monkeypatch: pytest.MonkeyPatch, created: list[Flask]
) -> None:
    (instance / "config.py").write_text(
        f"SECRET_KEY = {TEST_SECRET!r}\n"
        "MAIL_FROM = 'Campaign <campaign@example.org>'\n"
        "API_MAX_AGE = 20\n"
        "PUBLIC_URL = 'https://petitions.example.org'\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PETITIONKIT_API_MAX_AGE", "9")
    monkeypatch.setenv("PETITIONKIT_LANGUAGES", '["en", "ar"]')
    monkeypatch.setenv("PETITIONKIT_OUTBOX_INPROCESS_WORKER", "false")
    app = build(created)

    assert app.config["RATELIMIT_SIGN"] == DEFAULTS["RATELIMIT_SIGN"], "default kept"
    assert app.config["MAIL_FROM"] == "Campaign <campaign@example.org>", "instance file read"
    assert app.config["PUBLIC_URL"] == "https://petitions.example.org"
    assert app.config["API_MAX_AGE"] == 9, "environment wins over the instance file"
    assert app.config["LANGUAGES"] == ["en", "ar"]
    assert app.config["OUTBOX_INPROCESS_WORKER"] is False
    assert app.instance_path == str(instance)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'petitionkit.db'}"
    assert app.config["DEV_MAIL_DIR"] == str(instance / "mail")


def test_text_settings_stay_text(
    instance: Path, monkeypatch: pytest.MonkeyPatch, created: list[Flask]
) -> None:
    monkeypatch.setenv("PETITIONKIT_SECRET_KEY", "12345678901234567890")
    monkeypatch.setenv("PETITIONKIT_OUTBOX_INPROCESS_WORKER", "false")
    monkeypatch.setenv("PETITIONKIT_DATABASE_URL", f"sqlite:///{instance / 'other.db'}")
    app = build(created)
    assert app.config["SECRET_KEY"] == "12345678901234567890"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("other.db")


def test_malformed_typed_setting_is_refused(
    instance: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PETITIONKIT_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("PETITIONKIT_TRUSTED_PROXIES", "one")
    with pytest.raises(ConfigurationError, match="PETITIONKIT_TRUSTED_PROXIES must be written"):
        create_app()


def test_test_config_replaces_file_and_environment(
    instance: Path, monkeypatch: pytest.MonkeyPatch, created: list[Flask]
) -> None:
    (instance / "config.py").write_text("MAIL_FROM = 'from the file'\n", encoding="utf-8")
    monkeypatch.setenv("PETITIONKIT_API_MAX_AGE", "9")
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance)})
    created.append(app)
    assert app.config["MAIL_FROM"] == DEFAULTS["MAIL_FROM"]
    assert app.config["API_MAX_AGE"] == DEFAULTS["API_MAX_AGE"]


@pytest.mark.parametrize("secret", [None, DEFAULTS["SECRET_KEY"], "short"])
def test_no_start_without_a_real_secret(
    instance: Path, monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    if secret is not None:
        monkeypatch.setenv("PETITIONKIT_SECRET_KEY", secret)
    with pytest.raises(ConfigurationError, match=SECRET_MESSAGE):
        create_app()


def test_debug_may_run_with_the_default_secret(
    instance: Path, monkeypatch: pytest.MonkeyPatch, created: list[Flask]
) -> None:
    monkeypatch.setenv("PETITIONKIT_DEBUG", "true")
    monkeypatch.setenv("PETITIONKIT_OUTBOX_INPROCESS_WORKER", "false")
    assert build(created).debug


def run_unconfigured_cli(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("PETITIONKIT_")}
    environment["PETITIONKIT_INSTANCE_PATH"] = str(instance)
    return subprocess.run(
        [sys.executable, "-c", "from petitionkit.cli import main; main()", *args],
        env=environment, cwd=instance, capture_output=True, text=True, timeout=60,
    )


def test_cli_prints_the_secret_message_without_a_traceback(instance: Path) -> None:
    result = run_unconfigured_cli(instance, "petition", "list")
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: {SECRET_MESSAGE}")
    assert "PETITIONKIT_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert "No such command" not in result.stderr
    assert result.stdout == ""

    helped = run_unconfigured_cli(instance, "--help")
    assert helped.returncode == 0
    assert helped.stderr.count(SECRET_MESSAGE) == 1
    assert "Traceback" not in helped.stderr
    assert "Commands:" in helped.stdout


def test_documented_settings_exist() -> None:
    text = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = {line.split("|")[1].strip().strip("`") for line in text.splitlines()
                  if line.startswith("| `")}
    assert documented <= set(DEFAULTS), documented - set(DEFAULTS)
    for key in ("SECRET_KEY", "DATABASE_URL", "RATELIMIT_STORAGE_URI", "MAIL_URL", "PUBLIC_URL"):
        assert key in documented


def test_the_example_instance_config_is_valid(
    instance: Path, monkeypatch: pytest.MonkeyPatch, created: list[Flask]
) -> None:
    # Its placeholders are refused (tests/test_docs_config.py); real keys replace them here.
    monkeypatch.setenv("PETITIONKIT_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("PETITIONKIT_BLIND_INDEX_KEY", TEST_SECRET[::-1])
    example = Path(__file__).parent.parent / "instance" / "config.example.py"
    (instance / "config.py").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    generate_key_pair(instance)  # as its comment says: `petitionkit keys generate`
    app = build(created)
    assert app.config["PUBLIC_URL"] == "https://petitions.example.org"
    assert app.config["MAIL_FROM"] == "Our campaign <petitions@example.org>"
