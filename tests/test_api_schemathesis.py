"""Schemathesis over every operation of /api/v1/openapi.json, in process through WSGI: once with
an owner's token and once without any. No answer may be a server error, break the schema its
operation declares, or carry a status the document does not list.

A petition with signatures (people and an organisation) and a bulk run are seeded first, and
half of the generated cases aim at them, so the routes under a SLUG reach real rows instead of
answering 404 to random slugs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from petitionkit.extensions import db
from petitionkit.testing import sign_and_confirm

from .conftest import add_petition, make_app, migrate, postgres_database

SLUG = "free-the-poet"
EXAMPLES = 30
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


def _seed(app: Flask) -> dict[str, list[int]]:
    add_petition(app, slug=SLUG, signers=["people", "organizations"],
                 report_actions=[{"key": "called", "label": {"en": "Called the embassy"},
                                  "outcomes": ["reached", "voicemail"]}])
    people = [sign_and_confirm(app, SLUG, f"Signer {n}", f"signer{n}@example.org",
                               show_name=True) for n in range(3)]
    organisation = sign_and_confirm(app, SLUG, "Contact", "contact@example.org",
                                    kind="organization", organization="Harbour Watch")
    return {"signature_id": [*people, organisation], "run_id": [1]}


def _token(app: Flask, role: str) -> str:
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "--role", role, "--name", f"{role} fuzzing"])
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


@contextmanager
def _database(kind: str) -> Iterator[dict[str, Any]]:
    if kind == "sqlite":
        yield {}
        return
    with postgres_database() as url:
        yield {"DATABASE_URL": url}


# The owner's run writes to PostgreSQL, which refuses more than SQLite does (NUL in text, numbers
# past a column's type); the anonymous run reads from SQLite, the default.
@pytest.fixture(params=[("owner", "postgresql"), ("anonymous", "sqlite")],
                ids=["owner-postgresql", "anonymous-sqlite"])
def api(request: pytest.FixtureRequest, tmp_path: Path,
        migrated_sqlite: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """The schema as the running app serves it, and the headers of one caller."""
    role, database = request.param
    with _database(database) as overrides:
        app = make_app(tmp_path, migrated_sqlite, RATELIMIT_API="100000/minute",
                       RATELIMIT_SIGN="100000/minute", RATELIMIT_REPORT="100000/minute",
                       **overrides)
        if overrides:
            migrate(app)
        try:
            yield from _serve(app, role)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def _serve(app: Flask, role: str) -> Iterator[tuple[Any, dict[str, str]]]:
    seeded = _seed(app)
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {_token(app, role)}"}
    if role == "owner":
        bulk = app.test_client().post(f"/api/v1/petitions/{SLUG}/invalidations", headers=headers,
                                      json={"domain": "spam.example", "reason": "seed",
                                            "confirm": True})
        assert bulk.status_code == 202, bulk.json
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        """Half the cases keep what was generated; the other half name the seeded rows."""
        if not path_parameters:
            return st.just(path_parameters)
        seeded_case = {**path_parameters}
        if "slug" in seeded_case:
            seeded_case["slug"] = SLUG
        return st.one_of(st.just(path_parameters), st.builds(
            lambda chosen: {**seeded_case, **chosen},
            st.fixed_dictionaries({name: st.sampled_from(ids) for name, ids in seeded.items()
                                   if name in path_parameters})))

    yield schema, headers


def _fuzz(operation: Any, headers: dict[str, str]) -> None:
    """Valid and invalid cases for one operation, each sent and its answer checked."""
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def send(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    send()


def test_every_operation(api: tuple[Any, dict[str, str]], subtests: pytest.Subtests) -> None:
    schema, headers = api
    labels = []
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        with subtests.test(msg=operation.label):
            _fuzz(operation, headers)
    # Every operation the document lists was fuzzed, the public ones and the write API's, but
    # the document itself, which schemathesis leaves out as the schema it was loaded from.
    listed = [f"{method.upper()} {path}" for path, item in schema.raw_schema["paths"].items()
              for method in item if path != "/api/v1/openapi.json"]
    assert sorted(labels) == sorted(listed) and len(labels) >= 16
