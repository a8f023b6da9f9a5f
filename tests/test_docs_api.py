"""docs/api.md's curl examples, run in their order against a seeded app as the document writes
them: each is answered without an error, with the keys its shown answer has, and together they
call every operation of the OpenAPI document. ``$TOKEN`` is a token of the role the route needs."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
from flask import Flask

from petitionkit.api.openapi import described, document
from petitionkit.testing import sign_and_confirm

from .conftest import add_petition, make_app
from .test_api_roles import dead_job

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
REPORT_ACTIONS = [{"key": "called", "label": {"en": "Called the embassy"},
                   "outcomes": ["reached"]}]


class Example(NamedTuple):
    method: str
    url: str
    headers: dict[str, str]
    data: str | None
    shown: str | None  # the answer the document shows, if it shows one


def examples() -> list[Example]:
    found = []
    for block in re.findall(r"```console\n(.*?)```", DOC, re.S):
        lines = block.splitlines()
        for number, line in enumerate(lines):
            if not line.startswith("$ curl "):
                continue
            following = lines[number + 1] if number + 1 < len(lines) else None
            shown = following if following and not following.startswith("$ ") else None
            found.append(_parsed(shlex.split(line[2:]), shown))
    return found


def _parsed(words: list[str], shown: str | None) -> Example:
    method, headers, data, url = "GET", {}, None, ""
    arguments = iter(words[1:])
    for word in arguments:
        if word == "-X":
            method = next(arguments)
        elif word == "-H":
            name, _, value = next(arguments).partition(": ")
            headers[name] = value
        elif word == "-d":
            data = next(arguments)
        elif word == "-s":
            continue
        else:
            url = word
    return Example(method, url, headers, data, shown)


def test_the_examples_are_found() -> None:
    found = examples()
    assert len(found) >= 15
    assert all(example.url.startswith("https://petitions.example.org/api/v1/")
               for example in found)


@pytest.fixture
def seeded(tmp_path: Path, migrated_sqlite: Path) -> Flask:
    """What the examples speak of: signatures 1 and 2 (people), 3 to 5 from spam.example, 6
    and 7 organisations awaiting approval, and the outbox's job 8, dead."""
    app = make_app(tmp_path, migrated_sqlite)
    add_petition(app, signers=["people", "organizations"], report_actions=REPORT_ACTIONS)
    sign_and_confirm(app, "free-the-poet", "Ayşe Yılmaz", "ayse@example.org", show_name=True)
    sign_and_confirm(app, "free-the-poet", "Ayşe Yılmaz", "ayse.y@example.org")
    for number in range(3):
        sign_and_confirm(app, "free-the-poet", f"Bot {number}", f"b{number}@spam.example")
    for name in ("Harbour Watch", "River Keepers"):
        sign_and_confirm(app, "free-the-poet", "Contact", f"{name[0]}@example.org",
                         kind="organization", organization=name)
    assert dead_job(app) == 8
    return app


def _secret(app: Flask, role: str, cache: dict[str, str]) -> str:
    if role not in cache:
        result = app.test_cli_runner().invoke(
            args=["tokens", "create", "--role", role, "--name", f"docs {role}"])
        assert result.exit_code == 0, result.output
        cache[role] = result.output.strip().splitlines()[-1]
    return cache[role]


def _keys(text: str) -> set[str]:
    value: Any = json.loads(text)
    assert isinstance(value, dict)
    return set(value)


def test_every_example_runs_as_written(seeded: Flask) -> None:
    app, client, tokens = seeded, seeded.test_client(), {}
    adapter = app.url_map.bind("petitions.example.org")
    called = set()
    for example in examples():
        target = urlsplit(example.url)
        endpoint, _ = adapter.match(target.path, method=example.method)
        operation = described(app.view_functions[endpoint])
        assert operation is not None, example.url
        headers = dict(example.headers)
        if "Authorization" in headers:
            assert operation.role is not None, f"{example.url} needs no token"
            headers["Authorization"] = f"Bearer {_secret(app, operation.role, tokens)}"
        else:
            assert operation.role is None, f"{example.url} needs a token"
        answer = client.open(target.path, method=example.method, headers=headers,
                             query_string=target.query, data=example.data)
        # Read every answer, as curl does: a streamed one (a download) closes when it is read.
        text = answer.get_data(as_text=True)
        assert answer.status_code < 400, (example.url, text[:300])
        rule = adapter.match(target.path, method=example.method, return_rule=True)[0]
        called.add((example.method, rule.rule))
        if example.shown is not None:
            got = text.splitlines()[0]
            assert _keys(example.shown) == _keys(got), example.url
    with app.test_request_context():
        paths = document(app)["paths"]
    operations = {(method.upper(), re.sub(r"\{(\w+)\}", r"<\1>", path))
                  for path, item in paths.items() for method in item}
    written = {(method, re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule)) for method, rule in called}
    assert operations - written == set(), "operations without an example in docs/api.md"
