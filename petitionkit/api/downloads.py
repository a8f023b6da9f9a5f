"""The hand-over report (editors) and the signer exports (owners) for tokens, streamed and
written to the audit log like the workspace's downloads, through the same service
(petitionkit/export/downloads.py)."""

from __future__ import annotations

from flask import Response, current_app, request, stream_with_context
from flask_babel import gettext

from petitionkit.api.openapi import ERROR, operation
from petitionkit.api.views import api_error, bp, petition_at, require_token, token_actor
from petitionkit.encryption import KeyUnavailable
from petitionkit.export import downloads as service
from petitionkit.extensions import db

FILE = {"type": "string"}
NO_KEY = ("This process does not hold the private key that signers' data is sealed to", ERROR)


def _key_missing() -> Response:
    return api_error(409, gettext("This server does not hold the private key that signers' "
                                  "data is sealed to, so it cannot open their names."))


def _attachment(download: service.Download) -> Response:
    response = Response(stream_with_context(download.chunks), mimetype=download.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/petitions/<slug>/report")
@operation("The hand-over report, as CSV (the default) or HTML", tag="downloads",
           role="editor", query={"format": {"type": "string", "enum": sorted(service.REPORTS)}},
           response_media=("text/csv", "text/html"),
           responses={200: ("The report, streamed", FILE),
                      400: ("A format that is not offered", ERROR),
                      404: ("No such petition", ERROR), 409: NO_KEY})
@require_token("editor")
def report(slug: str) -> Response:
    petition = petition_at(slug)
    kind = request.args.get("format", "csv")
    try:
        download = service.report(db.session(), petition, kind, token_actor())
    except service.UnknownFormat:
        return api_error(400, gettext("format must be one of: %(formats)s.",
                                      formats=", ".join(sorted(service.REPORTS))))
    except KeyUnavailable:
        return _key_missing()
    return _attachment(download)


@bp.get("/petitions/<slug>/exports/<name>")
@operation("The petition's confirmed signers in an export format a plugin offers (csv, jsonl, "
           "osdi …), streamed", tag="downloads", role="owner",
           response_media="application/octet-stream",
           responses={200: ("The file, streamed", FILE),
                      404: ("No such petition or format", ERROR), 409: NO_KEY})
@require_token("owner")
def export(slug: str, name: str) -> Response:
    petition = petition_at(slug)
    try:
        download = service.export(current_app._get_current_object(),  # type: ignore[attr-defined]
                                  db.session(), petition, name, token_actor())
    except service.UnknownFormat:
        return api_error(404, gettext("There is no export format %(name)s.", name=name[:40]))
    except KeyUnavailable:
        return _key_missing()
    return _attachment(download)
