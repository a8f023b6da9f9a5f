"""The ``petitionkit`` command: a Flask CLI group (``flask --app petitionkit`` works the same)."""

from __future__ import annotations

import signal
import threading


import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select, update

from petitionkit.extensions import db
from petitionkit.outbox import services as outbox
from petitionkit.petitions.loader import PetitionFileError, parse_petition_file, upsert_petition
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import CONFIRMED, Signature


def _create_app() -> Flask:
    from petitionkit import create_app

    return create_app()


def main() -> None:
    cli = FlaskGroup(create_app=_create_app, help="petitionkit: a self-hosted petition engine.")
    cli.main(prog_name="petitionkit")


@click.group("petition")
def petition_group() -> None:
    """Petitions kept as Markdown files."""


@petition_group.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def petition_load(files: tuple[str, ...]) -> None:
    """Create or update petitions from FILES (upsert by slug)."""
    failed = False
    for path in files:
        try:
            values = parse_petition_file(path)
        except PetitionFileError as error:
            click.echo(f"error: {error}", err=True)
            failed = True
            continue
        result = upsert_petition(db.session, values)
        if result.created:
            click.echo(f"created {result.slug}")
        elif result.changed:
            click.echo(f"updated {result.slug}: {', '.join(result.changed)}")
        else:
            click.echo(f"unchanged {result.slug}")
    if failed:
        raise SystemExit(1)


@petition_group.command("list")
@with_appcontext
def petition_list() -> None:
    """Slug, status, confirmed count and title of every petition."""
    for petition in db.session.scalars(select(Petition).order_by(Petition.slug)):
        state = "open" if petition.is_open() else petition.status
        click.echo(f"{petition.slug}\t{state}\t{petition.signature_count}\t{petition.title}")


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--poll", type=float, default=None, help="Seconds between polls when idle.")
@with_appcontext
def worker_command(once: bool, poll: float | None) -> None:
    """Deliver the outbox (e-mail and plugin jobs); run as many as you like, anywhere."""
    from petitionkit.outbox.mail import MailConfigError, parse_mail_url
    from petitionkit.outbox.worker import run_batch, run_forever

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        parse_mail_url(app.config["MAIL_URL"], app.config["DEV_MAIL_DIR"])
    except MailConfigError as error:
        raise click.ClickException(str(error)) from error
    if once:
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
    """Check every petition's count against its confirmed signatures, and repair it."""
    confirmed = dict(
        db.session.execute(
            select(Signature.petition_id, func.count(Signature.id))
            .where(Signature.status == CONFIRMED)
            .group_by(Signature.petition_id)
        ).tuples()
    )
    fixed = 0
    for petition in db.session.scalars(select(Petition).order_by(Petition.slug)):
        actual = confirmed.get(petition.id, 0)
        if petition.signature_count != actual:
            fixed += 1
            click.echo(f"{petition.slug}: count was {petition.signature_count}, should be {actual}")
            if not dry_run:
                # Relative update: confirmations landing meanwhile are not overwritten.
                db.session.execute(
                    update(Petition)
                    .where(Petition.id == petition.id)
                    .values(signature_count=Petition.signature_count + (actual - petition.signature_count))
                )
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
    click.echo(f"pending {stats.pending}, dead {stats.dead}, "
               f"oldest pending {stats.oldest_pending_age:.0f}s")


@outbox_group.command("dead")
@with_appcontext
def outbox_dead() -> None:
    """List jobs that gave up after retrying: id, kind, attempts, created, last error."""
    jobs = outbox.dead_jobs(db.session())
    for job in jobs:
        created = outbox.as_utc(job.created_at).strftime("%Y-%m-%dT%H:%M:%SZ")
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
    for command in (petition_group, worker_command, recount_command, outbox_group):
        app.cli.add_command(command)
