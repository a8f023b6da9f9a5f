"""The plugin manager: loading order, disabling, settings, startup checks and failure handling."""

from __future__ import annotations

import logging
from pathlib import Path

import pluggy
import pytest
from flask import Flask
from sqlalchemy import select

from petitionkit import create_app, hookimpl
from petitionkit.extensions import db
from petitionkit.outbox.models import DEAD, PENDING, OutboxJob
from petitionkit.plugins import PluginConfigError, plugin_settings
from petitionkit.plugins.calls import manager_of as get_plugin_manager
from petitionkit.plugins.manager import DEFAULT_PLUGINS
from petitionkit.signatures.models import Signature
from petitionkit.testing import run_jobs, sign_and_confirm

from .conftest import TEST_SECRET, add_petition, make_app


def write_plugin(tmp_path: Path, name: str, source: str) -> None:
    folder = tmp_path / "instance" / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(source, encoding="utf-8")


GOAL_777 = """
from petitionkit import hookimpl

@hookimpl
def petitionkit_goal(petition, count):
    return 777
"""


def test_hookimpl_is_exported_for_plugins() -> None:
    assert isinstance(hookimpl, pluggy.HookimplMarker)
    assert hookimpl.project_name == "petitionkit"


def test_built_ins_load_first_and_an_instance_plugin_overrides_them(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    write_plugin(tmp_path, "lucky", GOAL_777)
    app = make_app(tmp_path, migrated_sqlite)
    names = [name for name, _ in get_plugin_manager(app).list_name_plugin()]
    assert names[: len(DEFAULT_PLUGINS)] == list(DEFAULT_PLUGINS)
    assert names[-1] == "lucky"
    slug = add_petition(app, goal=1000)
    assert app.test_client().get(f"/api/v1/petitions/{slug}").json["goal"] == 777


def test_two_apps_in_one_process_keep_their_own_plugins(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    write_plugin(tmp_path / "one", "lucky", GOAL_777)
    with_plugin = make_app(tmp_path / "one", migrated_sqlite)
    (tmp_path / "two").mkdir()
    without = make_app(tmp_path / "two", migrated_sqlite)
    assert get_plugin_manager(with_plugin) is not get_plugin_manager(without)
    assert get_plugin_manager(without).get_plugin("lucky") is None
    add_petition(with_plugin, goal=1000)
    add_petition(without, goal=1000)
    assert with_plugin.test_client().get("/api/v1/petitions/free-the-poet").json["goal"] == 777
    assert without.test_client().get("/api/v1/petitions/free-the-poet").json["goal"] == 1000


def test_disabled_plugins_are_not_loaded(tmp_path: Path, migrated_sqlite: Path) -> None:
    write_plugin(tmp_path, "lucky", GOAL_777)
    app = make_app(tmp_path, migrated_sqlite,
                   PLUGINS_DISABLED=["lucky", "petitionkit.plugins.default_goals"])
    manager = get_plugin_manager(app)
    assert manager.get_plugin("lucky") is None
    assert manager.get_plugin("petitionkit.plugins.default_goals") is None
    slug = add_petition(app, goal=1000)
    assert app.test_client().get(f"/api/v1/petitions/{slug}").json["goal"] is None


@pytest.mark.parametrize("built_in", ["default_jobs", "default_mail", "default_targets"])
def test_a_required_built_in_cannot_be_disabled(
    tmp_path: Path, migrated_sqlite: Path, built_in: str
) -> None:
    """Jobs already queued need their handlers: disabling one would leave them undeliverable."""
    with pytest.raises(PluginConfigError, match="cannot work without.*implement the same hooks"):
        make_app(tmp_path, migrated_sqlite,
                 PLUGINS_DISABLED=[f"petitionkit.plugins.{built_in}"])


def test_signer_mail_is_a_built_in_plugin(app: Flask) -> None:
    """The e-mails to signers are registered through petitionkit_job_handlers like any other."""
    manager = get_plugin_manager(app)
    mail = manager.get_plugin("petitionkit.plugins.default_mail")
    assert mail is not None
    assert [caller.name for caller in manager.get_hookcallers(mail) or []] == [
        "petitionkit_job_handlers"
    ]
    handlers = app.extensions["petitionkit.job_handlers"]
    assert {"email.confirm", "email.already_signed"} <= set(handlers)


def test_a_misspelt_hook_stops_the_app_at_startup(tmp_path: Path, migrated_sqlite: Path) -> None:
    write_plugin(tmp_path, "typo", "from petitionkit import hookimpl\n\n@hookimpl\n"
                 "def petitionkit_goals(petition, count):\n    return 1\n")
    with pytest.raises(pluggy.PluginValidationError, match="petitionkit_goals"):
        make_app(tmp_path, migrated_sqlite)


def test_two_plugins_claiming_one_job_kind_stop_the_app(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    write_plugin(tmp_path, "thief", "from petitionkit import hookimpl\n\n@hookimpl\n"
                 "def petitionkit_job_handlers():\n"
                 "    return {'plugins.goal_reached': lambda job, context: None}\n")
    with pytest.raises(PluginConfigError, match="plugins.goal_reached"):
        make_app(tmp_path, migrated_sqlite)


def test_plugin_settings_are_a_dict_and_read_secrets_from_the_environment(
    tmp_path: Path, migrated_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXAMPLE_WEBHOOK_SECRET", "s3cret")
    app = make_app(tmp_path, migrated_sqlite, PLUGINS={
        "hooky": {"url": "http://127.0.0.1:9/", "secret": {"$env": "EXAMPLE_WEBHOOK_SECRET"},
                  "headers": [{"$env": "EXAMPLE_WEBHOOK_SECRET"}]},
        "broken": {"token": {"$env": "EXAMPLE_MISSING_VARIABLE"}},
        "empty": None,
    })
    assert plugin_settings("hooky", app) == {
        "url": "http://127.0.0.1:9/", "secret": "s3cret", "headers": ["s3cret"],
    }
    assert plugin_settings("not-configured", app) == {}
    assert plugin_settings("empty", app) == {}
    with pytest.raises(PluginConfigError, match="EXAMPLE_MISSING_VARIABLE"):
        plugin_settings("broken", app)


def test_settings_come_from_the_petitionkit_plugins_environment_variable(
    tmp_path: Path, migrated_sqlite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    monkeypatch.setenv("PETITIONKIT_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("PETITIONKIT_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("PETITIONKIT_OUTBOX_INPROCESS_WORKER", "false")
    monkeypatch.setenv("PETITIONKIT_PLUGINS", '{"hooky": {"url": "http://127.0.0.1:9/"}}')
    app = create_app()
    assert plugin_settings("hooky", app) == {"url": "http://127.0.0.1:9/"}


def test_plugins_command_lists_plugins_versions_and_hooks(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    write_plugin(tmp_path, "lucky", GOAL_777 + "\n__version__ = '2.1'\n")
    app = make_app(tmp_path, migrated_sqlite)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["plugins"]).output.splitlines()
    assert "lucky\t2.1\tinstance\tpetitionkit_goal" in listed
    assert not any(line.startswith("petitionkit.plugins.default_") for line in listed)
    everything = runner.invoke(args=["plugins", "--all"]).output
    assert "petitionkit.plugins.default_goals\t0.1.0\tbuilt-in\tpetitionkit_goal" in everything


RAISING_REQUEST_HOOKS = """
from petitionkit import hookimpl

@hookimpl
def petitionkit_goal(petition, count):
    raise RuntimeError("goal plugin broke")

@hookimpl
def petitionkit_validate_signature(petition, signature):
    raise RuntimeError("validation plugin broke")
"""


def test_a_failing_request_hook_is_loud_in_development(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    write_plugin(tmp_path, "broken", RAISING_REQUEST_HOOKS)
    app = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(app)
    with pytest.raises(RuntimeError, match="goal plugin broke"):
        app.test_client().get(f"/api/v1/petitions/{slug}")


def test_a_failing_request_hook_is_logged_in_production_and_the_signature_kept(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_plugin(tmp_path, "broken", RAISING_REQUEST_HOOKS)
    app = make_app(tmp_path, migrated_sqlite, TESTING=False)
    slug = add_petition(app)
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="petitionkit.plugins"):
        assert client.get(f"/p/{slug}").status_code == 200
        signed = client.post(f"/api/v1/petitions/{slug}/signatures",
                             json={"name": "Kept Signer", "email": "kept@example.org"})
    assert signed.status_code == 202
    with app.app_context():
        assert db.session.scalars(select(Signature)).one().name == "Kept Signer"
    messages = [record.getMessage() for record in caplog.records]
    assert "plugin hook failed hook=petitionkit_validate_signature error=RuntimeError" in messages
    assert not any("kept@example.org" in message or "Kept" in message for message in messages)


def test_a_failing_worker_hook_is_retried_then_dead_then_replayed(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    write_plugin(tmp_path, "flaky", """
from petitionkit import hookimpl

calls = []

@hookimpl
def petitionkit_signature_confirmed(petition, signature):
    calls.append(signature.id)
    if len(calls) < 3:
        raise ConnectionError("remote side down")
""")
    app: Flask = make_app(tmp_path, migrated_sqlite, OUTBOX_BACKOFF_BASE=0.0,
                          OUTBOX_BACKOFF_MAX=0.0, OUTBOX_GIVE_UP_AFTER=-1)
    slug = add_petition(app)
    sign_and_confirm(app, slug, "Signer", "signer@example.org")
    run_jobs(app)
    with app.app_context():
        job = db.session.scalar(
            select(OutboxJob).where(OutboxJob.kind == "plugins.signature_confirmed")
        )
        assert job is not None
        assert (job.status, job.attempts) == (DEAD, 1)
        assert job.idempotency_key == "signature-confirmed:1:flaky"
        assert job.last_error == "ConnectionError"
    runner = app.test_cli_runner()
    [dead] = [line for line in runner.invoke(args=["outbox", "dead"]).output.splitlines()
              if "plugins.signature_confirmed" in line]
    assert "\t1 attempts\t" in dead and dead.endswith("\tConnectionError")
    assert runner.invoke(args=["outbox", "replay"]).output == "replayed 1\n"
    with app.app_context():
        assert db.session.get(OutboxJob, job.id).status == PENDING
    flaky = get_plugin_manager(app).get_plugin("flaky")
    run_jobs(app)  # second failure: dead again at once (give-up is immediate here)
    runner.invoke(args=["outbox", "replay"])
    run_jobs(app)
    assert flaky.calls == [1, 1, 1]
    with app.app_context():
        assert db.session.get(OutboxJob, job.id).status == "done"


def test_every_hookspec_docstring_has_the_same_shape() -> None:
    import inspect

    from petitionkit.plugins import specs as hookspecs

    for name in hookspecs.HOOK_NAMES:
        spec = getattr(hookspecs, name)
        doc = inspect.getdoc(spec) or ""
        for part in ("Returns:", "Arguments:", "Runs:"):
            assert part in doc, f"{name}: the docstring says nothing after {part!r}"
        first_result = spec.petitionkit_spec.get("firstresult", False)
        assert ("First result wins." in doc) == first_result, name
        assert first_result or "All implementations are called" in doc or "Every implementing" \
            in doc, f"{name}: say that every implementation is called"


def test_an_unconfigured_connector_queues_no_job(tmp_path: Path, migrated_sqlite: Path) -> None:
    write_plugin(tmp_path, "connector", """
from petitionkit import hookimpl
from petitionkit.plugins import active_when_configured

@hookimpl
@active_when_configured("connector")
def petitionkit_signature_confirmed(petition, signature):
    pass
""")
    idle = make_app(tmp_path, migrated_sqlite)
    slug = add_petition(idle)
    sign_and_confirm(idle, slug, "Signer", "one@example.org")
    (tmp_path / "configured").mkdir()
    write_plugin(tmp_path / "configured", "connector",
                 (tmp_path / "instance" / "plugins" / "connector.py").read_text())
    configured = make_app(tmp_path / "configured", migrated_sqlite,
                          PLUGINS={"connector": {"url": "http://127.0.0.1:9/"}})
    add_petition(configured)
    sign_and_confirm(configured, slug, "Signer", "two@example.org")
    for app, expected in ((idle, []), (configured, ["signature-confirmed:1:connector"])):
        with app.app_context():
            assert list(db.session.scalars(select(OutboxJob.idempotency_key).where(
                OutboxJob.kind == "plugins.signature_confirmed"))) == expected
