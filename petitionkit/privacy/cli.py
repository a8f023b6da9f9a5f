"""``petitionkit privacy``: retention of signers' personal data and the consent records."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from petitionkit.extensions import db
from petitionkit.petitions.models import utcnow
from petitionkit.privacy import retention
from petitionkit.privacy.consent import stored_wordings


@click.group("privacy")
def privacy_group() -> None:
    """What is kept of signers, and for how long."""


@privacy_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000),
              help="Signatures per transaction.")
@with_appcontext
def privacy_purge(dry_run: bool, batch_size: int) -> None:
    """Remove the personal data of petitions closed for longer than their retain_days.

    What the worker does once a day. Counts, goals and figures stay. Safe to interrupt: a new
    run goes on where this one stopped.
    """
    now = utcnow()
    due = retention.due_petitions(db.engine, retention.default_retain_days(current_app), now)
    if not due:
        click.echo("no petition is due for removal of personal data")
        return
    for petition in due:
        closed = petition.closed_since(now)
        closed_text = f"closed {closed:%Y-%m-%d}" if closed else "closed"
        if dry_run:
            count = retention.remaining(db.engine, petition.id)
            click.echo(f"{petition.slug}: would anonymise {count} signature(s) ({closed_text})")
            continue
        report = retention.purge_petition(db.engine, petition, batch_size, now)
        click.echo(f"{petition.slug}: anonymised {report.anonymised} signature(s) "
                   f"({closed_text}); personal data removed on {now:%Y-%m-%d}")
    if dry_run:
        click.echo("dry run: nothing was changed")


@privacy_group.command("consent-texts")
@with_appcontext
def privacy_consent_texts() -> None:
    """The consent wordings signers were shown: version, language, first shown, text."""
    wordings = stored_wordings(db.engine)
    for wording in wordings:
        text = " ".join(wording.text.split())
        click.echo(f"{wording.id}\t{wording.locale}\t{wording.first_seen:%Y-%m-%dT%H:%M:%SZ}\t"
                   f"{text}")
    click.echo(f"{len(wordings)} consent text(s)", err=True)
