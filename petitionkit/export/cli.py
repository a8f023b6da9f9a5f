"""``petitionkit export SLUG --format F``: stream signatures to a file or standard output."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import TextIO

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from petitionkit.export import Cursor, CursorError, Exporter, ExportRecord, SignatureStream
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins import calls
from petitionkit.plugins.errors import PluginConfigError


def available_exporters() -> dict[str, Exporter]:
    try:
        return calls.exporters()
    except PluginConfigError as error:
        raise click.ClickException(str(error)) from error


def _with_progress(records: Iterable[ExportRecord], total: int) -> Iterator[ExportRecord]:
    # A bar only where a person watches: pipes and cron logs get none.
    if not sys.stderr.isatty():
        yield from records
        return
    with click.progressbar(length=total, label="exporting", file=sys.stderr) as bar:
        for record in records:
            yield record
            bar.update(1)


@click.command("export")
@click.argument("slug")
@click.option("--format", "format_name", default="csv", show_default=True,
              help="Export format; `petitionkit export SLUG --format list` shows them all.")
@click.option("--since", "since", default=None, metavar="CURSOR",
              help="Only what came after the cursor printed by a previous export.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output.")
@click.option("--all", "include_unconfirmed", is_flag=True,
              help="Include unconfirmed and withdrawn signatures (status column says which).")
@with_appcontext
def export_command(
    slug: str, format_name: str, since: str | None, output: str | None, include_unconfirmed: bool
) -> None:
    """Export the signatures of petition SLUG (confirmed ones, with their consent flags)."""
    exporters = available_exporters()
    if format_name == "list":
        for _, exporter in sorted(exporters.items()):
            click.echo(f"{exporter.name}\t{exporter.description}")
        return
    if format_name not in exporters:
        raise click.BadParameter(
            f"unknown format {format_name!r}; choose one of {', '.join(sorted(exporters))}",
            param_hint="--format",
        )
    exporter = exporters[format_name]
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
    if petition is None:
        raise click.ClickException(f"there is no petition with the slug {slug!r}")
    try:
        cursor = Cursor.parse(since, include_unconfirmed=include_unconfirmed) if since else None
    except CursorError as error:
        raise click.BadParameter(str(error), param_hint="--since") from error

    stream = SignatureStream(
        db.session(), petition, since=cursor, include_unconfirmed=include_unconfirmed
    )
    total = stream.count()
    skipped: Counter[str] = Counter()
    written = _Counter(_without_skipped(exporter, _with_progress(stream, total), skipped))
    if output is None:
        exporter.write(petition, written, sys.stdout)
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            _write(exporter, petition, written, handle)
    click.echo(export_summary(exporter.name, written.count, skipped), err=True)
    if petition.purged_at is not None:
        click.echo(f"personal data removed on {petition.purged_at:%Y-%m-%d} (retention): "
                   "signatures from before are not exported", err=True)
    next_cursor = stream.last
    click.echo(
        f"cursor: {next_cursor}  (continue with --since {next_cursor})" if next_cursor
        else "cursor: none (nothing exported yet; run again without --since)",
        err=True,
    )


def export_summary(format_name: str, written: int, skipped: Mapping[str, int]) -> str:
    """``exported 3 signature(s) as osdi; 2 skipped because …``: the figures of the file."""
    reasons = "".join(f"; {count} skipped because {reason}"
                      for reason, count in sorted(skipped.items()))
    return f"exported {written} signature(s) as {format_name}{reasons}"


def _without_skipped(exporter: Exporter, records: Iterable[ExportRecord],
                     skipped: Counter[str]) -> Iterator[ExportRecord]:
    if exporter.skip is None:
        yield from records
        return
    for record in records:
        reason = exporter.skip(record)
        if reason is None:
            yield record
        else:
            skipped[reason] += 1


def _write(exporter: Exporter, petition: Petition, records: Iterable[ExportRecord],
           handle: TextIO) -> None:
    exporter.write(petition, records, handle)


class _Counter:
    def __init__(self, records: Iterable[ExportRecord]) -> None:
        self._records = records
        self.count = 0

    def __iter__(self) -> Iterator[ExportRecord]:
        for record in self._records:
            self.count += 1
            yield record
