"""The signing form's rules, declared once: the core's fields, and what any text typed into it
may hold, for the core's fields and the plugins' alike (names, addresses, postal codes, letters
in the signer's own words)."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

import idna
from flask_babel import gettext

# The core's fields of a signing post, by the JSON type they take. The signer's own: name,
# email, country, postal_code, consent_updates, show_name, source, and for an organisation
# organization and organization_url (``signer``, "person" or "organization", says which of the
# two a form with both chose). The rest travel with the
# post and are never stored: the page's language, whether it came from the widget, the honeypot
# (website) and the proof-of-work solution (altcha). A plugin's field may take none of these
# names.
CORE_BOOLEAN_FIELDS = frozenset({"consent_updates", "show_name"})
CORE_TEXT_FIELDS = frozenset({
    "name", "email", "country", "postal_code", "source", "lang", "embed", "website", "altcha",
    "organization", "organization_url", "signer",
})
CORE_FIELDS = CORE_BOOLEAN_FIELDS | CORE_TEXT_FIELDS
# Sent by the widget's form only (the embedding site, see ``embedding_site``): not a field of the
# JSON API, and no plugin's field may take its name either.
WIDGET_FIELDS = frozenset({"site"})
RESERVED_FIELD_NAMES = CORE_FIELDS | WIDGET_FIELDS

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


# Characters that reorder the text around them (embeddings, overrides, isolates and marks):
# in an organisation's published name they could make it read as another's.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# An organisation's name is shown as text; a name with these is markup, not a name.
MARKUP_CHARACTERS = frozenset("<>")


def published_text_problem(value: str | None) -> list[str]:
    """``text_problem``, and what a name published to everyone may not hold besides."""
    problems = text_problem(value)
    if problems or not value:
        return problems
    if any(char in BIDI_CONTROLS for char in value):
        return [gettext("This contains characters that change the direction of text. "
                        "Please retype it.")]
    if any(char in MARKUP_CHARACTERS for char in value):
        return [gettext("Please leave out the characters < and >.")]
    return []


def website_problem(value: str, longest: int) -> list[str]:
    """An organisation's website: an http(s) address with a host, no credentials, at most
    ``longest`` characters."""
    if len(value) > longest:
        return [gettext("A website address has at most %(limit)d characters.", limit=longest)]
    problems = text_problem(value)
    if problems:
        return problems
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return [gettext("This website address is not valid.")]
    if parts.scheme.lower() not in ("http", "https"):
        return [gettext("Please enter the website's address starting with https:// or http://.")]
    if (not parts.hostname or parts.username is not None or parts.password is not None
            or any(char.isspace() for char in value)):
        return [gettext("This website address is not valid.")]
    return []


# The longest host name DNS allows, in its ASCII form.
SITE_MAX = 253
# More than any browser's Referer: a longer value is dropped before it is parsed at all.
_SITE_INPUT_MAX = 2048
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def embedding_site(value: str | None) -> str | None:
    """The host of a page the widget is embedded in, as the figures keep it, or None.

    ``value`` is a host (``Example.ORG``, ``bücher.example``) or an address whose host is taken
    (``https://example.org:8443/page?id=7``); a path, a query or a port never get through, as
    they can name a person. The host comes back lower-cased in its ASCII form (IDNA, so
    ``xn--bcher-kva.example``: no look-alike letters, nothing that turns text around), an IP
    address in its canonical form. Anything else is None: the site is a figure the embedding
    page claims, never a reason to refuse a signature, so a value that is not a host is dropped
    rather than reported to a signer who never typed it.
    """
    if not value or len(value) > _SITE_INPUT_MAX:
        return None
    text = value.strip()
    if "://" in text:
        try:
            text = urlsplit(text).hostname or ""
        except ValueError:
            return None
    host = text.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        pass
    else:
        return str(address) if address.version == 4 else f"[{address.compressed}]"
    try:
        ascii_host = idna.encode(host, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None
    if len(ascii_host) > SITE_MAX or not all(
        _HOST_LABEL.match(label) for label in ascii_host.split(".")
    ):
        return None
    return ascii_host
