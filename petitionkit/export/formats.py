"""The built-in formats: CSV for spreadsheets and JSON Lines for programs."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TextIO

from petitionkit.export import EXPORT_FIELDS, ExportRecord
from petitionkit.petitions.models import Petition

# A spreadsheet runs a cell starting with these as a formula (CSV injection); the apostrophe
# makes it plain text and shows nowhere in the cell.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _csv_cell(value: Any) -> str:
    if type(value) is str:  # most cells: tested first, exactly, as a million rows go through
        return neutralise(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return neutralise(json.dumps(value, ensure_ascii=False, sort_keys=True)) if value else ""
    return neutralise(str(value))


def write_csv(petition: Petition, records: Iterable[ExportRecord], out: TextIO) -> None:
    writer = csv.writer(out)
    writer.writerow(EXPORT_FIELDS)
    for record in records:
        writer.writerow([_csv_cell(record[field]) for field in EXPORT_FIELDS])


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def write_jsonl(petition: Petition, records: Iterable[ExportRecord], out: TextIO) -> None:
    for record in records:
        line = {field: _json_value(record[field]) for field in EXPORT_FIELDS}
        out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
