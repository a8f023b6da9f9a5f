"""The built-in formats: CSV for spreadsheets and JSON Lines for programs."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TextIO

from petitionkit.export import EXPORT_FIELDS, ExportRecord
from petitionkit.petitions.models import Petition
from petitionkit.signatures.normalize import INVISIBLE_CHARACTERS

# A spreadsheet runs a cell that starts with =, +, - or @ (or their full-width forms) as a
# formula (CSV injection); an apostrophe in front makes it plain text and shows nowhere in the
# cell. What comes before the sign may hide it without stopping every spreadsheet from running
# it: spaces of any kind (the no-break ones too), control characters, characters that draw
# nothing (a zero-width space, a byte order mark). So a sign behind any run of those counts, and
# a cell that starts with a tab or a line break is neutralised whatever follows.
_FORMULA_START = re.compile(
    rf"[\t\r\n]|[\s\x00-\x1f\x7f-\x9f{INVISIBLE_CHARACTERS}]*[=+\-@\uff1d\uff0b\uff0d\uff20]"
)


def neutralise(cell: str) -> str:
    first = cell[:1]
    if first.isascii() and first.isalnum():  # most cells: no formula starts with a, Z or 0
        return cell
    return "'" + cell if _FORMULA_START.match(cell) else cell


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
