"""The documentation of the settings matches petitionkit/config.py, both ways, and the example
configuration files cannot start an instance until their placeholders are replaced."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from petitionkit import create_app
from petitionkit.config import DEFAULTS, ENV_PREFIX, ConfigurationError

ROOT = Path(__file__).parent.parent
# Read by the application factory before the configuration exists, so not in DEFAULTS.
FACTORY_SETTINGS = {"INSTANCE_PATH": "./instance"}
# Read by tests/conftest.py only: where the suite finds its servers, and whether it may skip.
TEST_SETTINGS = {"TEST_POSTGRES", "TEST_REDIS", "REQUIRE_SERVICES"}
# The one default described in words although DEFAULTS holds a value: a placeholder that is
# refused at start.
DESCRIBED_IN_WORDS = {"SECRET_KEY"}
# A cell that states a value: one literal, optionally followed by a note in brackets.
STATED_VALUE = re.compile(r"^`([^`]*)`(?: \(.*\))?$")


def documented_defaults(path: Path) -> dict[str, str]:
    """Setting name -> default cell, from the rows of a Markdown table whose first cell is a
    setting in backticks (with or without the environment prefix)."""
    rows: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"`[A-Z][A-Z0-9_]*`", cells[0]):
            continue
        rows[cells[0].strip("`").removeprefix(ENV_PREFIX)] = cells[1]
    return rows


def as_documented(literal: str) -> Any:
    try:
        return json.loads(literal)
    except ValueError:
        return literal


def check_defaults(rows: dict[str, str]) -> list[str]:
    problems = []
    for name, cell in rows.items():
        if name in FACTORY_SETTINGS:
            stated = STATED_VALUE.match(cell)
            if stated is None or stated.group(1) != FACTORY_SETTINGS[name]:
                problems.append(f"{name}: documented {cell!r}, is {FACTORY_SETTINGS[name]!r}")
            continue
        if name not in DEFAULTS:
            problems.append(f"{name} is documented but petitionkit/config.py has no such setting")
            continue
        stated = STATED_VALUE.match(cell)
        if stated is not None:
            if as_documented(stated.group(1)) != DEFAULTS[name]:
                problems.append(f"{name}: documented {cell!r}, default is {DEFAULTS[name]!r}")
        elif DEFAULTS[name] is not None and name not in DESCRIBED_IN_WORDS:
            problems.append(f"{name}: default described as {cell!r}, but it is {DEFAULTS[name]!r}")
    return problems


def test_every_setting_is_documented_in_configuration_md() -> None:
    documented = documented_defaults(ROOT / "docs" / "configuration.md")
    missing = sorted(set(DEFAULTS) - set(documented))
    assert not missing, f"settings in petitionkit/config.py missing from the table: {missing}"


@pytest.mark.parametrize("page", ["docs/configuration.md", "docs/operations.md", "README.md"])
def test_documented_defaults_are_the_real_ones(page: str) -> None:
    rows = documented_defaults(ROOT / page)
    assert rows, f"{page} has no table of settings"
    assert check_defaults(rows) == []


def test_every_environment_variable_named_anywhere_exists() -> None:
    pages = [ROOT / "README.md", ROOT / "instance" / "config.example.py",
             *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "deploy").iterdir())]
    unknown = set()
    for page in pages:
        for name in re.findall(rf"{ENV_PREFIX}([A-Z][A-Z0-9_]*)", page.read_text("utf-8")):
            if name not in DEFAULTS and name not in FACTORY_SETTINGS.keys() | TEST_SETTINGS:
                unknown.add(f"{page.relative_to(ROOT)}: {ENV_PREFIX}{name}")
    assert not unknown, sorted(unknown)
    conftest = (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    for name in TEST_SETTINGS:
        assert f'"{ENV_PREFIX}{name}"' in conftest, name


def test_a_misdocumented_default_is_caught() -> None:
    # The checker itself: a wrong value, a made-up setting and a vague description all fail.
    problems = check_defaults({
        "API_MAX_AGE": "`6`", "NO_SUCH_SETTING": "`1`", "MAIL_TIMEOUT": "a while",
        "OUTBOX_GIVE_UP_AFTER": "`259200` (3 days)", "LANGUAGES": json.dumps(["en"]),
    })
    assert [problem.split(":")[0].split(" ")[0] for problem in problems] == [
        "API_MAX_AGE", "NO_SUCH_SETTING", "MAIL_TIMEOUT", "LANGUAGES"]


@pytest.fixture
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PETITIONKIT_INSTANCE_PATH", str(tmp_path))
    return tmp_path


def test_the_example_instance_config_left_unedited_is_refused(clean_environment: Path) -> None:
    example = (ROOT / "instance" / "config.example.py").read_text(encoding="utf-8")
    (clean_environment / "config.py").write_text(example, encoding="utf-8")
    with pytest.raises(ConfigurationError, match="SECRET_KEY is still the placeholder"):
        create_app()


def test_the_example_environment_file_left_unedited_is_refused(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for line in (ROOT / "deploy" / "petitionkit.env.example").read_text("utf-8").splitlines():
        name, separator, value = line.partition("=")
        if separator and not line.startswith("#") and name != "PETITIONKIT_INSTANCE_PATH":
            monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match="SECRET_KEY is still the placeholder"):
        create_app()
    monkeypatch.setenv("PETITIONKIT_SECRET_KEY", "a-real-secret-0123456789abcdef")
    with pytest.raises(ConfigurationError, match="BLIND_INDEX_KEY is still the placeholder"):
        create_app()
