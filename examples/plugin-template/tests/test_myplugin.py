"""The template's own tests: keep them when you copy it, and change what they check."""

from __future__ import annotations

from pathlib import Path

from petitionkit_myplugin.models import Sent
from sqlalchemy import update

from petitionkit.extensions import db
from petitionkit.outbox.models import PENDING, OutboxJob
from petitionkit.testing import (
    add_petition,
    make_test_app,
    recording_http_server,
    run_jobs,
    sign_and_confirm,
)


def test_posts_each_confirmed_signature(tmp_path: Path) -> None:
    with recording_http_server([(503, {}), (200, {})]) as server:
        app = make_test_app(tmp_path, PLUGINS={"petitionkit-myplugin": {"url": server.url}})
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Ada Example", "ada@example.org")
        run_jobs(app)  # the first attempt gets 503 and is retried
        run_jobs(app)
        assert len(server.requests) == 2
        assert server.requests[-1].json() == {"petition": slug, "count": 1}


def test_a_job_run_again_sends_nothing_more(tmp_path: Path) -> None:
    """The plugin's own table, created by its migration, remembers what was sent."""
    with recording_http_server() as server:
        app = make_test_app(tmp_path, PLUGINS={"petitionkit-myplugin": {"url": server.url}})
        slug = add_petition(app)
        signature_id = sign_and_confirm(app, slug, "Ada Example", "ada@example.org")
        run_jobs(app)
        with app.app_context():
            assert db.session.get(Sent, signature_id) is not None
            # A worker killed after the POST: the job is delivered again.
            db.session.execute(update(OutboxJob).values(status=PENDING))
            db.session.commit()
        run_jobs(app)
        assert len(server.requests) == 1


def test_refused_requests_are_not_retried(tmp_path: Path) -> None:
    with recording_http_server([(404, {})]) as server:
        app = make_test_app(tmp_path, PLUGINS={"petitionkit-myplugin": {"url": server.url}})
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Ada Example", "ada@example.org")
        run_jobs(app)
        run_jobs(app)
        assert len(server.requests) == 1
        assert "Refused 404" in app.test_cli_runner().invoke(args=["outbox", "dead"]).output


def test_listed_as_a_plugin(tmp_path: Path) -> None:
    app = make_test_app(tmp_path)
    listed = app.test_cli_runner().invoke(args=["plugins"]).output
    assert ("petitionkit-myplugin\t0.1.0\tentry point\t"
            "petitionkit_migrations, petitionkit_signature_confirmed") in listed
