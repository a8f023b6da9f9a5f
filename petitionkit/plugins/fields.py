"""Extra fields a plugin adds to the signing form (page, widget and JSON API), and how their
submitted values are read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext

from petitionkit.plugins.errors import PluginConfigError
from petitionkit.signatures.rules import RESERVED_FIELD_NAMES, text_problem

FIELD_KINDS = ("text", "textarea", "checkbox", "select")


@dataclass(frozen=True)
class FormField:
    """One extra field. ``name`` is the form key and the key in ``signature.extra``."""

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    max_length: int = 200
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""
    # Text a text or textarea field starts with (a sample letter to edit). A value sent back
    # unchanged is stored as empty: the signer kept the offered words, which the plugin knows.
    default: str = ""
    # Personal data (the default): stored only sealed, readable where the private key is.
    # ``False`` keeps the value readable to every process (a choice in a list, a tick box that
    # says nothing of the person).
    personal: bool = True

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise PluginConfigError(f"form field {self.name!r}: kind must be one of {FIELD_KINDS}")
        if not self.name.isidentifier() or self.name in RESERVED_FIELD_NAMES:
            raise PluginConfigError(f"form field name {self.name!r} is taken or not an identifier")
        if self.kind == "select" and not self.choices:
            raise PluginConfigError(f"form field {self.name!r}: a select needs choices")


def read_extra_fields(
    fields: list[FormField], submitted: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The extra fields' clean values and the problems found, by field name."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field in fields:
        raw = submitted.get(field.name)
        if field.kind == "checkbox":
            values[field.name] = raw not in (None, "", False, "false", "0")
            if field.required and not values[field.name]:
                errors[field.name] = [gettext("Please tick this box to sign.")]
            continue
        text = raw.strip() if isinstance(raw, str) else ""
        if raw is not None and not isinstance(raw, str):
            errors[field.name] = [gettext("This must be text.")]
        elif not text and field.required:
            errors[field.name] = [gettext("Please fill in this field.")]
        elif len(text) > field.max_length:
            errors[field.name] = [gettext(
                "Please shorten this to %(limit)d characters.", limit=field.max_length
            )]
        elif problems := text_problem(text, multiline=field.kind == "textarea"):
            errors[field.name] = problems
        elif field.kind == "select" and text and text not in {key for key, _ in field.choices}:
            errors[field.name] = [gettext("Please choose from the list.")]
        if field.default and _same_words(text, field.default):
            text = ""
        values[field.name] = text or None
    return values, errors


def _same_words(text: str, default: str) -> bool:
    """Equal but for line endings and the spacing a browser or mail program may change."""
    return text.split() == default.split()
