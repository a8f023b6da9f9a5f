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

from petitionkit.admin import access
from petitionkit.admin.roles import require_role
from petitionkit.admin.views import ACTION_NAMES, bp
from petitionkit.encryption import KeyUnavailable
from petitionkit.export import downloads as service
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins import calls

ACTION_NAMES.update({"downloaded": _l("downloaded")})


def _attachment(download: service.Download) -> Response:
    response = Response(stream_with_context(download.chunks), mimetype=download.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _petition(slug: str) -> Petition:
    return access.petition_or_404(db.session(), current_user, slug)


@bp.route("/p/<slug>/downloads", methods=["GET"])
@require_role("editor")
def downloads(slug: str) -> Any:
    petition = _petition(slug)
    exporters = sorted(calls.exporters().values(), key=lambda exporter: exporter.name)
    return render_template("admin/downloads.html", petition=petition, exporters=exporters,
                           can_open=service.can_open())


@bp.route("/p/<slug>/downloads/report.<kind>", methods=["POST"])
@require_role("editor")
def download_report(slug: str, kind: str) -> Any:
    petition = _petition(slug)
    try:
        download = service.report(db.session(), petition, kind, current_user.email)
    except service.UnknownFormat as unknown:
        raise NotFound() from unknown
    except KeyUnavailable:
        return downloads(slug), 409
    return _attachment(download)


@bp.route("/p/<slug>/downloads/export/<name>", methods=["POST"])
@require_role("owner")
def download_export(slug: str, name: str) -> Any:
    petition = _petition(slug)
    try:
        download = service.export(current_app._get_current_object(),  # type: ignore[attr-defined]
                                  db.session(), petition, name, current_user.email)
    except service.UnknownFormat as unknown:
        raise NotFound() from unknown
    except KeyUnavailable:
        return downloads(slug), 409
    return _attachment(download)
