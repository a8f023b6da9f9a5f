"""Downloads in the workspace: the hand-over report (editors and above) and the signer exports
of every format a plugin offers (owners: they hold the signers' personal data).

Each download is a POST with the CSRF token, answered as a stream, and recorded in the audit
log (who, which petition, which format) before its first byte leaves. The report and the exports
open sealed personal data: in a process without the private key the page says so instead.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, stream_with_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound

from petitionkit.admin import access, audit
from petitionkit.admin.roles import require_role
from petitionkit.admin.views import ACTION_NAMES, bp
from petitionkit.encryption import DATA_SEALER, KeyUnavailable
from petitionkit.export.streaming import stream_export
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins import calls
from petitionkit.targets.report import csv_report_lines, html_report_chunks

ACTION_NAMES.update({"downloaded": _l("downloaded")})
REPORTS = {"html": ("text/html", html_report_chunks), "csv": ("text/csv", csv_report_lines)}


def _can_open() -> bool:
    try:
        DATA_SEALER.of().opener()
    except KeyUnavailable:
        return False
    return True


def _attachment(body: Any, mimetype: str, filename: str) -> Response:
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _petition(slug: str) -> Petition:
    return access.petition_or_404(db.session(), current_user, slug)


def _logged(petition: Petition, what: str) -> None:
    audit.record(db.session(), current_user.email, "downloaded", f"{petition.slug}: {what}")
    db.session.commit()


@bp.route("/p/<slug>/downloads", methods=["GET"])
@require_role("editor")
def downloads(slug: str) -> Any:
    petition = _petition(slug)
    exporters = sorted(calls.exporters().values(), key=lambda exporter: exporter.name)
    return render_template("admin/downloads.html", petition=petition, exporters=exporters,
                           can_open=_can_open())


@bp.route("/p/<slug>/downloads/report.<kind>", methods=["POST"])
@require_role("editor")
def download_report(slug: str, kind: str) -> Any:
    petition = _petition(slug)
    if kind not in REPORTS:
        raise NotFound()
    if not _can_open():
        return downloads(slug), 409
    mimetype, chunks = REPORTS[kind]
    _logged(petition, f"hand-over report ({kind})")
    return _attachment(chunks(petition), f"{mimetype}; charset=utf-8",
                       f"{petition.slug}-report.{kind}")


@bp.route("/p/<slug>/downloads/export/<name>", methods=["POST"])
@require_role("owner")
def download_export(slug: str, name: str) -> Any:
    petition = _petition(slug)
    exporter = calls.exporters().get(name)
    if exporter is None:
        raise NotFound()
    if not _can_open():
        return downloads(slug), 409
    _logged(petition, f"signers ({exporter.name})")
    body = stream_export(current_app._get_current_object(),  # type: ignore[attr-defined]
                         petition.id, exporter)
    return _attachment(body, "application/octet-stream",
                       f"{petition.slug}-signers.{exporter.extension.lstrip('.')}")
