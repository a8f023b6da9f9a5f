"""Downloads for staff: the hand-over report and the signer exports of every format a plugin
offers, as streams of text, each written to the audit log (who, which petition, which format)
before its first byte leaves. The workspace and the API both hand these to the client.

Both open sealed personal data: a process without the private key refuses them with
``KeyUnavailable`` before anything is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Flask
from sqlalchemy.orm import Session

from petitionkit.admin import audit
from petitionkit.encryption import DATA_SEALER, KeyUnavailable
from petitionkit.export.streaming import stream_export
from petitionkit.petitions.models import Petition
from petitionkit.plugins import calls
from petitionkit.targets.report import csv_report_lines, html_report_chunks

REPORTS: dict[str, tuple[str, Callable[[Petition], Iterator[str]]]] = {
    "html": ("text/html", html_report_chunks), "csv": ("text/csv", csv_report_lines)}


class UnknownFormat(LookupError):
    """No report or export of this name."""


@dataclass(frozen=True)
class Download:
    chunks: Iterator[str]
    mimetype: str
    filename: str


def can_open() -> bool:
    """Whether this process holds the private key that signers' data is sealed to."""
    try:
        DATA_SEALER.of().opener()
    except KeyUnavailable:
        return False
    return True


def _logged(session: Session, petition: Petition, actor: str, what: str) -> None:
    if not can_open():
        raise KeyUnavailable("the private key is not available to this process")
    audit.record(session, actor, "downloaded", f"{petition.slug}: {what}")
    session.commit()


def report(session: Session, petition: Petition, kind: str, actor: str) -> Download:
    """The hand-over report as ``kind`` (html or csv), logged."""
    if kind not in REPORTS:
        raise UnknownFormat(kind)
    mimetype, chunks = REPORTS[kind]
    _logged(session, petition, actor, f"hand-over report ({kind})")
    return Download(chunks(petition), f"{mimetype}; charset=utf-8",
                    f"{petition.slug}-report.{kind}")


def export(app: Flask, session: Session, petition: Petition, name: str, actor: str) -> Download:
    """The petition's confirmed signers in the plugin format ``name``, logged."""
    exporter = calls.exporters().get(name)
    if exporter is None:
        raise UnknownFormat(name)
    _logged(session, petition, actor, f"signers ({exporter.name})")
    return Download(stream_export(app, petition.id, exporter), "application/octet-stream",
                    f"{petition.slug}-signers.{exporter.extension.lstrip('.')}")
