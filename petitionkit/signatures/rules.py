"""The signing form's rules, declared once: the core's fields, and what any text typed into it
may hold, for the core's fields and the plugins' alike (names, addresses, postal codes, letters
in the signer's own words)."""

from __future__ import annotations

import unicodedata

from flask_babel import gettext

# The core's fields of a signing post, by the JSON type they take. The signer's own: name,
# email, country, postal_code, consent_updates, show_name, source. The rest travel with the
# post and are never stored: the page's language, whether it came from the widget, the honeypot
# (website) and the proof-of-work solution (altcha). A plugin's field may take none of these
# names.
CORE_BOOLEAN_FIELDS = frozenset({"consent_updates", "show_name"})
CORE_TEXT_FIELDS = frozenset({
    "name", "email", "country", "postal_code", "source", "lang", "embed", "website", "altcha",
})
CORE_FIELDS = CORE_BOOLEAN_FIELDS | CORE_TEXT_FIELDS

# Cc and Cs cover NUL and friends (which PostgreSQL refuses to store) and lone surrogates; Co is
# private use; Zl and Zp are the line and paragraph separators, which mail headers and CSV
# readers take as line breaks. U+FFFD is what the form parser leaves where the body was not
# valid UTF-8.
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Zl", "Zp"})
REPLACEMENT_CHARACTER = "\ufffd"
# A text area may hold line breaks and tabs, a one-line field nothing of the kind.
MULTILINE_ALLOWED = frozenset("\n\r\t")


def text_problem(value: str | None, *, multiline: bool = False) -> list[str]:
    """The messages for what ``value`` may not hold, or an empty list."""
    if not value:
        return []
    if REPLACEMENT_CHARACTER in value:
        return [gettext("This contains characters that could not be read. Please retype it.")]
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    if any(unicodedata.category(char) in FORBIDDEN_CATEGORIES and char not in allowed
           for char in value):
        return [gettext("This contains invisible control characters. Please retype it.")]
    return []
