"""Each hook's documented example, run as an instance plugin, does what the reference says."""

from __future__ import annotations

import ast
import logging
import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect, select

from petitionkit.actions import Action
from petitionkit.extensions import db
from petitionkit.outbox.services import enqueue
from petitionkit.petitions.models import Petition
from petitionkit.plugins import specs as hookspecs
from petitionkit.signatures.models import PENDING, Signature
from petitionkit.signatures.services import SignatureInput, sign
from petitionkit.testing import recording_http_server, run_jobs, sign_and_confirm, withdraw

from .admin import sign_in
from .conftest import add_petition, make_app
from .hook_docs import hook_sections, install_example

TESTS = Path(__file__).resolve().parent


def app_with_example(tmp_path: Path, migrated_sqlite: Path, hook: str, **config: object) -> Flask:
    install_example(tmp_path / "instance", hook)
    return make_app(tmp_path, migrated_sqlite, **config)


def test_every_hook_is_documented_with_its_exact_signature() -> None:
    sections = hook_sections()
    assert set(sections) == set(hookspecs.HOOK_NAMES), "reference sections and hookspecs differ"
    for name in hookspecs.HOOK_NAMES:
        assert f"`{hookspecs.spec_signature(name)}`" in sections[name].text, name


def test_every_hook_has_a_test_of_its_own() -> None:
    """A test function named after the hook, in a tests/test_hooks*.py module."""
    test_names: set[str] = set()
    for module in TESTS.glob("test_hooks*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        test_names |= {node.name for node in tree.body
                       if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
    for name in hookspecs.HOOK_NAMES:
        assert any(test.startswith(f"test_{name}_") for test in test_names), (
            f"no test_{name}_… function in tests/test_hooks*.py"
        )


def test_petitionkit_goal_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_goal")
    add_petition(app, slug="doubled", extra={"goal": "double"}, goal=5000)
    add_petition(app, slug="fixed", goal=5000)
    client = app.test_client()
    assert client.get("/api/v1/petitions/doubled").json["goal"] == 100
    assert client.get("/api/v1/petitions/fixed").json["goal"] == 5000, "the built-in still answers"
    for number in range(51):
        sign_and_confirm(app, "doubled", f"Signer {number}", f"s{number}@example.org")
    app.extensions["petitionkit.summary_cache"].clear()
    assert client.get("/api/v1/petitions/doubled").json["goal"] == 200
    assert "51 have signed. Let's get to 200!" in unescape(client.get("/p/doubled").text)


def test_petitionkit_goal_reached_example(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_goal_reached")
    slug = add_petition(app, goal=2)
    for number in range(3):
        sign_and_confirm(app, slug, f"Signer {number}", f"s{number}@example.org")
    with caplog.at_level(logging.INFO, logger="petitionkit.milestones"):
        run_jobs(app)
    reached = [r.getMessage() for r in caplog.records if r.name == "petitionkit.milestones"]
    assert reached == [f"petition {slug} reached its goal of 2 signatures"]


def test_petitionkit_exporters_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_exporters")
    slug = add_petition(app)
    sign_and_confirm(app, slug, "Wants News", "news@example.org", consent_updates=True)
    sign_and_confirm(app, slug, "No News", "quiet@example.org")
    output = tmp_path / "list.txt"
    result = app.test_cli_runner().invoke(
        args=["export", slug, "--format", "addresses", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert output.read_text() == "news@example.org\n"
    assert ("exported 1 signature(s) as addresses; 1 skipped because the signer did not consent"
            " to be contacted") in result.output


def test_petitionkit_signature_confirmed_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    with recording_http_server([(500, {}), (200, {})]) as server:
        app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_signature_confirmed",
                               PLUGINS={"count_ping": {"url": server.url}},
                               OUTBOX_BACKOFF_BASE=0.0, OUTBOX_BACKOFF_MAX=0.0)
        slug = add_petition(app)
        sign_and_confirm(app, slug, "Signer", "signer@example.org", country="FR")
        run_jobs(app)  # the first POST meets a 500 and is retried
        run_jobs(app)
        assert [request.json() for request in server.requests] == [
            {"petition": slug, "country": "FR"}, {"petition": slug, "country": "FR"},
        ]


def test_petitionkit_signature_withdrawn_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    with recording_http_server() as server:
        app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_signature_withdrawn",
                               PLUGINS={"withdrawal_ping": {"url": server.url}})
        slug = add_petition(app)
        confirmed = sign_and_confirm(app, slug, "Signer", "signer@example.org")
        invalidated = sign_and_confirm(app, slug, "Other", "other@example.org")
        withdraw(app, confirmed, "signer")
        withdraw(app, invalidated, "operator")
        run_jobs(app)
        assert sorted(request.json()["reason"] for request in server.requests) == [
            "operator", "signer",
        ]
        assert {request.json()["signature"] for request in server.requests} == {
            confirmed, invalidated,
        }
        # A signature withdrawn before it was confirmed reached no plugin: nothing to take back.
        before = len(server.requests)
        with app.app_context():
            policy = app.extensions["petitionkit.signing_policy"]
            petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
            sign(db.engine, petition, SignatureInput(name="Pending", email="p@example.org"),
                 policy)
            pending = db.session.scalar(select(Signature.id).where(Signature.status == PENDING))
        withdraw(app, pending, "signer")
        run_jobs(app)
        assert len(server.requests) == before


def test_petitionkit_organization_approved_example(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_organization_approved")
    slug = add_petition(app, signers=["organizations"])
    approved = sign_and_confirm(app, slug, "Contact", "c@example.org", kind="organization",
                                organization="River Keepers", organization_url="https://rk.example")
    rejected = sign_and_confirm(app, slug, "Other", "o@example.org", kind="organization",
                                organization="Impostor Org")
    runner = app.test_cli_runner()
    with caplog.at_level(logging.INFO, logger="petitionkit.coalition_log"):
        run_jobs(app)  # the confirmation mails; confirmed, not yet approved: nothing logged
        assert not [r for r in caplog.records if r.name == "petitionkit.coalition_log"]
        assert runner.invoke(args=["signers", "approve", slug, str(approved)]).exit_code == 0
        assert runner.invoke(args=["signers", "reject", slug, str(rejected)]).exit_code == 0
        run_jobs(app)
        # Approving again is no event at all.
        assert runner.invoke(args=["signers", "approve", slug, str(approved)]).exit_code == 0
        assert run_jobs(app) == 0
    logged = [r.getMessage() for r in caplog.records if r.name == "petitionkit.coalition_log"]
    assert logged == [f"River Keepers joined {slug}"]


def test_petitionkit_personal_data_removed_example(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_personal_data_removed")
    slug = add_petition(app, retain_days=0)
    kept = add_petition(app, slug="still-open")
    sign_and_confirm(app, slug, "Leyla Example", "leyla@example.org")
    sign_and_confirm(app, kept, "Open Example", "open@example.org")
    runner = app.test_cli_runner()
    with caplog.at_level(logging.INFO, logger="petitionkit.notes_retention"):
        assert runner.invoke(args=["privacy", "purge"]).exit_code == 0
        assert not [r for r in caplog.records if r.name == "petitionkit.notes_retention"]
        with app.app_context():
            petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
            assert petition is not None
            petition.status = "closed"
            db.session.commit()
        assert runner.invoke(args=["privacy", "purge"]).exit_code == 0
        assert runner.invoke(args=["privacy", "purge"]).exit_code == 0  # done: not due again
    logged = [r.getMessage() for r in caplog.records if r.name == "petitionkit.notes_retention"]
    assert logged == [f"signers' notes of {slug} deleted"]


def test_petitionkit_workspace_counts_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_workspace_counts")
    add_petition(app, slug="two-targets", targets=[{"name": "A Mayor"}, {"name": "A Deputy"}])
    add_petition(app, slug="no-targets")
    client = app.test_client()
    sign_in(client, "viewer@example.org", "viewer", app)
    page = client.get("/admin/").text
    assert '<th scope="col" class="number">Targets</th>' in page
    cells = {slug: page.split(f'<span class="slug">{slug}</span>')[1].split("</tr>")[0]
             for slug in ("two-targets", "no-targets")}
    assert len(re.findall(r'<td class="number"[^>]*>2</td>', cells["two-targets"])) == 1
    assert not re.search(r'<td class="number"[^>]*>2</td>', cells["no-targets"])


def test_petitionkit_petition_changed_example(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_petition_changed")
    petition_file = tmp_path / "save-the-river.md"
    text = "---\ntitle: Save the river\nstatus: open\ngoal: 100\n---\nKeep it clean.\n"
    petition_file.write_text(text)
    runner = app.test_cli_runner()
    with caplog.at_level(logging.INFO, logger="petitionkit.petition_log"):
        assert runner.invoke(args=["petition", "load", str(petition_file)]).exit_code == 0
        run_jobs(app)
        petition_file.write_text(text.replace("goal: 100", "goal: 500"))
        assert runner.invoke(args=["petition", "load", str(petition_file)]).exit_code == 0
        run_jobs(app)
        # Loading it again unchanged is no event at all.
        assert runner.invoke(args=["petition", "load", str(petition_file)]).exit_code == 0
        assert run_jobs(app) == 0
    logged = [r.getMessage() for r in caplog.records if r.name == "petitionkit.petition_log"]
    assert logged == ["new petition save-the-river", "petition save-the-river changed: goal"]


def test_petitionkit_migrations_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    """The documented code is the template's, and its table is built by its own branch."""
    section = hook_sections()["petitionkit_migrations"]
    template_file = TESTS.parent / section.example_path
    documented = section.example.split("\n", 1)[1]
    assert documented in template_file.read_text(encoding="utf-8")
    app = make_app(tmp_path, migrated_sqlite)
    with app.app_context(), db.engine.connect() as connection:
        heads = set(MigrationContext.configure(connection).get_current_heads())
        tables = set(inspect(connection).get_table_names())
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert "myplugin_0001" in heads, "the plugin's branch was applied beside the core's"
    assert "myplugin_sent" in tables
    assert differences == []


def test_petitionkit_action_taken_example(
    tmp_path: Path, migrated_sqlite: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_action_taken")
    slug = add_petition(app)
    signature_id = sign_and_confirm(app, slug, "Caller", "caller@example.org")
    with app.app_context():
        petition_id = db.session.scalar(select(Petition.id).where(Petition.slug == slug))
        lifecycle = app.extensions["petitionkit.lifecycle"]
        lifecycle.action_taken(db.session(), Action(
            "call", petition_id, datetime.now(UTC), signature_id=signature_id,
            target="minister", outcome="voicemail"))
        lifecycle.action_taken(db.session(), Action("paper", petition_id, datetime.now(UTC),
                                                    count=120))
        db.session.commit()
    with caplog.at_level(logging.INFO, logger="petitionkit.action_tally"):
        run_jobs(app)
    logged = sorted(r.getMessage() for r in caplog.records if r.name == "petitionkit.action_tally")
    assert logged == [f"{slug}: 1 x call (voicemail)", f"{slug}: 120 x paper (no outcome)"]
    with pytest.raises(ValueError, match="lower-case word"):
        Action("Called the minister!", petition_id, datetime.now(UTC))


def test_petitionkit_targets_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    from petitionkit.petitions.models import Petition
    from petitionkit.targets.delivery import targets_for

    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_targets")
    slug = add_petition(app, targets=[{"name": "Minister of Examples", "email": "m@example.org"}])
    in_france = sign_and_confirm(app, slug, "Signer", "fr@example.org", country="FR")
    elsewhere = sign_and_confirm(app, slug, "Other", "de@example.org", country="DE")
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
        french = targets_for(petition, db.session.get(Signature, in_france), app)
        other = targets_for(petition, db.session.get(Signature, elsewhere), app)
    assert [t.salutation for t in french] == ["Dear Ambassador"]
    assert [t.name for t in other] == ["Minister of Examples"], "the petition file answers last"


def test_petitionkit_deliver_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_deliver")
    slug = add_petition(app, letter={"delivery": "live", "salutation": "Dear Director"},
                        targets=[{"name": "Director of Records",
                                  "address": "1 Example Road, Exampletown"}])
    signature_id = sign_and_confirm(app, slug, "Named Signer", "n@example.org", show_name=True)
    run_jobs(app)
    letter = (tmp_path / "instance" / "print-queue" / f"{slug}-{signature_id}.txt").read_text()
    assert letter.startswith("1 Example Road, Exampletown\n\nDear Director,")
    assert "- Named Signer" in letter


def test_petitionkit_form_fields_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_form_fields")
    slug = add_petition(app, kind="joint-letter")
    client = app.test_client()
    assert b'name="organisation"' in client.get(f"/p/{slug}").data
    missing = client.post(f"/p/{slug}/sign", data={"name": "A", "email": "a@example.org"})
    assert missing.status_code == 422
    assert b"Please fill in this field." in missing.data
    api = client.post(f"/api/v1/petitions/{slug}/signatures",
                      json={"name": "B", "email": "b@example.org", "organisation": "Example Aid"})
    assert api.status_code == 202, api.json
    with app.app_context():
        assert db.session.scalars(select(Signature)).one().extra == {"organisation": "Example Aid"}


def test_petitionkit_validate_signature_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_validate_signature",
                           PLUGINS={"blocked_domains": {"domains": ["blocked.example"]}})
    slug = add_petition(app)
    client = app.test_client()
    refused = client.post(f"/api/v1/petitions/{slug}/signatures",
                          json={"name": "A", "email": "a@blocked.example"})
    assert refused.status_code == 422
    assert refused.json["errors"] == {"email": ["Please sign with another email address."]}
    page = client.post(f"/p/{slug}/sign", data={"name": "A", "email": "a@blocked.example"})
    assert page.status_code == 422 and b"Please sign with another email address." in page.data
    assert client.post(f"/api/v1/petitions/{slug}/signatures",
                       json={"name": "A", "email": "a@fine.example"}).status_code == 202


def test_petitionkit_petition_sections_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_petition_sections")
    good = tmp_path / "press.md"
    good.write_text("---\ntitle: Press\nstatus: open\npress: ' Desk 4, ext. 12 '\n---\nBody\n",
                    encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["petition", "load", str(good)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == "press"))
        assert petition is not None
        assert petition.sections == {"press": "Desk 4, ext. 12"}
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: Bad\npress: [1, 2]\n---\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["petition", "load", str(bad)])
    assert result.exit_code != 0
    assert "press: press is one line of text" in result.output


def test_petitionkit_action_steps_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_action_steps")
    slug = add_petition(app, extra={"hashtag": "<b>#FreeThePoet</b>"})
    plain = add_petition(app, slug="plain")
    client = app.test_client()
    for path in (f"/p/{slug}", f"/p/{slug}/check-email", f"/embed/{slug}/check-email"):
        text = client.get(path).text
        assert "<p>Post with &lt;b&gt;#FreeThePoet&lt;/b&gt;</p>" in text, path
    assert "Post with" not in client.get(f"/p/{plain}/check-email").text


def test_petitionkit_step_names_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_step_names")
    runner = app.test_cli_runner()
    good = tmp_path / "tagged.md"
    good.write_text("---\ntitle: Tagged\nstatus: open\nsteps: [sign, hashtag, share]\n"
                    "extra: {hashtag: '#FreeThePoet'}\n---\nBody\n", encoding="utf-8")
    result = runner.invoke(args=["petition", "load", str(good)])
    assert result.exit_code == 0, result.output
    text = app.test_client().get("/p/tagged/check-email").text
    assert "<p>Post with #FreeThePoet</p>" in text
    assert text.index("Post with") < text.index('id="share-heading"'), "in the file's order"
    bad = tmp_path / "untagged.md"
    bad.write_text("---\ntitle: Untagged\nsteps: [hashtag]\n---\nBody\n", encoding="utf-8")
    result = runner.invoke(args=["petition", "load", str(bad)])
    assert result.exit_code != 0
    assert "steps: hashtag needs extra.hashtag" in result.output


def test_petitionkit_register_blueprints_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_register_blueprints")
    slug = add_petition(app)
    sign_and_confirm(app, slug, "Signer", "s@example.org")
    response = app.test_client().get(f"/p/{slug}/count.txt")
    assert (response.status_code, response.data) == (200, b"1\n")


def test_petitionkit_register_commands_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_register_commands")
    slug = add_petition(app)
    for number, country in enumerate(["FR", "FR", "KE"]):
        sign_and_confirm(app, slug, f"S{number}", f"s{number}@example.org", country=country)
    result = app.test_cli_runner().invoke(args=["countries", slug])
    assert result.output == "FR\t2\nKE\t1\n"


def test_petitionkit_job_handlers_example(tmp_path: Path, migrated_sqlite: Path) -> None:
    app = app_with_example(tmp_path, migrated_sqlite, "petitionkit_job_handlers")
    with app.app_context():
        job = enqueue(db.session(), "example.thank_you_note", {"group": "Exampletown volunteers"})
        db.session.commit()
        job_id = job.id
    assert run_jobs(app) == 1
    note = tmp_path / "instance" / "notes" / f"{job_id}.txt"
    assert note.read_text() == "Thank you, Exampletown volunteers!\n"
