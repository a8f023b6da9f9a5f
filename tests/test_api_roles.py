"""Every route of the API for every caller: the four roles, no token and a revoked token. Each
gets the status the OpenAPI document declares for it (the answer when the role suffices, 401 or
403 when not), and signers' names and addresses appear only where a route's ``shows`` says,
and only to the roles it names. The table below must name every operation of the document, so
a new route cannot be left out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from petitionkit.api.openapi import document
from petitionkit.extensions import db
from petitionkit.outbox import services as outbox
from petitionkit.petitions.models import Petition
from petitionkit.signatures import moderation
from petitionkit.signatures.services import SIGNING_POLICY
from petitionkit.testing import sign_and_confirm

from .conftest import add_petition, make_app

ROLES = ("viewer", "moderator", "editor", "owner")
CALLERS = (*ROLES, "anonymous", "revoked")
SLUG = "free-the-poet"
BASE = f"/api/v1/petitions/{SLUG}"
# Personal data of the seeded signers: a person and an organisation's contact.
PERSONAL = ("Ayşe Yılmaz", "ayse@example.org", "Mariam Haddad", "mariam@example.org")
REPORT_ACTIONS = [{"key": "called", "label": {"en": "Called the embassy"},
                   "outcomes": ["reached"]}]


class Route(NamedTuple):
    method: str
    path: str  # as in the document; {signature_id} is the person's, or the organisation's
    role: str | None  # None: public
    status: int  # the answer when the role suffices
    body: Any = None
    # The personal data the answer carries, and the lowest role that gets them.
    shows: tuple[str, tuple[str, ...]] = ("owner", ())


ROUTES = [
    Route("GET", "/api/v1/openapi.json", None, 200),
    Route("GET", "/api/v1/petitions", "viewer", 200),
    Route("POST", "/api/v1/petitions", "editor", 201,
          {"slug": "clean-river", "title": "A clean river", "body": "Stop the dumping."}),
    Route("GET", "/api/v1/petitions/{slug}", None, 200),
    Route("PATCH", "/api/v1/petitions/{slug}", "editor", 200, {"goal": 5000}),
    Route("GET", "/api/v1/petitions/{slug}/challenge", None, 200),
    Route("GET", "/api/v1/petitions/{slug}/data", "editor", 200),
    Route("GET", "/api/v1/petitions/{slug}/organizations", None, 200),
    Route("POST", "/api/v1/petitions/{slug}/reports", None, 202, {"actions": ["called"]}),
    Route("POST", "/api/v1/petitions/{slug}/signatures", None, 202,
          {"name": "Lena Park", "email": "lena@example.org"}),
    Route("GET", "/api/v1/petitions/{slug}/signatures", "moderator", 200,
          shows=("owner", PERSONAL)),
    Route("POST", "/api/v1/petitions/{slug}/signatures/search", "moderator", 200,
          {"email": "AYSE@example.org"}, shows=("owner", PERSONAL[:2])),
    Route("POST", "/api/v1/petitions/{slug}/signatures/{signature_id}/hide", "moderator", 200),
    Route("POST", "/api/v1/petitions/{slug}/signatures/{signature_id}/show", "moderator", 200),
    Route("POST", "/api/v1/petitions/{slug}/signatures/{signature_id}/invalidate", "moderator",
          200, {"reason": "a duplicate"}),
    Route("POST", "/api/v1/petitions/{slug}/invalidations", "moderator", 200,
          {"domain": "example.org"}),
    Route("GET", "/api/v1/petitions/{slug}/invalidations/{run_id}", "moderator", 200),
    Route("POST", "/api/v1/petitions/{slug}/organizations/{signature_id}/approve", "moderator",
          200),
    Route("POST", "/api/v1/petitions/{slug}/organizations/{signature_id}/reject", "moderator",
          200),
    Route("GET", "/api/v1/petitions/{slug}/organizations/pending", "moderator", 200),
    Route("GET", "/api/v1/petitions/{slug}/figures", "viewer", 200),
    # The hand-over report names the signers who agreed to be named, as in the workspace.
    Route("GET", "/api/v1/petitions/{slug}/report", "editor", 200,
          shows=("editor", PERSONAL[:1])),
    Route("GET", "/api/v1/petitions/{slug}/exports/{name}", "owner", 200,
          shows=("owner", PERSONAL)),
    Route("GET", "/api/v1/outbox/dead", "owner", 200),
    Route("POST", "/api/v1/outbox/dead/{job_id}/replay", "owner", 200),
    Route("POST", "/api/v1/outbox/dead/replay", "owner", 200),
]


class Seeded(NamedTuple):
    app: Flask
    person: int
    organisation: int
    run: int
    job: int


def dead_job(app: Flask) -> int:
    """A job the outbox gave up on, with the reason a worker records."""
    with app.app_context():
        job = outbox.enqueue(db.session(), "email.confirm", {"signature_id": 1})
        db.session.commit()
        claim = outbox.claim(db.session(), "worker", 10, 60)
        outbox.fail(db.session(), job.id, claim.lease, "SMTPRecipientsRefused 550",
                    outbox.RetryPolicy(1, 1, give_up_after=0))
        return job.id


def _token(app: Flask, role: str) -> str:
    result = app.test_cli_runner().invoke(
        args=["tokens", "create", "--role", role, "--name", f"{role} robot"])
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


@pytest.fixture
def seeded(tmp_path: Path, migrated_sqlite: Path) -> Seeded:
    app = make_app(tmp_path, migrated_sqlite)
    add_petition(app, slug=SLUG, signers=["people", "organizations"],
                 report_actions=REPORT_ACTIONS)
    person = sign_and_confirm(app, SLUG, PERSONAL[0], PERSONAL[1], show_name=True)
    organisation = sign_and_confirm(app, SLUG, PERSONAL[2], PERSONAL[3], kind="organization",
                                    organization="Harbour Watch")
    with app.app_context(), app.test_request_context():
        petition = db.session.scalars(select(Petition).where(Petition.slug == SLUG)).one()
        run = moderation.start_run(db.session(), petition,
                                   moderation.Criteria.read(domain="spam.example"), "bots",
                                   "seed", SIGNING_POLICY.of().index_key)
        run_id = run.id
    return Seeded(app, person, organisation, run_id, dead_job(app))


def _secret(app: Flask, caller: str) -> str | None:
    if caller == "anonymous":
        return None
    secret = _token(app, "owner" if caller == "revoked" else caller)
    if caller == "revoked":
        token_id = app.test_cli_runner().invoke(args=["tokens", "list"]).output.split()[0]
        assert app.test_cli_runner().invoke(args=["tokens", "revoke", token_id]).exit_code == 0
    return secret


def _shown(answer: TestResponse) -> str:
    """The answer's text as a reader sees it: JSON's escapes undone."""
    text = answer.get_data(as_text=True)
    if answer.is_json:
        text += json.dumps(answer.json, ensure_ascii=False)
    return text


def _expected(route: Route, caller: str) -> int:
    if route.role is None:
        return route.status
    if caller in ("anonymous", "revoked"):
        return 401
    return route.status if ROLES.index(caller) >= ROLES.index(route.role) else 403


def test_the_table_names_every_operation(app: Flask) -> None:
    with app.test_request_context():
        paths = document(app)["paths"]
    operations = {(method.upper(), path) for path, item in paths.items() for method in item}
    assert operations == {(route.method, route.path) for route in ROUTES}
    for route in ROUTES:
        declared = paths[route.path][route.method.lower()]
        assert str(route.status) in declared["responses"]
        assert (declared["security"] == []) == (route.role is None), route
        if route.role is not None:
            assert {"401", "403"} <= set(declared["responses"])
            assert route.role in declared["description"]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_every_route_for_every_caller(seeded: Seeded, route: Route, caller: str) -> None:
    app = seeded.app
    secret = _secret(app, caller)
    signature_id = seeded.organisation if "/organizations/" in route.path else seeded.person
    path = (route.path.replace("{slug}", SLUG).replace("{signature_id}", str(signature_id))
            .replace("{run_id}", str(seeded.run)).replace("{job_id}", str(seeded.job))
            .replace("{name}", "csv"))
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    answer = app.test_client().open(path, method=route.method, headers=headers,
                                    json=route.body)
    assert answer.status_code == _expected(route, caller), answer.get_data(as_text=True)[:300]
    if answer.status_code in (401, 403):
        assert answer.json["error"]
    shown = _shown(answer)
    lowest, values = route.shows
    seen = values if caller in ROLES and ROLES.index(caller) >= ROLES.index(lowest) else ()
    for value in PERSONAL:
        assert (value in shown) == (value in seen), (value, caller)
