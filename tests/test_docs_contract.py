"""The README's route and command tables and docs/cli.md describe the engine as it is."""

from __future__ import annotations

import re
from pathlib import Path

import click
from flask import Flask

from petitionkit.cli import DATABASE_GROUP

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI_DOCS = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
# Flask's own commands, documented by Flask.
FLASK_COMMANDS = {"shell", "routes"}


def readme_section(title: str) -> str:
    return README.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


# A placeholder in the README is the rule's variable in capitals: <slug> is SLUG.
_RULE_VARIABLE = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def documented_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the README's HTTP table names, as written there."""
    routes = set()
    for line in readme_section("HTTP").splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        for method, path in re.findall(r"`(GET|POST|PATCH|PUT|DELETE|OPTIONS) ([^`]+)`",
                                       first_cell):
            routes.add((method, path.split("?")[0]))
    return routes


def app_routes(app: Flask) -> set[tuple[str, str]]:
    """(method, path) of every rule of the app but its static files, written the README's way.

    HEAD comes with every GET, and OPTIONS with every rule unless a view answers it itself."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = set(rule.methods or ()) - {"HEAD"}
        if getattr(rule, "provide_automatic_options", False):
            methods.discard("OPTIONS")
        path = _RULE_VARIABLE.sub(lambda variable: variable.group(1).upper(), rule.rule)
        routes |= {(method, path) for method in methods}
    return routes


def test_the_readme_route_table_is_the_apps_url_map(app: Flask) -> None:
    documented, answered = documented_routes(), app_routes(app)
    assert len(answered) >= 10, answered
    assert sorted(answered - documented) == [], "routes missing from the README's HTTP table"
    assert sorted(documented - answered) == [], "the README's HTTP table names routes the app lacks"


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
