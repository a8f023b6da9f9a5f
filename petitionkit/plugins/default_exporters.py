"""Built-in: the CSV and JSON Lines export formats and the ``petitionkit export`` command."""

from __future__ import annotations

import click

from petitionkit.export import Exporter
from petitionkit.export.cli import export_command
from petitionkit.export.formats import write_csv, write_jsonl
from petitionkit.plugins.specs import hookimpl


@hookimpl(trylast=True)
def petitionkit_exporters() -> list[Exporter]:
    return [
        Exporter("csv", "Comma-separated values for spreadsheets (formulas neutralised)", "csv",
                 write_csv),
        Exporter("jsonl", "JSON Lines: one JSON object per signature", "jsonl", write_jsonl),
    ]


@hookimpl(trylast=True)
def petitionkit_register_commands() -> list[click.Command]:
    return [export_command]
