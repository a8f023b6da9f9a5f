"""Goals: the built-in fixed goal and ladders, shown everywhere, and reached exactly once."""

from __future__ import annotations

import threading
from html import unescape
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from petitionkit import hookimpl
from petitionkit.extensions import db
from petitionkit.outbox.worker import run_once
from petitionkit.petitions.models import Petition
from petitionkit.plugins.calls import manager_of as get_plugin_manager
from petitionkit.plugins.default_goals import auto_ladder, next_milestone
from petitionkit.signatures import services
from petitionkit.signatures.models import Signature
from petitionkit.testing import run_jobs, sign_and_confirm

from .conftest import add_petition


class GoalRecorder:
    def __init__(self) -> None:
        self.reached: list[tuple[str, int, int]] = []
        self.lock = threading.Lock()

    @hookimpl
    def petitionkit_goal_reached(self, petition: Petition, goal: int, count: int) -> None:
        with self.lock:
            self.reached.append((petition.slug, goal, count))


def test_fixed_goal_and_explicit_ladder() -> None:
    assert next_milestone([10, 100, 50], 0) == 10
    assert next_milestone([10, 100, 50], 10) == 50
    assert next_milestone([10, 100, 50], 500) == 100, "past the last step the last one stays"
    with pytest.raises(ValueError, match="goal_ladder"):
        next_milestone(["many"], 0)


def test_auto_ladder_climbs_like_the_big_platforms() -> None:
    ladder = auto_ladder()
    assert [next(ladder) for _ in range(7)] == [1000, 2500, 5000, 10000, 25000, 50000, 100000]
    assert next_milestone("auto", 0) == 1000
    assert next_milestone("auto", 1000) == 2500
    assert next_milestone("auto", 3_000_000) == 5_000_000


def test_goal_in_the_api_the_page_and_the_widget(app: Flask) -> None:
    slug = add_petition(app, goal=None, goal_settings={"ladder": "auto"})
    client = app.test_client()
    assert client.get(f"/api/v1/petitions/{slug}").json["goal"] == 1000
    assert "0 have signed. Let's get to 1,000!" in unescape(client.get(f"/p/{slug}").text)
    assert "Let's get to 1,000!" in unescape(client.get(f"/embed/{slug}").text)
    fixed = add_petition(app, slug="fixed", goal=300)
    assert client.get(f"/api/v1/petitions/{fixed}").json["goal"] == 300
    none = add_petition(app, slug="no-goal", goal=None)
    assert client.get(f"/api/v1/petitions/{none}").json["goal"] is None
    assert "0 have signed." in unescape(client.get(f"/p/{none}").text)


def test_ladder_moves_on_when_a_milestone_is_reached(app: Flask) -> None:
    recorder = GoalRecorder()
    get_plugin_manager(app).register(recorder)
    slug = add_petition(app, goal=None, goal_settings={"ladder": [2, 4]})
    for number in range(5):
        sign_and_confirm(app, slug, f"S{number}", f"s{number}@example.org")
    run_jobs(app)
    assert recorder.reached == [(slug, 2, 2), (slug, 4, 4)]
    app.extensions["petitionkit.summary_cache"].clear()
    assert app.test_client().get(f"/api/v1/petitions/{slug}").json["goal"] == 4


def test_a_goal_crossed_again_after_withdrawals_is_not_reached_twice(app: Flask) -> None:
    recorder = GoalRecorder()
    get_plugin_manager(app).register(recorder)
    slug = add_petition(app, goal=2)
    first = sign_and_confirm(app, slug, "A", "a@example.org")
    sign_and_confirm(app, slug, "B", "b@example.org")
    with app.app_context():
        nonce = db.session.get(Signature, first).token_nonce
        assert services.cancel(db.session(), first, nonce) is services.CancelOutcome.CANCELLED
    sign_and_confirm(app, slug, "C", "c@example.org")  # back to 2
    run_jobs(app)
    assert recorder.reached == [(slug, 2, 2)]


def _pending_signatures(app: Flask, slug: str, how_many: int) -> tuple[list[tuple[int, str]], Any]:
    with app.app_context(), app.test_request_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        policy = app.extensions["petitionkit.signing_policy"]
        for number in range(how_many):
            services.sign(db.engine, petition, services.SignatureInput(
                name=f"Signer {number}", email=f"signer{number}@example.org"), policy)
        rows = db.session.execute(select(Signature.id, Signature.token_nonce)).all()
        return [(row[0], row[1]) for row in rows], petition.id


def test_goal_reached_exactly_once_with_concurrent_confirmations_on_postgresql(
    pg_app: Flask,
) -> None:
    recorder = GoalRecorder()
    get_plugin_manager(pg_app).register(recorder)
    slug = add_petition(pg_app, goal=None, goal_settings={"ladder": [5, 10, 15, 20]})
    signatures, _ = _pending_signatures(pg_app, slug, 24)
    listener = pg_app.extensions["petitionkit.lifecycle"]
    start = threading.Barrier(8)
    outcomes: list[services.ConfirmOutcome] = []
    errors: list[BaseException] = []

    def confirm_share(share: list[tuple[int, str]]) -> None:
        try:
            with pg_app.app_context(), pg_app.test_request_context():
                start.wait()
                for signature_id, nonce in share:
                    outcome, _ = services.confirm(db.session(), signature_id, nonce,
                                                  listener=listener)
                    outcomes.append(outcome)
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=confirm_share, args=(signatures[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert outcomes.count(services.ConfirmOutcome.CONFIRMED) == 24

    def drain() -> None:
        with pg_app.app_context():
            while run_once(pg_app) > 0:
                pass

    workers = [threading.Thread(target=drain) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(goal for _, goal, _ in recorder.reached) == [5, 10, 15, 20]
    assert all(count == goal for _, goal, count in recorder.reached)
    with pg_app.app_context():
        assert db.session.scalar(
            select(Petition.signature_count).where(Petition.slug == slug)
        ) == 24


def test_after_the_last_goal_the_sentence_says_it_is_reached(app: Flask) -> None:
    from petitionkit.embed.progress import count_sentence

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert count_sentence(5, 4) == "5 have signed: the goal of 4 is reached. Thank you!"
        assert count_sentence(4, 4) == "4 have signed: the goal of 4 is reached. Thank you!"
        assert count_sentence(3, 4) == "3 have signed. Let's get to 4!"
        assert count_sentence(3, 4, offline=2) == (
            "3 signed online + 2 on paper: the goal of 4 is reached. Thank you!")
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        assert "Let's" not in count_sentence(5, 4) and "5" in count_sentence(5, 4)
