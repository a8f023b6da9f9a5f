"""``petitionkit deliver SLUG --report``: the hand-over document organisers give officials."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale
from sqlalchemy import func, select

from petitionkit.actions.services import reported_actions as actions_of
from petitionkit.encryption import DATA_SEALER, KeyUnavailable
from petitionkit.export.formats import neutralise
from petitionkit.extensions import db
from petitionkit.i18n import text_direction
from petitionkit.outbox.models import DEAD, DONE, PENDING, OutboxJob
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import CONFIRMED, PERSON, Signature
from petitionkit.signatures.normalize import shown_name
from petitionkit.signatures.organizations import every_approved_organization
from petitionkit.targets import Target
from petitionkit.targets.delivery import DELIVER_JOB, delivery_mode
from petitionkit.targets.letter import country_name, locality

PAGE = 1000


def named_signers(petition: Petition) -> Iterator[tuple[str, str]]:
    """(name, locality) of confirmed signers who agreed to be named, in pages."""
    last_id = 0
    while True:
        page = list(db.session.scalars(
            select(Signature)
            .where(Signature.petition_id == petition.id, Signature.status == CONFIRMED,
                   Signature.kind == PERSON, Signature.show_name.is_(True),
                   Signature.anonymised_at.is_(None),
                   Signature.id > last_id)
            .order_by(Signature.id)
            .limit(PAGE)
        ))
        for signature in page:
            yield shown_name(signature.name), locality(signature, petition.locale)
        if len(page) < PAGE:
            return
        last_id = page[-1].id
        db.session.expunge_all()


def confirmed_total(petition: Petition) -> int:
    # An organisation's signature counts once an organiser approved it.
    total = db.session.scalar(select(func.count(Signature.id)).where(
        Signature.petition_id == petition.id, Signature.status == CONFIRMED,
        (Signature.kind == PERSON) | Signature.approved_at.is_not(None),
    ))
    return int(total or 0)


def reported_actions(petition: Petition) -> list[tuple[str, int, int]]:
    """(label in the petition's language, counted, anonymous) per reported action."""
    return [(action.label, action.counted, action.anonymous)
            for action in actions_of(db.session(), petition, petition.locale)]


def csv_report_lines(petition: Petition) -> Iterator[str]:
    """The report as CSV, a line at a time (the workspace streams it; the command writes it)."""
    online = confirmed_total(petition)
    # Signatures gathered on paper or at events are counted beside those signed online; the
    # names on paper stay on paper.
    total = online + petition.offline_count
    line = io.StringIO()
    writer = csv.writer(line)

    def row(*cells: Any) -> str:
        line.seek(0)
        line.truncate()
        writer.writerow(cells)
        return line.getvalue()

    yield row("petition", neutralise(petition.title))
    yield row("total signatures", total)
    yield row("signed online", online)
    yield row("gathered offline", petition.offline_count)
    if petition.takes_organizations:
        yield row("organisations", petition.organization_count)
    yield row("generated", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    if petition.purged_at is not None:
        yield row("personal data removed", f"{petition.purged_at:%Y-%m-%d}")
    actions = reported_actions(petition)
    if actions:
        yield row()
        yield row("action", "signers", "reported without a signer's link")
        for label, counted, anonymous in actions:
            yield row(neutralise(label), counted, anonymous)
    yield row()
    if petition.organization_count:
        yield row("organisation", "website", "country")
        for organization in every_approved_organization(db.session(), petition):
            yield row(neutralise(organization.name), neutralise(organization.website or ""),
                      organization.country or "")
        yield row()
    yield row("name", "locality")
    for name, place in named_signers(petition):
        yield row(neutralise(name), neutralise(place))


def write_csv_report(petition: Petition, path: str) -> int:
    """The report as CSV; returns the total, online and offline."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.writelines(csv_report_lines(petition))
    return confirmed_total(petition) + petition.offline_count


def html_report_chunks(petition: Petition) -> Iterator[str]:
    """The report as HTML, in the petition's language, a piece at a time: a six-figure list of
    names never sits in memory as one string."""
    template = current_app.jinja_env.get_template("targets/report.html")
    online = confirmed_total(petition)
    context: dict[str, Any] = {
        "petition": petition,
        "targets": [Target.from_mapping(values) for values in petition.targets or []],
        "online": online,
        "offline": petition.offline_count,
        "total": online + petition.offline_count,
        "actions": reported_actions(petition),
        "signers": named_signers(petition),
        "organizations": every_approved_organization(db.session(), petition),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "direction": text_direction(petition.locale),
        "country_name": partial(country_name, locale=petition.locale),
    }
    # In the petition's language: the officials it is handed to read that one.
    with force_locale(petition.locale):
        yield from template.generate(**context)


def write_html_report(petition: Petition, path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.writelines(html_report_chunks(petition))


@click.command("deliver")
@click.argument("slug")
@click.option("--report", is_flag=True, help="Write the hand-over document (CSV and HTML).")
@click.option("--output-dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Folder for the report files.")
@with_appcontext
def deliver_command(slug: str, report: bool, output_dir: str) -> None:
    """Delivery status of petition SLUG, or with --report its hand-over document."""
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
    if petition is None:
        raise click.ClickException(f"there is no petition with the slug {slug!r}")
    if report:
        # The signers' names are sealed: stop before a file is opened, not halfway through one.
        try:
            DATA_SEALER.of().opener()
        except KeyUnavailable as error:
            raise click.ClickException(
                f"the hand-over report lists signers' names and so needs the private key: "
                f"{error}. Run it where DATA_PRIVATE_KEY_FILE is configured."
            ) from error
        os.makedirs(output_dir, exist_ok=True)
        csv_path = os.path.join(output_dir, f"{slug}-handover.csv")
        html_path = os.path.join(output_dir, f"{slug}-handover.html")
        total = write_csv_report(petition, csv_path)
        write_html_report(petition, html_path)
        click.echo(f"{total} signature(s); wrote {csv_path} and {html_path}")
        return
    click.echo(f"delivery: {delivery_mode(petition)}")
    if petition.purged_at is not None:
        click.echo(f"personal data removed on {petition.purged_at:%Y-%m-%d} (retention)")
    rows = db.session.execute(
        select(OutboxJob.status, func.count(OutboxJob.id))
        .where(OutboxJob.kind == DELIVER_JOB,
               OutboxJob.idempotency_key.startswith(f"deliver:{petition.id}:"))
        .group_by(OutboxJob.status)
    ).all()
    counts = {status: total for status, total in rows}
    click.echo(f"batches: {counts.get(PENDING, 0)} waiting, {counts.get(DONE, 0)} delivered, "
               f"{counts.get(DEAD, 0)} failed (see `petitionkit outbox dead`)")
