"""The petition form of the workspace: a petition file's front matter as fields.

The keys most petitions set have fields of their own, and targets, share texts, reported actions
and steps have rows of fields (petitionkit/admin/petition_rows.py); every other key of a petition
file (letter, call, stories, goal ladders, the plugins' sections …) is written in "More settings"
as YAML, exactly as in a file. Validation is the loader's, through
petitionkit/petitions/editing.py; this module only moves values between the form and the
front-matter mapping, and puts each message beside its field.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from petitionkit.admin.petition_rows import (
    ADDABLE,
    MAX_ROWS,
    ROW_KEYS,
    RowFields,
    fill_rows,
    rows_data,
)
from petitionkit.admin.views import STATUS_NAMES
from petitionkit.petitions.loader import KINDS
from petitionkit.petitions.models import STATUSES

# A loader message about one item of a list: "targets[2].email: …".
_ROW_NUMBER = re.compile(r"[a-z_]+\[(\d+)\]")
# The longest "More settings" text accepted.
MORE_MAX = 50_000
# Form field -> the front-matter key it holds (the signers' two boxes make one key).
FIELD_KEYS = {
    "title": "title", "slug": "slug", "summary": "summary", "body": "body",
    "status": "status", "kind": "kind", "locale": "locale", "goal": "goal",
    "opens_at": "opens_at", "closes_at": "closes_at", "allowed_origins": "allowed_origins",
}
OWN_KEYS = frozenset(FIELD_KEYS.values()) | {"signers"}
KIND_LABELS = {
    "petition": _l("Petition"), "letter": _l("Letter to officials"),
    "joint-letter": _l("Joint letter of organisations"), "urgent-action": _l("Urgent action"),
}


class _NoAliases(yaml.SafeLoader):
    """YAML without anchors and aliases: a few lines of them can expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted",
                                              event.start_mark)
        return super().compose_node(parent, index)


class PetitionForm(RowFields, FlaskForm):
    title = StringField(_l("Title"))
    slug = StringField(_l("Address (slug)"), description=_l(
        "Lowercase letters, digits and dashes: /p/free-the-poet. It cannot change later."))
    summary = TextAreaField(_l("Summary"), description=_l(
        "One or two sentences, shown in lists and when the page is shared."))
    body = TextAreaField(_l("Text (Markdown)"))
    status = SelectField(_l("Status"), default="draft")
    kind = SelectField(_l("Kind"), default="petition")
    locale = StringField(_l("Language"), default="en", description=_l(
        "A language tag such as en, ar or zh_Hans: the page's language."))
    goal = StringField(_l("Goal"), description=_l("Signatures to reach; empty for none."))
    opens_at = StringField(_l("Opens at"), description=_l(
        "Date and time in ISO 8601, e.g. 2027-01-15T09:00:00+00:00; empty: at once."))
    closes_at = StringField(_l("Closes at"), description=_l(
        "Date and time in ISO 8601; empty: no deadline."))
    people = BooleanField(_l("People sign"), default=True)
    organizations = BooleanField(_l("Organisations sign"))
    allowed_origins = TextAreaField(_l("Sites that may embed the widget"), description=_l(
        "One address per line, such as https://example.org."))
    more = TextAreaField(_l("More settings (YAML)"), description=_l(
        "Every other key of a petition file, as in the file: letter, call, stories, "
        "goal_ladder and the others docs/petitions.md describes."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Messages from the loader about a key of the rows: for the key's fieldset, and for
        # one row (targets[2] …) by the list's name and the row's index.
        self.key_errors: dict[str, list[str]] = {}
        self.row_errors: dict[tuple[str, int], list[str]] = {}
        # Row keys given in More settings instead (their messages go there), and which row
        # each item of a list came from.
        self.in_more: set[str] = set()
        self.rows_of: dict[str, list[int]] = {}
        self.status.choices = [SelectChoice(status, STATUS_NAMES[status]) for status in STATUSES]
        self.kind.choices = [SelectChoice(kind, KIND_LABELS[kind]) for kind in KINDS]


def form_from_data(data: dict[str, Any], step_names: Sequence[str]) -> PetitionForm:
    """A form showing ``data`` (petition_as_data), without reading the request; ``step_names``
    are every step a petition may list (the engine's and the plugins')."""
    form = PetitionForm(formdata=None)
    for name, key in FIELD_KEYS.items():
        value = data.get(key)
        if value is None:
            continue
        if key == "allowed_origins":
            value = "\n".join(map(str, value))
        getattr(form, name).data = str(value)
    signers = data.get("signers", ["people"])
    signers = [signers] if isinstance(signers, str) else signers
    form.people.data = "people" in signers
    form.organizations.data = "organizations" in signers
    in_rows = fill_rows(form, data, step_names)
    rest = {key: value for key, value in data.items() if key not in OWN_KEYS | in_rows}
    form.more.data = yaml.safe_dump(rest, allow_unicode=True, sort_keys=False) if rest else ""
    return form


def data_from_form(form: PetitionForm, creating: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The front matter and body the form holds, and the messages for fields that could not be
    read at all (the loader judges the rest)."""
    problems: dict[str, str] = {}
    data: dict[str, Any] = {}
    for name in ("title", "summary", "body", "status", "kind", "locale"):
        data[FIELD_KEYS[name]] = (getattr(form, name).data or "").replace("\r\n", "\n")
    if creating:
        data["slug"] = (form.slug.data or "").strip()
    goal = (form.goal.data or "").strip()
    if goal:
        if goal.isascii() and goal.isdigit() and len(goal) < 10:
            data["goal"] = int(goal)
        else:
            problems["goal"] = gettext("The goal must be a whole number, such as 1000.")
    for name in ("opens_at", "closes_at"):
        moment = (getattr(form, name).data or "").strip()
        if moment:
            data[name] = moment
    data["signers"] = [kind for kind, ticked in (("people", form.people.data),
                                                  ("organizations", form.organizations.data))
                       if ticked]
    data["allowed_origins"] = [line.strip() for line in (form.allowed_origins.data or "")
                               .splitlines() if line.strip()]
    more = form.more.data or ""
    if len(more) > MORE_MAX:
        problems["more"] = gettext("More settings are longer than %(num)d characters.",
                                   num=MORE_MAX)
    elif more.strip():
        try:
            extra = yaml.load(more, Loader=_NoAliases)  # noqa: S506 (a safe loader)
        except (yaml.YAMLError, RecursionError) as error:
            problems["more"] = gettext("More settings are not valid YAML: %(reason)s",
                                       reason=str(error).splitlines()[0][:200])
        else:
            if not isinstance(extra, dict):
                problems["more"] = gettext(
                    "More settings must be keys with values, such as “targets: …”.")
            else:
                taken = sorted(str(key) for key in extra if key in OWN_KEYS)
                if taken:
                    problems["more"] = gettext(
                        "These keys have fields of their own above: %(keys)s.",
                        keys=", ".join(taken))
                else:
                    data.update({str(key): value for key, value in extra.items()})
                    form.in_more = {key for key in ROW_KEYS if key in extra}
    rows, form.rows_of = rows_data(form, str(data.get("locale") or "en"), problems)
    twice = sorted(key for key in rows if key in form.in_more)
    if twice:
        problems["more"] = gettext(
            "These keys are given both in their fields above and here: %(keys)s. Keep one.",
            keys=", ".join(twice))
    data.update(rows)
    return data, problems


def show_errors(form: PetitionForm, errors: dict[str, str]) -> None:
    """Put each message beside its field: a key of the rows beside its fieldset or row, a key
    without a field of its own in More."""
    by_key = {key: name for name, key in FIELD_KEYS.items()}
    for key, message in errors.items():
        if key in ROW_KEYS and key not in form.in_more:
            row = _ROW_NUMBER.match(message)
            rows = form.rows_of.get(key, [])
            if row and 0 < int(row.group(1)) <= len(rows):
                where = (key, rows[int(row.group(1)) - 1])
                form.row_errors[where] = [*form.row_errors.get(where, []), message]
            else:
                form.key_errors[key] = [*form.key_errors.get(key, []), message]
            continue
        name = by_key.get(key) or ("people" if key == "signers" else "more")
        getattr(form, name).errors = [*getattr(form, name).errors, message]


def add_row(form: PetitionForm, name: str) -> bool:
    """"Add another …": one more blank row in the list ``name``, when that was the button
    pressed (the form is then shown again and nothing is saved)."""
    if name not in ADDABLE:
        return False
    rows = getattr(form, name)
    if len(rows.entries) < MAX_ROWS:
        rows.append_entry()
    return True
