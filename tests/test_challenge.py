"""The proof-of-work check before signing: issuing, verifying, spending, the modes, and both
signing paths, against a solver written from the protocol (tests/challenge_solver.py)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from altcha import create_challenge
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import OperationalError

from petitionkit import create_app
from petitionkit.challenges import services
from petitionkit.challenges.models import SpentChallenge
from petitionkit.challenges.services import ChallengePolicy, Problem, Ticket
from petitionkit.config import DEFAULTS, ConfigurationError
from petitionkit.embed.budget import measure
from petitionkit.extensions import db
from petitionkit.outbox.models import OutboxJob
from petitionkit.signatures.models import Signature

from .challenge_solver import decode, encode, solve
from .conftest import TEST_SECRET, add_petition, base_config, make_app, migrate

SLUG = "free-the-poet"
FORM = f"/p/{SLUG}/sign"
API = f"/api/v1/petitions/{SLUG}/signatures"
CHALLENGE = f"/api/v1/petitions/{SLUG}/challenge"
ORIGIN = "http://127.0.0.1:8000"
# Small enough that the Python solver takes a millisecond or two.
QUICK = {"CHALLENGE_MAX_ITERATIONS": 2000}
NEEDS_JAVASCRIPT = "this form asks your browser to complete a short check, which needs JavaScript"
NOT_SUCCEEDED = "The automatic check of your browser did not succeed. Please sign again."
EXPIRED = "The automatic check of your browser expired. Please sign again."


def challenge_app(tmp_path: Path, migrated_sqlite: Path, mode: str, **overrides: Any) -> Flask:
    app = make_app(tmp_path, migrated_sqlite, CHALLENGE_MODE=mode, **{**QUICK, **overrides})
    add_petition(app)
    return app


@pytest.fixture
def always(tmp_path: Path, migrated_sqlite: Path) -> Iterator[Flask]:
    app = challenge_app(tmp_path, migrated_sqlite, "always")
    yield app
    with app.app_context():
        db.engine.dispose()


def policy_of(app: Flask) -> ChallengePolicy:
    policy: ChallengePolicy = app.extensions["petitionkit.challenge_policy"]
    return policy


def fresh_solution(client: FlaskClient, path: str = CHALLENGE) -> str:
    answer = client.get(path)
    assert answer.status_code == 200, answer.data
    return solve(answer.json)


def stored(app: Flask) -> tuple[int, int]:
    """(signatures, outbox jobs): a refused post leaves neither, so no mail goes out either."""
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Signature)) or 0,
                db.session.scalar(select(func.count()).select_from(OutboxJob)) or 0)


def person(number: int) -> dict[str, str]:
    return {"name": f"Signer {number}", "email": f"signer{number}@example.org"}


# Issuing


def test_the_endpoint_hands_out_a_fresh_signed_expiring_challenge(always: Flask) -> None:
    client = always.test_client()
    before = time.time()
    first = client.get(CHALLENGE)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    assert first.json["required"] is True
    parameters = first.json["parameters"]
    assert parameters["algorithm"] == "SHA-256" and parameters["cost"] == 1
    assert parameters["data"] == {"petition": SLUG}
    assert before + 300 - 2 <= parameters["expiresAt"] <= time.time() + 300
    assert len(first.json["signature"]) == 64
    second = client.get(CHALLENGE).json
    assert second["parameters"]["nonce"] != parameters["nonce"], "never the same challenge"
    assert client.get("/api/v1/petitions/no-such-petition/challenge").status_code == 404
    add_petition(always, slug="a-draft", status="draft")
    assert client.get("/api/v1/petitions/a-draft/challenge").status_code == 404


def test_a_page_of_an_allowed_origin_may_read_a_challenge(always: Flask) -> None:
    client = always.test_client()
    allowed = client.get(CHALLENGE, headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    other = client.get(CHALLENGE, headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Origin" in other.headers.get_all("Vary")


def test_the_key_is_derived_for_challenges_alone(always: Flask) -> None:
    keys = always.extensions["petitionkit.keys"]
    assert policy_of(always).key == keys.challenge
    assert keys.challenge not in (keys.client, keys.blind_index, TEST_SECRET.encode())
    # A challenge signed with the secret itself is not the engine's.
    forged = create_challenge("SHA-256", 1, counter=5, data={"petition": SLUG},
                              expires_at=int(time.time()) + 60, hmac_secret=TEST_SECRET)
    payload = solve(forged.to_dict())
    assert services.verify(policy_of(always), SLUG, payload) is Problem.INVALID


def test_the_default_difficulty_is_solved_within_its_bound(tmp_path: Path,
                                                           migrated_sqlite: Path) -> None:
    app = make_app(tmp_path, migrated_sqlite, CHALLENGE_MODE="always")
    add_petition(app)
    assert policy_of(app).max_iterations == DEFAULTS["CHALLENGE_MAX_ITERATIONS"] == 100_000
    payload = fresh_solution(app.test_client())
    assert decode(payload)["solution"]["counter"] < 100_000
    assert isinstance(services.verify(policy_of(app), SLUG, payload), Ticket)


# Verifying


def test_a_solution_verifies_and_names_its_challenge(always: Flask) -> None:
    payload = fresh_solution(always.test_client())
    ticket = services.verify(policy_of(always), SLUG, payload)
    assert isinstance(ticket, Ticket)
    parameters = decode(payload)["challenge"]["parameters"]
    assert ticket.nonce == parameters["nonce"]
    assert ticket.expires_at == datetime.fromtimestamp(parameters["expiresAt"], UTC)


def tampered(payload: str, change: Any) -> str:
    body = decode(payload)
    change(body)
    return encode(body["challenge"], body["solution"])


@pytest.mark.parametrize("change", [
    pytest.param(lambda b: b["challenge"].update(signature="0" * 64), id="signature"),
    pytest.param(lambda b: b["challenge"]["parameters"].update(expiresAt=2**31), id="expiry"),
    pytest.param(lambda b: b["challenge"]["parameters"].update(keyPrefix="00"), id="difficulty"),
    pytest.param(lambda b: b["challenge"]["parameters"].update(data={"petition": "other"}),
                 id="petition"),
    pytest.param(lambda b: b["solution"].update(counter=b["solution"]["counter"] + 1),
                 id="counter"),
    pytest.param(lambda b: b["solution"].update(derivedKey="00" * 32), id="derived-key"),
    pytest.param(lambda b: b["challenge"].pop("signature"), id="unsigned"),
])
def test_a_tampered_solution_is_refused(always: Flask, change: Any) -> None:
    payload = tampered(fresh_solution(always.test_client()), change)
    assert services.verify(policy_of(always), SLUG, payload) is Problem.INVALID


def test_another_petitions_challenge_is_refused(always: Flask) -> None:
    add_petition(always, slug="another-petition")
    client = always.test_client()
    payload = fresh_solution(client, "/api/v1/petitions/another-petition/challenge")
    assert services.verify(policy_of(always), SLUG, payload) is Problem.INVALID
    answer = client.post(API, json={**person(1), "altcha": payload})
    assert answer.status_code == 422
    assert answer.json["errors"] == {"altcha": [NOT_SUCCEEDED]}
    assert stored(always) == (0, 0)


def test_an_expired_challenge_is_refused(always: Flask) -> None:
    policy = policy_of(always)
    old = services.issue(policy, SLUG, now=datetime.now(UTC) - timedelta(seconds=301))
    payload = solve(old.to_dict())
    assert services.verify(policy, SLUG, payload) is Problem.EXPIRED
    answer = always.test_client().post(API, json={**person(1), "altcha": payload})
    assert answer.status_code == 422
    assert answer.json == {"error": EXPIRED, "errors": {"altcha": [EXPIRED]}}
    assert stored(always) == (0, 0)


def test_a_challenge_from_an_instance_with_another_secret_is_refused(
    always: Flask, tmp_path: Path, migrated_sqlite: Path
) -> None:
    other = create_app(base_config(tmp_path / "other", SECRET_KEY="another-secret-0123456789",
                                   CHALLENGE_MODE="always"))
    payload = solve(services.issue(policy_of(other), SLUG).to_dict())
    assert services.verify(policy_of(always), SLUG, payload) is Problem.INVALID


# Spending


def test_a_solution_is_accepted_once_on_the_form(always: Flask) -> None:
    client = always.test_client()
    payload = fresh_solution(client)
    signed = client.post(FORM, data={**person(1), "altcha": payload})
    assert signed.status_code == 303
    assert stored(always) == (1, 1)
    again = client.post(FORM, data={**person(2), "altcha": payload})
    assert again.status_code == 422
    assert NOT_SUCCEEDED in again.get_data(as_text=True)
    assert stored(always) == (1, 1), "nothing stored, no mail"


def test_a_solution_is_accepted_once_on_the_api(always: Flask) -> None:
    client = always.test_client()
    payload = fresh_solution(client)
    assert client.post(API, json={**person(1), "altcha": payload}).status_code == 202
    with always.app_context():
        [signature] = db.session.scalars(select(Signature)).all()
        assert signature.status == "pending"
    again = client.post(API, json={**person(2), "altcha": payload})
    assert again.status_code == 422
    assert again.json == {"error": NOT_SUCCEEDED, "errors": {"altcha": [NOT_SUCCEEDED]}}
    assert stored(always) == (1, 1)
    # Nor across the two paths.
    assert client.post(FORM, data={**person(3), "altcha": payload}).status_code == 422
    assert stored(always) == (1, 1)


def test_a_post_refused_for_a_typo_keeps_its_solution(always: Flask) -> None:
    client = always.test_client()
    payload = fresh_solution(client)
    typo = client.post(FORM, data={"name": "Signer", "email": "not-an-address",
                                   "altcha": payload})
    assert typo.status_code == 422
    page = typo.get_data(as_text=True)
    assert f'name="altcha" value="{payload}"' in page, "the page sends it again"
    assert NOT_SUCCEEDED not in page
    assert client.post(FORM, data={**person(1), "altcha": payload}).status_code == 303
    api_typo = client.post(API, json={"name": "", "email": "x@example.org",
                                      "altcha": fresh_solution(client)})
    assert api_typo.status_code == 422 and "altcha" not in api_typo.json["errors"]


def test_spent_solutions_are_swept_once_expired(always: Flask) -> None:
    now = datetime.now(UTC)
    with always.app_context():
        db.session.add(SpentChallenge(nonce="old", expires_at=now - timedelta(seconds=1)))
        db.session.add(SpentChallenge(nonce="live", expires_at=now + timedelta(seconds=60)))
        db.session.commit()
        spent = services.SpentChallenges()
        with db.engine.begin() as connection:
            assert spent.claim(Ticket("new", now + timedelta(seconds=300)), now=now)(connection)
        assert set(db.session.scalars(select(SpentChallenge.nonce))) == {"live", "new"}
        with db.engine.begin() as connection:
            assert not spent.claim(Ticket("live", now), now=now)(connection)


def test_a_solution_is_spent_with_its_signature_or_not_at_all(always: Flask) -> None:
    """Spent in the signing's own transaction: a signing that fails leaves it unspent."""
    client = always.test_client()
    payload = fresh_solution(client)
    with always.app_context():
        db.session.execute(text("DROP TABLE outbox_jobs"))
        db.session.commit()
    with pytest.raises(OperationalError):
        client.post(API, json={**person(1), "altcha": payload})
    with always.app_context():
        assert db.session.scalar(select(func.count()).select_from(SpentChallenge)) == 0
        assert db.session.scalar(select(func.count()).select_from(Signature)) == 0


# What a signer without a solution is told


def test_a_form_post_without_a_solution_shows_the_page_with_the_reason(always: Flask) -> None:
    client = always.test_client()
    refused = client.post(FORM, data=person(1))
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert NEEDS_JAVASCRIPT in page.split('id="form-errors"')[1].split("</div>")[0]
    assert 'value="Signer 1"' in page, "what was typed is kept"
    assert stored(always) == (0, 0)
    embedded = client.post(FORM, data={**person(1), "embed": "1"})
    assert embedded.status_code == 422 and NEEDS_JAVASCRIPT in embedded.get_data(as_text=True)
    assert stored(always) == (0, 0)


def test_an_api_post_without_a_solution_is_told_in_json(always: Flask) -> None:
    refused = always.test_client().post(API, json=person(1))
    assert refused.status_code == 422
    assert NEEDS_JAVASCRIPT in refused.json["error"]
    assert refused.json["errors"] == {"altcha": [refused.json["error"]]}
    both = always.test_client().post(API, json={"name": "", "email": "a@example.org"})
    assert both.json["error"] == "Please correct the highlighted fields."
    assert set(both.json["errors"]) == {"name", "altcha"}
    assert stored(always) == (0, 0)


def test_the_pages_explain_the_check_and_load_its_script_only_when_asked(
    always: Flask, tmp_path: Path, migrated_sqlite: Path
) -> None:
    client = always.test_client()
    for path in (f"/p/{SLUG}", f"/embed/{SLUG}"):
        page = client.get(path).get_data(as_text=True)
        assert f'data-challenge="{CHALLENGE}"' in page
        assert '<input type="hidden" name="altcha" value="">' in page
        assert "<noscript>" in page and NEEDS_JAVASCRIPT in page
        assert 'role="status" aria-live="polite"' in page
        assert 'data-checking="Checking your browser…"' in page
        assert 'src="/widget/challenge.js?v=' in page
    script = client.get("/widget/challenge.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert "crypto.subtle" in script.get_data(as_text=True)
    assert "immutable" in script.headers["Cache-Control"]
    sizes = measure(always, SLUG)
    assert len(sizes.iframe_assets) == 3 and sizes.within_budget(), sizes.report()
    for path in (f"/p/{SLUG}", f"/embed/{SLUG}"):
        assert "worker-src 'self'" in client.get(path).headers["Content-Security-Policy"]

    (tmp_path / "off").mkdir()
    off = challenge_app(tmp_path / "off", migrated_sqlite, "off")
    quiet = off.test_client().get(f"/p/{SLUG}").get_data(as_text=True)
    assert "challenge" not in quiet and "altcha" not in quiet and "<noscript>" not in quiet


# Hostile input


def nested(depth: int) -> str:
    return base64.b64encode(("[" * depth + "]" * depth).encode()).decode()


def nested_in_parameters(depth: int) -> str:
    deep: Any = 1
    for _ in range(depth):
        deep = [deep]
    return encode({"parameters": {"algorithm": "SHA-256", "nonce": "00", "salt": "00",
                                  "cost": 1, "data": deep}, "signature": "ab"},
                  {"counter": 1, "derivedKey": "00"})


HOSTILE = {
    "over-the-body-limit": "A" * 100_000,
    "huge": "A" * 60_000,
    "just-long": "A" * 2049,
    "not-base64": "%%% not base64 ***",
    "non-ascii": "ünïcödé\u202e",
    "nul": "\x00" * 10,
    "not-json": base64.b64encode(b"\xff\xfe not json").decode(),
    "json-list": base64.b64encode(b"[1, 2, 3]").decode(),
    "json-string": base64.b64encode(b'"challenge"').decode(),
    "wrong-types": base64.b64encode(json.dumps(
        {"challenge": {"parameters": "x", "signature": 5}, "solution": []}).encode()).decode(),
    "nan-expiry": encode({"parameters": {"algorithm": "SHA-256", "nonce": "zz", "salt": "00",
                                         "cost": 1, "expiresAt": float("nan")},
                          "signature": ["a"]}, {"counter": "1", "derivedKey": None}),
    "deep": nested(700),
    "deeper-than-python-parses": nested(20_000),
    "deep-in-parameters": nested_in_parameters(500),
}


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_solutions_are_refused_with_a_message(always: Flask, value: str) -> None:
    client = always.test_client()
    assert services.verify(policy_of(always), SLUG, value) is Problem.INVALID
    form = client.post(FORM, data={**person(1), "altcha": value})
    assert form.status_code in (413, 422), form.status_code
    if form.status_code == 422:
        assert NOT_SUCCEEDED in form.get_data(as_text=True)
    api = client.post(API, json={**person(1), "altcha": value})
    assert api.status_code in (413, 422)
    if api.status_code == 422:
        assert api.json["errors"] == {"altcha": [NOT_SUCCEEDED]}
    assert stored(always) == (0, 0)


@pytest.mark.parametrize("value", [5, True, ["a"], {"challenge": {}}])
def test_an_altcha_that_is_not_text_is_a_shape_error(always: Flask, value: object) -> None:
    answer = always.test_client().post(API, json={**person(1), "altcha": value})
    assert answer.status_code == 400
    assert answer.json["errors"] == {"altcha": ["This must be text."]}
    assert stored(always) == (0, 0)


# Modes


def test_off_signs_without_a_solution_and_ignores_one(tmp_path: Path,
                                                     migrated_sqlite: Path) -> None:
    app = challenge_app(tmp_path, migrated_sqlite, "off")
    client = app.test_client()
    assert client.get(CHALLENGE).json["required"] is False
    assert client.post(FORM, data=person(1)).status_code == 303
    assert client.post(API, json={**person(2), "altcha": "garbage"}).status_code == 202
    assert stored(app) == (2, 2)


def test_an_unknown_mode_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CHALLENGE_MODE must be one of"):
        create_app(base_config(tmp_path, CHALLENGE_MODE="sometimes"))
    with pytest.raises(ConfigurationError, match="CHALLENGE_MAX_ITERATIONS"):
        create_app(base_config(tmp_path, CHALLENGE_MAX_ITERATIONS=0))


def age_signatures(app: Flask, seconds: int) -> None:
    with app.app_context():
        db.session.execute(update(Signature).values(
            created_at=datetime.now(UTC) - timedelta(seconds=seconds)))
        db.session.commit()


def test_auto_switches_on_with_a_flood_and_off_when_it_passes(tmp_path: Path,
                                                             migrated_sqlite: Path) -> None:
    app = challenge_app(tmp_path, migrated_sqlite, "auto", CHALLENGE_AUTO_THRESHOLD=3,
                        CHALLENGE_AUTO_WINDOW=600, CHALLENGE_AUTO_CACHE_SECONDS=0)
    client = app.test_client()
    for number in range(3):
        assert client.get(CHALLENGE).json["required"] is False
        assert client.post(API, json=person(number)).status_code == 202
    # Three new signatures pending within ten minutes: the check is on.
    assert client.get(CHALLENGE).json["required"] is True
    assert "data-challenge" in client.get(f"/p/{SLUG}").get_data(as_text=True)
    assert client.post(API, json=person(3)).status_code == 422
    assert client.post(FORM, data=person(3)).status_code == 422
    assert client.post(API, json={**person(3), "altcha": fresh_solution(client)}).status_code == 202
    # The flood is older than the window: off again.
    age_signatures(app, 601)
    assert client.get(CHALLENGE).json["required"] is False
    assert client.post(FORM, data=person(4)).status_code == 303
    # Confirmed signatures are no flood either.
    for number in range(5, 7):
        assert client.post(API, json=person(number)).status_code == 202
    assert client.get(CHALLENGE).json["required"] is True
    with app.app_context():
        db.session.execute(update(Signature).values(status="confirmed"))
        db.session.commit()
    assert client.get(CHALLENGE).json["required"] is False
    # Another petition is unaffected by this one's flood.
    add_petition(app, slug="calm")
    assert client.get("/api/v1/petitions/calm/challenge").json["required"] is False


def test_auto_is_shared_by_every_process_through_the_database(tmp_path: Path,
                                                             migrated_sqlite: Path) -> None:
    """Two apps on one database stand for two gunicorn workers: a flood taken by one switches
    the other on, once its cached reading is older than CHALLENGE_AUTO_CACHE_SECONDS."""
    settings = {"CHALLENGE_AUTO_THRESHOLD": 2, "CHALLENGE_AUTO_CACHE_SECONDS": 0.3}
    first = challenge_app(tmp_path, migrated_sqlite, "auto", **settings)
    database = first.config["DATABASE_URL"]
    second = create_app(base_config(tmp_path / "instance", DATABASE_URL=database,
                                    CHALLENGE_MODE="auto", **settings, **QUICK))
    assert second.test_client().post(API, json=person(0)).status_code == 202, "cached: off"
    for number in range(1, 3):
        assert first.test_client().post(API, json=person(number)).status_code == 202
    time.sleep(0.35)
    assert second.test_client().post(API, json=person(9)).status_code == 422
    assert first.test_client().post(API, json=person(9)).status_code == 422


def test_flooded_walks_no_further_than_the_threshold(app: Flask, petition: str) -> None:
    client = app.test_client()
    for number in range(4):
        client.post(API, json=person(number))
    with app.app_context():
        [petition_id] = db.session.scalars(select(Signature.petition_id).distinct())
        assert services.flooded(db.engine, petition_id, 4, 60)
        assert not services.flooded(db.engine, petition_id, 5, 60)
        later = datetime.now(UTC) + timedelta(seconds=61)
        assert not services.flooded(db.engine, petition_id, 4, 60, now=later)


def test_the_default_is_auto(app: Flask) -> None:
    assert DEFAULTS["CHALLENGE_MODE"] == "auto" and policy_of(app).mode == "auto"


# PostgreSQL


@pytest.fixture
def pg_always(tmp_path: Path, migrated_sqlite: Path, postgres_url: str) -> Iterator[Flask]:
    app = make_app(tmp_path, migrated_sqlite, DATABASE_URL=postgres_url, CHALLENGE_MODE="auto",
                   CHALLENGE_AUTO_THRESHOLD=2, CHALLENGE_AUTO_CACHE_SECONDS=0, **QUICK)
    migrate(app)
    add_petition(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_replay_and_auto_on_postgresql(pg_always: Flask) -> None:
    client = pg_always.test_client()
    for number in range(2):
        assert client.post(API, json=person(number)).status_code == 202
    assert client.post(FORM, data=person(2)).status_code == 422, "flooded: on"
    payload = fresh_solution(client)
    assert client.post(FORM, data={**person(2), "altcha": payload}).status_code == 303
    assert client.post(API, json={**person(3), "altcha": payload}).status_code == 422
    assert stored(pg_always) == (3, 3)
    age_signatures(pg_always, 601)
    assert client.post(API, json=person(4)).status_code == 202, "the flood has passed"
