"""Targets by the signer's country and postal code, from a CSV file the operator provides.

The longest matching postal-code prefix wins; every row with that prefix is a target (a
district with two representatives gets both). A signer the file does not cover falls through to
the next plugin, in the end to the ``targets:`` of the petition file.
"""

from __future__ import annotations

import csv
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from petitionkit import hookimpl
from petitionkit.petitions.models import Petition
from petitionkit.plugins import PluginConfigError, plugin_settings
from petitionkit.signatures.models import Signature
from petitionkit.targets import Target

__version__ = "0.1.0"

PLUGIN_NAME = "petitionkit-targets-csv"
REQUIRED_COLUMNS = {"country", "postal_code", "name"}
TARGET_COLUMNS = ("name", "title", "organization", "email", "address", "phone",
                  "salutation")


@dataclass(frozen=True)
class Row:
    petition: str  # empty: every petition
    country: str
    postal_prefix: str
    target: Target


def normalise_postal_code(value: str | None) -> str:
    return "".join((value or "").split()).upper()


def read_rows(path: Path) -> list[Row]:
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = REQUIRED_COLUMNS - set(reader.fieldnames or [])
        if missing:
            raise PluginConfigError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        for line, record in enumerate(reader, start=2):
            values = {column: (record.get(column) or "").strip() for column in TARGET_COLUMNS}
            if not values["name"] or not record["country"]:
                raise PluginConfigError(f"{path.name} line {line}: country and name are required")
            languages = tuple((record.get("languages") or "").replace(",", " ").split())
            rows.append(Row(
                petition=(record.get("petition") or "").strip(),
                country=record["country"].strip().upper(),
                postal_prefix=normalise_postal_code(record["postal_code"]),
                target=Target(email=values.pop("email") or None, languages=languages, **values),
            ))
    return rows


class TargetTable:
    """The file, read again when it changes, so an operator can fix a row without a restart."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: tuple[str, float, list[Row]] | None = None

    def rows(self, path: Path) -> list[Row]:
        stamp = os.stat(path).st_mtime
        with self._lock:
            if self._loaded is None or self._loaded[:2] != (str(path), stamp):
                self._loaded = (str(path), stamp, read_rows(path))
            return self._loaded[2]


_table = TargetTable()


def match(rows: list[Row], petition_slug: str, country: str | None,
          postal_code: str | None) -> list[Target]:
    if not country:
        return []
    code = normalise_postal_code(postal_code)
    candidates = [
        row for row in rows
        if row.country == country.upper()
        and row.petition in ("", petition_slug)
        and code.startswith(row.postal_prefix)
    ]
    if not candidates:
        return []
    longest = max(len(row.postal_prefix) for row in candidates)
    return [row.target for row in candidates if len(row.postal_prefix) == longest]


@hookimpl
def petitionkit_targets(petition: Petition, signature: Signature) -> list[Target] | None:
    settings = plugin_settings(PLUGIN_NAME)
    if not settings.get("path"):
        return None
    only = settings.get("petitions")
    if only is not None and petition.slug not in only:
        return None
    targets = match(_table.rows(Path(settings["path"])), petition.slug, signature.country,
                    signature.postal_code)
    return targets or None
