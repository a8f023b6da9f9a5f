"""Petitions in the workspace: create, edit with a preview, open, close and archive (editors).

Thin views over petitionkit/petitions/editing.py, the service the write API calls too; the form
is petitionkit/admin/petition_forms.py. A petition managed by its file is shown read-only with
the reason.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from werkzeug.exceptions import NotFound

from petitionkit.admin import access
from petitionkit.admin.petition_forms import (
    PetitionForm,
    add_row,
    data_from_form,
    form_from_data,
    show_errors,
)
from petitionkit.admin.petition_rows import STEP_LABELS
from petitionkit.admin.roles import require_role
from petitionkit.admin.views import ACTION_NAMES, LARGE_FORMS, bp
from petitionkit.extensions import db
from petitionkit.petitions.editing import (
    PetitionFileManaged,
    PetitionInvalid,
    create_petition,
    petition_as_data,
    set_status,
    update_petition,
)
from petitionkit.petitions.loader import CORE_STEPS
from petitionkit.petitions.markdown import render_markdown
from petitionkit.petitions.models import STATUSES
from petitionkit.plugins import calls
from petitionkit.plugins.events import LIFECYCLE

ACTION_NAMES.update({
    "petition created": _l("petition created"), "petition changed": _l("petition changed"),
    "petition released": _l("petition handed over to the workspace"),
})
# What the status buttons say, by the status they set.
STATUS_BUTTONS = {"open": _l("Open for signing"), "closed": _l("Close"),
                  "archived": _l("Archive"), "draft": _l("Back to draft")}
LARGE_FORMS.update({"admin.new_petition", "admin.edit_petition"})


def _step_names() -> list[str]:
    """Every step a petition may list: the engine's, then the plugins'."""
    return [*CORE_STEPS, *calls.step_names()]


def _page(form: PetitionForm, creating: bool, petition: Any = None, status: int = 200,
          preview: Markup | None = None, saved: bool = False) -> Any:
    others = [choice for choice in STATUSES if petition is None or choice != petition.status]
    return render_template("admin/petition_edit.html", form=form, creating=creating,
                           petition=petition, preview=preview, saved=saved, statuses=others,
                           status_buttons=STATUS_BUTTONS, step_labels=STEP_LABELS), status


@bp.route("/petitions/new", methods=["GET", "POST"])
@require_role("editor")
def new_petition() -> Any:
    if request.method != "POST":
        return _page(form_from_data({"status": "draft", "kind": "petition", "locale": "en",
                                     "signers": ["people"]}, _step_names()), creating=True)
    form = PetitionForm()
    data, problems = data_from_form(form, creating=True)
    if add_row(form, request.form.get("add_row", "")):
        return _page(form, creating=True)
    if "preview" in request.form or problems:
        show_errors(form, problems)
        preview = Markup(render_markdown(data.get("body", ""))) if not problems else None
        return _page(form, creating=True, preview=preview, status=422 if problems else 200)
    try:
        petition = create_petition(db.session(), data, current_user.email,
                                   calls.petition_sections(), LIFECYCLE.of(),
                                   steps=calls.step_names(), creator=current_user)
    except PetitionInvalid as invalid:
        db.session.rollback()
        show_errors(form, invalid.errors)
        return _page(form, creating=True, status=422)
    return redirect(url_for("admin.edit_petition", slug=petition.slug, saved=1), code=303)


@bp.route("/p/<slug>/edit", methods=["GET", "POST"])
@require_role("editor")
def edit_petition(slug: str) -> Any:
    petition = access.petition_or_404(db.session(), current_user, slug)
    if request.method != "POST":
        return _page(form_from_data(petition_as_data(petition), _step_names()),
                     creating=False, petition=petition, saved=request.args.get("saved") == "1")
    form = PetitionForm()
    data, problems = data_from_form(form, creating=False)
    data["slug"] = petition.slug
    if add_row(form, request.form.get("add_row", "")):
        return _page(form, creating=False, petition=petition)
    if "preview" in request.form or problems:
        show_errors(form, problems)
        preview = Markup(render_markdown(data.get("body", ""))) if not problems else None
        return _page(form, creating=False, petition=petition, preview=preview,
                     status=422 if problems else 200)
    if petition.file_managed:
        return _page(form, creating=False, petition=petition, status=409)
    # Every key the form does not hold any more is reset to its default, as in a file.
    cleared = {key: None for key in petition_as_data(petition) if key not in data}
    try:
        update_petition(db.session(), petition, {**cleared, **data}, current_user.email,
                        calls.petition_sections(), LIFECYCLE.of(), steps=calls.step_names())
    except PetitionInvalid as invalid:
        db.session.rollback()
        show_errors(form, invalid.errors)
        return _page(form, creating=False, petition=petition, status=422)
    return redirect(url_for("admin.edit_petition", slug=petition.slug, saved=1), code=303)


@bp.route("/p/<slug>/status", methods=["POST"])
@require_role("editor")
def petition_status(slug: str) -> Any:
    petition = access.petition_or_404(db.session(), current_user, slug)
    status = request.form.get("status", "")
    if status not in STATUSES:
        raise NotFound()
    try:
        set_status(db.session(), petition, status, current_user.email,
                   calls.petition_sections(), LIFECYCLE.of(), steps=calls.step_names())
    except PetitionFileManaged:
        return _page(form_from_data(petition_as_data(petition), _step_names()),
                     creating=False, petition=petition, status=409)
    except PetitionInvalid as invalid:
        db.session.rollback()
        form = form_from_data(petition_as_data(petition), _step_names())
        show_errors(form, invalid.errors)
        return _page(form, creating=False, petition=petition, status=422)
    return redirect(url_for("admin.edit_petition", slug=petition.slug, saved=1), code=303)
