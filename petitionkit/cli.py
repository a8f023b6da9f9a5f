"""The ``petitionkit`` command: a Flask CLI group (``flask --app petitionkit`` works the same)."""

from __future__ import annotations

import copy
import getpass
import signal
import threading
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, NoAppException, ScriptInfo, with_appcontext
from flask_migrate import cli as flask_migrate_cli
from sqlalchemy import func, inspect, select, update

from petitionkit import create_app
from petitionkit.admin import audit
from petitionkit.api.cli import tokens_group
from petitionkit.config import ConfigurationError
from petitionkit.encryption.cli import keys_group
from petitionkit.extensions import db
from petitionkit.outbox import services as outbox
from petitionkit.outbox.mail import MailConfigError, parse_mail_url
from petitionkit.outbox.worker import (
    PrivateKeyMissing,
    require_inprocess_key,
    require_private_key,
    run_batch,
    run_forever,
    run_retention,
)
from petitionkit.petitions.loader import PetitionFileError, parse_petition_file, upsert_petition
from petitionkit.petitions.models import OfflineEntry, Petition
from petitionkit.petitions.offline import OfflineEntryRefused, offline_entries, record_offline
from petitionkit.petitions.services import public_status
from petitionkit.plugins import calls
from petitionkit.plugins.events import LIFECYCLE
from petitionkit.privacy.cli import privacy_group
from petitionkit.signatures.cli import signers_group
from petitionkit.signatures.figures import rebuild as rebuild_figures
from petitionkit.signatures.models import CONFIRMED, ORGANIZATION, PERSON, Signature


def _create_app() -> Flask:

    try:
        return create_app(serving=False)
    except ConfigurationError as error:
        # A configuration mistake is the operator's to fix: say what, without a traceback.
        raise NoAppException(str(error)) from error


class PetitionkitGroup(FlaskGroup):
    """Flask's group, except that a command whose app cannot be built says why and exits 1.

    Flask reports a failed app load and then "No such command"; ``--help`` still lists the
    commands after the message.
    """

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "db":
            return DATABASE_GROUP
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except NoAppException as error:
            # Flask's own commands (and the listing in --help) need no app to be found.
            command = click.Group.get_command(self, ctx, cmd_name)
            if command is None:
                raise click.ClickException(error.format_message()) from error
            return command
        if cmd_name == "run":
            # The one command that serves: it checks what create_app checks for a server.
            try:
                require_inprocess_key(app)
            except PrivateKeyMissing as error:
                raise click.ClickException(str(error)) from error
        return super().get_command(ctx, cmd_name)


def _database_group() -> click.Group:
    """Flask-Migrate's ``db`` commands, except that ``upgrade`` applies every branch (``heads``):
    the core's revisions and those of each installed plugin with tables of its own. Flask-Migrate
    itself upgrades to ``head``, which Alembic refuses while plugins add branches."""
    original = flask_migrate_cli.db
    # Its own options and callback too: the callback hands --directory and -x to the commands.
    group = click.Group("db", help=original.help, params=list(original.params),
                        callback=original.callback)
    for name, command in original.commands.items():
        if name == "upgrade":
            command = copy.copy(command)
            command.params = [copy.copy(param) for param in command.params]
            for param in command.params:
                if param.name == "revision":
                    param.default = "heads"
        group.add_command(command, name)
    return group


DATABASE_GROUP = _database_group()


def main() -> None:
    cli = PetitionkitGroup(
        create_app=_create_app, help="petitionkit: a self-hosted petition engine."
    )
    cli.main(prog_name="petitionkit")


def require_schema() -> None:
    """Stop with the fix, not a traceback, when the database was never migrated."""
    if "petitions" not in inspect(db.engine).get_table_names():
        raise click.ClickException(
            "the database has no petitionkit tables yet; run `petitionkit db upgrade` first"
        )


@click.group("petition")
def petition_group() -> None:
    """Petitions kept as Markdown files."""


@petition_group.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True,
              help="Also load over petitions made in the workspace, which the files then manage.")
@with_appcontext
def petition_load(files: tuple[str, ...], force: bool) -> None:
    """Create or update petitions from FILES (upsert by slug).

    Every file is checked before any is loaded, so a mistake in one file leaves the database as
    it was. Loading the same files again changes nothing; the signature counts are never touched.
    A loaded petition is managed by its file: the workspace and the API will not change it until
    `petitionkit petition release SLUG`. A petition made in the workspace is not loaded over
    unless --force is given.
    """
    require_schema()
    parsed: list[dict[str, Any]] = []
    errors: list[str] = []
    for path in files:
        try:
            parsed.append(parse_petition_file(path, calls.petition_sections(),
                                              calls.step_names()))
        except PetitionFileError as error:
            errors.append(str(error))
    slugs = [values["slug"] for values in parsed]
    for slug in sorted({slug for slug in slugs if slugs.count(slug) > 1}):
        errors.append(f"slug {slug!r} is used by more than one file")
    if not force:
        web_managed = db.session.scalars(select(Petition.slug).where(
            Petition.slug.in_(slugs), Petition.file_managed.is_(False))).all()
        errors.extend(f"petition {slug!r} is managed in the workspace; load with --force to "
                      "replace it with the file" for slug in sorted(web_managed))
    if errors:
        for message in errors:
            click.echo(f"error: {message}", err=True)
        raise click.ClickException(
            f"{len(errors)} problem(s) found; no petition was loaded"
        )
    lifecycle = LIFECYCLE.of()
    for values in parsed:
        result = upsert_petition(db.session, {**values, "file_managed": True}, listener=lifecycle)
        if result.created:
            click.echo(f"created {result.slug}")
        elif result.changed:
            click.echo(f"updated {result.slug}: {', '.join(result.changed)}")
        else:
            click.echo(f"unchanged {result.slug}")


@petition_group.command("release")
@click.argument("slug")
@with_appcontext
def petition_release(slug: str) -> None:
    """Hand the petition SLUG over to the workspace: its file no longer manages it.

    From then on it is changed in the workspace or through the API; loading its file again is
    refused unless forced.
    """
    require_schema()
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
    if petition is None:
        raise click.ClickException(f"there is no petition {slug!r}")
    if not petition.file_managed:
        click.echo(f"{slug} is already managed in the workspace")
        return
    petition.file_managed = False
    audit.record(db.session(), audit.command_line_actor(getpass.getuser()), "petition released",
                 slug)
    db.session.commit()
    click.echo(f"released {slug}: change it in the workspace from now on")


@petition_group.command("list")
@with_appcontext
def petition_list() -> None:
    """Slug, status, confirmed count and title of every petition, one per line."""
    require_schema()
    petitions = list(db.session.scalars(select(Petition).order_by(Petition.slug)))
    if not petitions:
        click.echo("no petitions yet; add some with `petitionkit petition load FILE...`")
        return
    for petition in petitions:
        click.echo(
            f"{petition.slug}\t{public_status(petition)}\t{petition.signature_count}\t"
            f"{petition.title}"
        )


@petition_group.command("offline")
@click.argument("slug")
@click.option("--add", "count", type=int, default=None,
              help="Signatures gathered offline to add; negative to correct an earlier entry.")
@click.option("--note", default="", help="Where and how they were gathered (shown to operators).")
@click.option("--by", "recorded_by", default=None,
              help="Who records the entry [default: the operating-system user].")
@with_appcontext
def petition_offline(slug: str, count: int | None, note: str, recorded_by: str | None) -> None:
    """Signatures gathered on paper or at events: list the entries of SLUG, or --add one.

    Each entry records who added it and when; the total is shown beside the online count and
    counts towards the goal. A mistake is corrected by a negative entry, never by editing; the
    offline total may not go below 0.
    """
    require_schema()
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
    if petition is None:
        raise click.ClickException(f"there is no petition with the slug {slug!r}")
    if count is None:
        if note or recorded_by is not None:
            raise click.UsageError("--note and --by go with --add")
        entries = offline_entries(db.session(), petition)
        for entry in entries:
            recorded = entry.recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            click.echo(f"{recorded}\t{entry.count:+d}\t{entry.recorded_by}\t{entry.note}")
        click.echo(f"{petition.offline_count} offline signature(s) in {len(entries)} entry(ies)",
                   err=True)
        return
    try:
        record_offline(db.session(), petition, count, note, recorded_by or getpass.getuser(),
                       listener=LIFECYCLE.of())
    except OfflineEntryRefused as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{slug}: {petition.offline_count} offline, "
               f"{petition.signature_count + petition.offline_count} in total")


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--poll", type=float, default=None, help="Seconds between polls when idle.")
@with_appcontext
def worker_command(once: bool, poll: float | None) -> None:
    """Deliver the outbox (e-mail and plugin jobs); run as many as you like, anywhere."""

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        parse_mail_url(app.config["MAIL_URL"], app.config["DEV_MAIL_DIR"])
        require_private_key(app, "petitionkit worker")
    except (MailConfigError, PrivateKeyMissing) as error:
        raise click.ClickException(str(error)) from error
    if once:
        run_retention(app)
        delivered = failed = 0
        while (batch := run_batch(app)).claimed > 0:
            delivered += batch.delivered
            failed += batch.claimed - batch.delivered
        click.echo(f"delivered {delivered}, failed {failed}")
        return
    stop = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_forever(app, stop, poll)


@click.command("recount")
@click.option("--dry-run", is_flag=True, help="Report differences without repairing them.")
@with_appcontext
def recount_command(dry_run: bool) -> None:
    """Check every petition's counts against its confirmed signatures and offline entries, and
    repair them."""
    require_schema()
    confirmed: dict[int, int] = {
        petition_id: total
        for petition_id, total in db.session.execute(
            select(Signature.petition_id, func.count(Signature.id))
            # An organisation's signature counts once an organiser approved it.
            .where(Signature.status == CONFIRMED,
                   (Signature.kind == PERSON) | Signature.approved_at.is_not(None))
            .group_by(Signature.petition_id)
        )
    }
    organizations: dict[int, int] = {
        petition_id: total
        for petition_id, total in db.session.execute(
            select(Signature.petition_id, func.count(Signature.id))
            .where(Signature.status == CONFIRMED, Signature.kind == ORGANIZATION,
                   Signature.approved_at.is_not(None))
            .group_by(Signature.petition_id)
        )
    }
    offline: dict[int, int] = {
        petition_id: int(total)
        for petition_id, total in db.session.execute(
            select(OfflineEntry.petition_id, func.sum(OfflineEntry.count))
            .group_by(OfflineEntry.petition_id)
        )
    }
    fixed = 0
    for petition in db.session.scalars(select(Petition).order_by(Petition.slug)):
        actual = confirmed.get(petition.id, 0)
        actual_offline = offline.get(petition.id, 0)
        changes: dict[str, Any] = {}
        if petition.signature_count != actual:
            click.echo(f"{petition.slug}: count was {petition.signature_count}, should be {actual}")
            # Relative updates: confirmations and entries landing meanwhile are not overwritten.
            changes["signature_count"] = (
                Petition.signature_count + (actual - petition.signature_count)
            )
        if petition.offline_count != actual_offline:
            click.echo(f"{petition.slug}: offline count was {petition.offline_count}, "
                       f"should be {actual_offline}")
            changes["offline_count"] = (
                Petition.offline_count + (actual_offline - petition.offline_count)
            )
        actual_organizations = organizations.get(petition.id, 0)
        if petition.organization_count != actual_organizations:
            click.echo(f"{petition.slug}: organisations were {petition.organization_count}, "
                       f"should be {actual_organizations}")
            changes["organization_count"] = (
                Petition.organization_count + (actual_organizations - petition.organization_count)
            )
        fixed += len(changes)
        if changes and not dry_run:
            db.session.execute(update(Petition).where(Petition.id == petition.id).values(changes))
    if not dry_run:
        # The hourly figures of the workspace's charts, rebuilt from the signatures.
        rebuild_figures(db.session())
    db.session.commit()
    if fixed == 0:
        click.echo("all counts are correct")
    elif dry_run:
        click.echo(f"{fixed} count(s) wrong; run without --dry-run to repair")
    else:
        click.echo(f"repaired {fixed} count(s)")


@click.group("outbox")
def outbox_group() -> None:
    """Inspect and replay the outbox."""


@outbox_group.command("status")
@with_appcontext
def outbox_status() -> None:
    stats = outbox.stats(db.session())
    click.echo(f"pending {stats.pending} (due {stats.due}), dead {stats.dead}, "
               f"oldest due {stats.oldest_due_age:.0f}s")


@outbox_group.command("dead")
@with_appcontext
def outbox_dead() -> None:
    """List jobs that gave up after retrying: id, kind, attempts, created, last error."""
    jobs = outbox.dead_jobs(db.session())
    for job in jobs:
        created = job.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        click.echo(f"{job.id}\t{job.kind}\t{job.attempts} attempts\t{created}\t{job.last_error}")
    click.echo(f"{len(jobs)} dead job(s)" + ("; `petitionkit outbox replay` queues them again"
                                              if jobs else ""), err=True)


@outbox_group.command("replay")
@click.argument("job_ids", nargs=-1, type=int)
@with_appcontext
def outbox_replay(job_ids: tuple[int, ...]) -> None:
    """Queue dead jobs again (all of them without JOB_IDS)."""
    count = outbox.replay(db.session(), list(job_ids) or None)
    click.echo(f"replayed {count}")


def register_commands(app: Flask) -> None:
    for command in (petition_group, worker_command, recount_command, outbox_group,
                    signers_group, keys_group, privacy_group, tokens_group):
        app.cli.add_command(command)
