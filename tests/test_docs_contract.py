"""The README's route and command tables and docs/cli.md describe the engine as it is."""

from __future__ import annotations

import re
from pathlib import Path

import click
from flask import Flask
from werkzeug.exceptions import MethodNotAllowed, NotFound

from petitionkit.cli import DATABASE_GROUP

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI_DOCS = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
# Flask's own commands, documented by Flask.
FLASK_COMMANDS = {"shell", "routes"}


def readme_section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def documented_routes() -> list[tuple[str, str]]:
    """(method, path) of every route the README's HTTP table names, placeholders filled."""
    routes = []
    for line in readme_section("HTTP").splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        for method, path in re.findall(r"`(GET|POST|PATCH|PUT|DELETE) ([^`]+)`", first_cell):
            path = path.split("?")[0].replace("SLUG", "a-petition").replace("TOKEN", "a-token")
            routes.append((method, path))
    return routes


def test_every_route_in_the_readme_exists(app: Flask) -> None:
    routes = documented_routes()
    assert len(routes) >= 10, routes
    adapter = app.url_map.bind("localhost")
    for method, path in routes:
        try:
            adapter.match(path, method=method)
        except (NotFound, MethodNotAllowed) as error:
            raise AssertionError(f"README names {method} {path}, which the app does not answer"
                                 ) from error


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths = set()
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            paths |= command_paths(command, path)
        else:
            paths.add(path)
    return paths


def engine_commands(app: Flask) -> set[tuple[str, ...]]:
    # Of Flask-Migrate's db commands, the one an operator needs (the others are Alembic's own).
    commands = {path for path in command_paths(app.cli) if path[0] != "db"}
    return commands | {("db", "upgrade")}


def test_every_command_is_in_docs_cli_and_every_documented_one_exists(app: Flask) -> None:
    heading_words = r"`([a-z][a-z-]*(?: [a-z][a-z-]*)*)"
    documented = {tuple(heading.split()) for heading in re.findall(heading_words, "\n".join(
        line for line in CLI_DOCS.splitlines() if line.startswith("## ")
    ))}
    commands = engine_commands(app)
    for command in commands:
        assert command in documented or command[:1] in documented, (
            f"`petitionkit {' '.join(command)}` is missing from docs/cli.md"
        )
    known = commands | {(name,) for name in FLASK_COMMANDS | {"run"}}
    known |= {command[:1] for command in commands}
    for heading in documented:
        assert heading in known, f"docs/cli.md documents `{' '.join(heading)}`: no such command"


def test_the_readme_command_table_names_real_commands(app: Flask) -> None:
    named = re.findall(r"\| `petitionkit ([a-z][a-z ]*?)(?: [A-Z\[\-]|`)", readme_section(
        "The command line"))
    assert len(named) >= 8, named
    commands = engine_commands(app)
    groups = {command[:1] for command in commands}
    for words in named:
        path = tuple(words.split())
        assert path in commands or path in groups, f"README names `petitionkit {words}`"


def test_db_upgrade_applies_every_branch() -> None:
    upgrade = DATABASE_GROUP.commands["upgrade"]
    [revision] = [param for param in upgrade.params if param.name == "revision"]
    assert revision.default == "heads"
