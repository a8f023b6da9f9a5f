"""The petition form's repeating rows: targets, share texts, reported actions and steps.

Each of these keys is a list in a petition file; here each item is a row of fields, rendered by
the server with a blank row or two to fill, so the form works without JavaScript. A blank row
is ignored and a row with "Remove" ticked is left out. This module moves values between the
rows and the front-matter mapping; the loader judges them, as it judges a file.

A value the rows cannot show exactly as written (a number where text belongs, a hashtag with a
space …) stays in "More settings", so that saving an unchanged form never changes a petition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Form, HiddenField, StringField, TextAreaField
from wtforms.fields import Field, FieldList, FormField

from petitionkit.petitions.loader import (
    LETTER_STEP,
    REPORT_ACTION_KEYS,
    REPORT_STEP,
    SHARE_KEYS,
    SHARE_STEP,
    SIGN_STEP,
    TARGET_KEYS,
)

# The keys the rows hold, in the order of their fieldsets.
ROW_KEYS = ("targets", "share", "report_actions", "steps")
# The longest text of one field of a row, and the most rows of each list a form may send (the
# loader's own limits, such as 20 reported actions, are stricter and speak for themselves).
ROW_TEXT_MAX = 5_000
MAX_ROWS = 100
# Blank rows offered after the filled ones.
BLANK_ROWS = 1
_WORDS = re.compile(r"[\s,]+")
# What the steps are called on the form; a plugin's step without a name here shows its own.
STEP_LABELS = {
    SIGN_STEP: _l("The signing form (always first)"),
    LETTER_STEP: _l("Write from one's own e-mail"),
    REPORT_STEP: _l("Tell us what you did"),
    SHARE_STEP: _l("Share the petition"),
    "call": _l("Call the officials"),
    "story": _l("Share a story confidentially"),
}


class TargetRow(Form):
    name = StringField(_l("Name"))
    title = StringField(_l("Title or role"))
    organization = StringField(_l("Organisation"))
    email = StringField(_l("E-mail address"))
    phone = StringField(_l("Phone"))
    hours = StringField(_l("Office hours"), description=_l("Such as Mon–Fri 09:00–17:00."))
    timezone = StringField(_l("Time zone"), description=_l("Such as Europe/Brussels."))
    salutation = StringField(_l("Salutation"), description=_l("Such as “Dear Director,”."))
    languages = StringField(_l("Languages they read"), description=_l(
        "Language tags separated by spaces, such as en fr."))
    address = TextAreaField(_l("Postal address"))
    remove = BooleanField(_l("Remove this target"))


class PostRow(Form):
    text = TextAreaField(_l("Suggested post"))
    remove = BooleanField(_l("Remove this post"))


class ActionRow(Form):
    key = StringField(_l("Short name"), description=_l(
        "Lowercase letters, digits, - and _, such as called: it cannot be translated."))
    label = StringField(_l("What the signer did, in the petition's language"), description=_l(
        "Such as “I called the embassy”."))
    other_labels = TextAreaField(_l("The same in other languages"), description=_l(
        "One language a line, its tag first: fr: J'ai appelé l'ambassade"))
    outcomes = StringField(_l("Outcomes a report may add"), description=_l(
        "Words separated by spaces, such as reached voicemail no-answer; empty for none."))
    remove = BooleanField(_l("Remove this action"))


class StepRow(Form):
    # Labelled in the template by the step's own name, which only the row's data knows.
    name = HiddenField()
    shown = BooleanField()
    position = StringField()


class RowFields:
    """The fields the petition form adds for the rows (mixed into it)."""

    targets = FieldList(FormField(TargetRow), label=_l("Targets: who the petition is addressed to"))
    hashtags = StringField(_l("Hashtags"), description=_l(
        "Separated by spaces, such as #FreeRosa #SafeSchools."))
    posts = FieldList(FormField(PostRow), label=_l("Suggested posts"))
    report_actions = FieldList(FormField(ActionRow), label=_l(
        "Actions signers can report having done"))
    steps = FieldList(FormField(StepRow), label=_l("Steps after signing"))


# The lists a visitor may add a row to with "Add another …", by the button's value.
ADDABLE = ("targets", "posts", "report_actions")


def _text(value: object) -> bool:
    return isinstance(value, str)


def _words(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(word, str) and word and not _WORDS.search(word) for word in value)


def _one_line(value: object) -> bool:
    return isinstance(value, str) and "\n" not in value and "\r" not in value


def representable(key: str, value: object, locale: str, step_names: Sequence[str]) -> bool:
    """Whether the rows can show ``value`` of ``key`` exactly; otherwise it stays in More."""
    if key == "targets":
        return isinstance(value, list) and all(
            isinstance(item, Mapping) and set(item) <= set(TARGET_KEYS)
            and all(_one_line(text) for name, text in item.items()
                    if name not in ("languages", "address"))
            and _text(item.get("address", "")) and _words(item.get("languages", []))
            for item in value)
    if key == "share":
        return isinstance(value, Mapping) and set(value) <= set(SHARE_KEYS) \
            and _words(value.get("hashtags", [])) and isinstance(value.get("posts", []), list) \
            and all(_text(post) and post.strip() for post in value.get("posts", []))
    if key == "report_actions":
        return isinstance(value, list) and all(
            isinstance(item, Mapping) and set(item) <= set(REPORT_ACTION_KEYS)
            and _one_line(item.get("key")) and _words(item.get("outcomes", []))
            and (_one_line(item.get("label")) or (
                isinstance(item.get("label"), Mapping) and locale in item["label"]
                and all(_one_line(tag) and ":" not in tag and _one_line(text)
                        for tag, text in item["label"].items())))
            for item in value)
    if key == "steps":
        return isinstance(value, list) and all(name in step_names for name in value) \
            and len(set(value)) == len(value)
    raise KeyError(key)


def fill_rows(form: Any, data: Mapping[str, Any], step_names: Sequence[str]) -> set[str]:
    """Put the row keys of ``data`` into ``form``; the keys the rows took."""
    locale = str(data.get("locale") or "en")
    taken = {key for key in ROW_KEYS
             if key in data and representable(key, data[key], locale, step_names)}
    targets = data.get("targets", []) if "targets" in taken else []
    for target in targets:
        row = {name: target.get(name, "") for name in TARGET_KEYS}
        row["languages"] = " ".join(target.get("languages", []))
        form.targets.append_entry(row)
    share = data.get("share", {}) if "share" in taken else {}
    form.hashtags.data = " ".join(share.get("hashtags", []))
    for post in share.get("posts", []):
        form.posts.append_entry({"text": post})
    actions = data.get("report_actions", []) if "report_actions" in taken else []
    for action in actions:
        labels = action.get("label", "")
        labels = dict(labels) if isinstance(labels, Mapping) else {locale: labels}
        mine = labels.pop(locale, "")
        form.report_actions.append_entry({
            "key": action.get("key", ""), "label": mine,
            "other_labels": "\n".join(f"{tag}: {text}" for tag, text in labels.items()),
            "outcomes": " ".join(action.get("outcomes", []))})
    for name in ADDABLE:
        for _blank in range(BLANK_ROWS):
            getattr(form, name).append_entry()
    listed = list(data.get("steps") or []) if "steps" in taken else []
    for name in [*listed, *(name for name in step_names if name not in listed)]:
        shown = name in listed
        form.steps.append_entry({"name": name, "shown": shown,
                                 "position": str(listed.index(name) + 1) if shown else ""})
    return taken


def _clean(field: Field, problems: dict[str, str], key: str) -> str:
    text = (field.data or "").replace("\r\n", "\n")
    if len(text) > ROW_TEXT_MAX:
        field.errors = [gettext("At most %(num)d characters.", num=ROW_TEXT_MAX)]
        problems[key] = gettext("Some fields below are too long.")
    return text


def _too_many(form: Any, name: str, problems: dict[str, str], key: str) -> bool:
    if len(getattr(form, name).entries) > MAX_ROWS:
        problems[key] = gettext("At most %(num)d rows can be sent.", num=MAX_ROWS)
        return True
    return False


def _filled_rows(form: Any, name: str, keys: Sequence[str], problems: dict[str, str]
                 ) -> Iterator[tuple[int, Any, dict[str, str]]]:
    """Each row of the list `name` that is kept and has text: its index, its form and its
    texts by key (a row ticked for removal or left empty is skipped)."""
    for index, entry in enumerate(getattr(form, name).entries):
        row = entry.form
        values = {key: _clean(getattr(row, key), problems, name) for key in keys}
        if row.remove.data or not any(value.strip() for value in values.values()):
            continue
        yield index, row, values


def rows_data(form: Any, locale: str, problems: dict[str, str]
              ) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The row keys the form holds (a key with no filled row is left out), and for targets and
    reported actions which row each item came from, to put a message beside its row."""
    data: dict[str, Any] = {}
    rows_of: dict[str, list[int]] = {"targets": [], "report_actions": []}
    if not _too_many(form, "targets", problems, "targets"):
        targets = []
        for index, _row, values in _filled_rows(form, "targets", TARGET_KEYS, problems):
            target: dict[str, Any] = {name: value.strip() if name != "address" else value
                                      for name, value in values.items()
                                      if value.strip() and name != "languages"}
            languages = [tag for tag in _WORDS.split(values["languages"]) if tag]
            if languages:
                target["languages"] = languages
            targets.append(target)
            rows_of["targets"].append(index)
        if targets:
            data["targets"] = targets
    if not _too_many(form, "posts", problems, "share"):
        posts = [text for entry in form.posts.entries
                 if (text := _clean(entry.form.text, problems, "share")).strip()
                 and not entry.form.remove.data]
        share: dict[str, list[str]] = {}
        hashtags = [tag for tag in _WORDS.split(_clean(form.hashtags, problems, "share")) if tag]
        if hashtags:
            share["hashtags"] = hashtags
        if posts:
            share["posts"] = posts
        if share:
            data["share"] = share
    if not _too_many(form, "report_actions", problems, "report_actions"):
        actions = []
        for index, row, values in _filled_rows(
                form, "report_actions", ("key", "label", "other_labels", "outcomes"), problems):
            action: dict[str, Any] = {"key": values["key"].strip()}
            others: dict[str, str] = {}
            for line in values["other_labels"].splitlines():
                if not line.strip():
                    continue
                tag, colon, text = line.partition(":")
                if not colon:
                    row.other_labels.errors = [gettext(
                        "Write each line as a language tag, a colon and the text: "
                        "fr: J'ai appelé")]
                    problems["report_actions"] = gettext("Some fields below need a correction.")
                    break
                others[tag.strip()] = text.strip()
            if values["label"].strip() and not others:
                action["label"] = values["label"].strip()
            elif values["label"].strip() or others:
                mine = {locale: values["label"].strip()} if values["label"].strip() else {}
                action["label"] = {**mine, **others}
            outcomes = [word for word in _WORDS.split(values["outcomes"]) if word]
            if outcomes:
                action["outcomes"] = outcomes
            actions.append(action)
            rows_of["report_actions"].append(index)
        if actions:
            data["report_actions"] = actions
    if not _too_many(form, "steps", problems, "steps"):
        chosen: list[tuple[int, int, str]] = []
        for index, entry in enumerate(form.steps.entries):
            row = entry.form
            if not row.shown.data:
                continue
            place = (row.position.data or "").strip()
            if place and not (place.isascii() and place.isdigit() and len(place) < 4):
                row.position.errors = [gettext("A place is a whole number, such as 2.")]
                problems["steps"] = gettext("Some fields below need a correction.")
                continue
            chosen.append((int(place) if place else MAX_ROWS + index, index,
                           (row.name.data or "").strip()))
        if chosen:
            data["steps"] = [name for _place, _index, name in sorted(chosen)]
    return data, rows_of
