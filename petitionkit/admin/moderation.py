"""Moderation in the workspace (moderators and above): find a signature, hide a public name,
invalidate one signature or a wave of them, approve or reject organisations.

Thin views over petitionkit/signatures/moderation.py and the organisations' services. The
search is a POST, so that an address typed into it never lands in an access log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as BaseResponse

from petitionkit.admin import access
from petitionkit.admin.roles import require_role
from petitionkit.admin.views import ACTION_NAMES, bp
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins.events import LIFECYCLE
from petitionkit.signatures import moderation
from petitionkit.signatures.models import ModerationRun
from petitionkit.signatures.moderation import Criteria, ModerationError, utc_moment
from petitionkit.signatures.organizations import pending_organizations
from petitionkit.signatures.services import SIGNING_POLICY

ACTION_NAMES.update({
    "name hidden": _l("public name hidden"), "name shown again": _l("public name shown again"),
    "signature invalidated": _l("signature invalidated"),
    "bulk invalidation started": _l("bulk invalidation started"),
    "bulk invalidation finished": _l("bulk invalidation finished"),
    "organisation approved": _l("organisation approved"),
    "organisation rejected": _l("organisation rejected"),
})


def _petition(slug: str) -> Petition:
    return access.petition_or_404(db.session(), current_user, slug)


def _page(petition: Petition, status: int = 200, **values: Any) -> Any:
    values.setdefault("found", None)
    values.setdefault("error", None)
    values.setdefault("preview", None)
    values.setdefault("done", None)
    return render_template(
        "admin/moderation.html", petition=petition,
        pending=pending_organizations(db.session(), petition),
        runs=moderation.runs_of(db.session(), petition), form=request.form, **values,
    ), status


def _back(petition: Petition, done: str) -> BaseResponse:
    return redirect(url_for("admin.moderation_page", slug=petition.slug, done=done), code=303)


@bp.route("/p/<slug>/signatures", methods=["GET", "POST"])
@require_role("moderator")
def moderation_page(slug: str) -> Any:
    petition = _petition(slug)
    done = {"hidden": gettext("The name is hidden."), "shown": gettext("The name is shown again."),
            "invalidated": gettext("The signature is invalidated."),
            "already": gettext("Nothing changed: it had already been done."),
            "approved": gettext("The organisation is approved."),
            "rejected": gettext("The organisation is rejected.")}.get(
                request.args.get("done", ""))
    if request.method != "POST":
        return _page(petition, done=done)
    policy = SIGNING_POLICY.of()
    try:
        found = moderation.find(db.session(), petition, email=request.form.get("email", ""),
                                name=request.form.get("name", ""), rules=policy.rules,
                                index_key=policy.index_key)
    except ModerationError as error:
        return _page(petition, status=422, error=str(error))
    return _page(petition, found=found)


def _signature(petition: Petition, signature_id: int) -> Any:
    try:
        return moderation.signature_of(db.session(), petition, signature_id)
    except ModerationError as error:
        raise NotFound(str(error)) from error


# The public name's two changes: what each calls, and the note the page shows after it.
_NAME_CHANGES = {"hide": (moderation.hide_name, "hidden"), "show": (moderation.show_name, "shown")}


@bp.route("/p/<slug>/signatures/<int:signature_id>/hide", methods=["POST"],
          defaults={"change": "hide"})
@bp.route("/p/<slug>/signatures/<int:signature_id>/show", methods=["POST"],
          defaults={"change": "show"})
@require_role("moderator")
def change_name(slug: str, signature_id: int, change: str) -> Any:
    """Hide a signer's public name, or show it again."""
    petition = _petition(slug)
    signature = _signature(petition, signature_id)
    act, done = _NAME_CHANGES[change]
    changed = act(db.session(), signature, current_user.email)
    return _back(petition, done if changed else "already")


@bp.route("/p/<slug>/signatures/<int:signature_id>/invalidate", methods=["POST"])
@require_role("moderator")
def invalidate(slug: str, signature_id: int) -> Any:
    petition = _petition(slug)
    signature = _signature(petition, signature_id)
    try:
        changed = moderation.invalidate(db.session(), signature, request.form.get("reason", ""),
                                        current_user.email, LIFECYCLE.of())
    except ModerationError as error:
        return _page(petition, status=422, error=str(error))
    return _back(petition, "invalidated" if changed else "already")


def _moment(name: str) -> datetime | None:
    """A ``datetime-local`` field, read as UTC."""
    value = request.form.get(name, "").strip()
    if not value:
        return None
    try:
        return utc_moment(value[:32])
    except ValueError as error:
        raise ModerationError(gettext("A time must look like 2026-12-05T14:30.")) from error


def _criteria() -> Criteria:
    return Criteria.read(domain=request.form.get("domain", ""), since=_moment("since"),
                         until=_moment("until"), source=request.form.get("source", ""))


@bp.route("/p/<slug>/invalidations/preview", methods=["POST"])
@require_role("moderator")
def invalidation_preview(slug: str) -> Any:
    petition = _petition(slug)
    try:
        preview = moderation.preview(db.session(), petition, _criteria(),
                                     SIGNING_POLICY.of().index_key)
    except ModerationError as error:
        return _page(petition, status=422, error=str(error))
    return _page(petition, preview=preview)


@bp.route("/p/<slug>/invalidations", methods=["POST"])
@require_role("moderator")
def invalidation_start(slug: str) -> Any:
    petition = _petition(slug)
    try:
        run = moderation.start_run(db.session(), petition, _criteria(),
                                   request.form.get("reason", ""), current_user.email,
                                   SIGNING_POLICY.of().index_key)
    except ModerationError as error:
        db.session.rollback()
        return _page(petition, status=422, error=str(error))
    return redirect(url_for("admin.invalidation_run", slug=petition.slug, run_id=run.id),
                    code=303)


@bp.route("/p/<slug>/invalidations/<int:run_id>", methods=["GET"])
@require_role("moderator")
def invalidation_run(slug: str, run_id: int) -> Any:
    petition = _petition(slug)
    run = db.session.get(ModerationRun, run_id)
    if run is None or run.petition_id != petition.id:
        raise NotFound()
    return render_template("admin/moderation_run.html", petition=petition, run=run)


@bp.route("/p/<slug>/organizations/<int:signature_id>/approve", methods=["POST"],
          defaults={"decision": "approve"})
@bp.route("/p/<slug>/organizations/<int:signature_id>/reject", methods=["POST"],
          defaults={"decision": "reject"})
@require_role("moderator")
def decide_organization(slug: str, signature_id: int, decision: str) -> Any:
    petition = _petition(slug)
    signature = _signature(petition, signature_id)
    try:
        changed = moderation.decide_organization(db.session(), signature, decision == "approve",
                                                 current_user.email, LIFECYCLE.of())
    except ModerationError as error:
        raise NotFound(str(error)) from error
    return _back(petition, ("approved" if decision == "approve" else "rejected")
                 if changed else "already")
