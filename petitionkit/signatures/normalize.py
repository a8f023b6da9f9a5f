"""One address, one signature: the canonical form of an e-mail address and its blind index;
and a signer's name as others are shown it."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class NormalizationRules:
    """Which providers treat ``a.b+tag@`` as ``ab@``; operators extend these lists in config."""

    dotless_domains: frozenset[str]
    plus_tag_domains: frozenset[str]
    domain_aliases: Mapping[str, str]

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> NormalizationRules:
        return cls(
            dotless_domains=_lowered(config["EMAIL_DOTLESS_DOMAINS"]),  # type: ignore[arg-type]
            plus_tag_domains=_lowered(config["EMAIL_PLUS_TAG_DOMAINS"]),  # type: ignore[arg-type]
            domain_aliases={
                k.lower(): v.lower()
                for k, v in config["EMAIL_DOMAIN_ALIASES"].items()  # type: ignore[attr-defined]
            },
        )


def _lowered(items: Iterable[str]) -> frozenset[str]:
    return frozenset(item.lower() for item in items)


def normalize_email(address: str, rules: NormalizationRules) -> str:
    """The canonical form used for deduplication (never for sending: mail goes where typed)."""
    local, _, domain = address.strip().rpartition("@")
    domain = domain.lower().rstrip(".")
    domain = rules.domain_aliases.get(domain, domain)
    local = local.lower()
    if domain in rules.plus_tag_domains:
        local = local.split("+", 1)[0]
    if domain in rules.dotless_domains:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def blind_index(normalized: str, key: bytes) -> bytes:
    return hmac.new(key, normalized.encode(), hashlib.sha256).digest()


def domain_index(normalized: str, key: bytes) -> bytes:
    """The blind index of a normalized address's domain, as "@domain": no address hashes to it,
    since every address has a local part before its "@"."""
    return blind_index("@" + normalized.rpartition("@")[2], key)


# Characters that draw nothing, as the body of a regular-expression character class: Unicode's
# format characters (category Cf: bidi embeddings, overrides, isolates and marks, zero-width
# space, word joiner, byte order mark, soft hyphen, tags, ...), the two joiners, and the Hangul
# fillers, letters that show as blank space. tests/test_signer_names.py checks the Cf list
# against the running Python's Unicode database.
_JOINERS = "\u200c\u200d"
_FORMAT_CHARACTERS = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_BLANK_LETTERS = "\u115f\u1160\u3164\uffa0"
INVISIBLE_CHARACTERS = _FORMAT_CHARACTERS + _JOINERS + _BLANK_LETTERS
_HIDDEN = re.compile(f"[{_FORMAT_CHARACTERS}{_BLANK_LETTERS}]+")


def shown_name(name: str) -> str:
    """A signer's name as it is shown to anyone else: the public signer list, letters and reports
    to targets, exports, the e-mail that reaches the address.

    Bidi controls would reorder the text around the name (an override turns what follows
    backwards) and zero-width characters would hide letters, split words or make a name look
    empty; all of them, and every other character that draws nothing, are dropped. The joiners
    are kept where they join something (emoji sequences, Indic conjuncts, the Persian ZWNJ, a
    Malayalam chillu after a virama) and dropped where they join nothing. Runs of whitespace
    become one space. The name as typed stays stored as it is; pages also isolate it in
    ``<bdi>`` so a right-to-left name does not reorder the text next to it.
    """
    if name.isascii():
        return " ".join(name.split())
    visible = _HIDDEN.sub("", name)
    if "\u200c" in visible or "\u200d" in visible:
        visible = "".join(
            char for index, char in enumerate(visible)
            if char not in _JOINERS or _joins_something(visible, index)
        )
    return " ".join(visible.split())


def _joins_something(text: str, index: int) -> bool:
    before = text[index - 1] if index else ""
    if not before or before.isspace() or before in _JOINERS:
        return False
    after = text[index + 1] if index + 1 < len(text) else ""
    if after and not after.isspace() and after not in _JOINERS:
        return True
    # At the end of a word a joiner matters after a virama only (a Malayalam chillu).
    return unicodedata.category(before) in ("Mn", "Mc")


def public_name(name: str) -> str:
    """"Ayşe Nur Yılmaz" -> "Ayşe Y."; a name written without spaces in a wide script
    (Chinese, Japanese, Korean) keeps only its first character, which there is the family name.
    Characters that draw nothing are gone first, so none of them can stand in for the initial."""
    parts = shown_name(name).split()
    if not parts:
        return ""
    if len(parts) >= 2:
        return f"{parts[0]} {parts[-1][0]}."
    single = parts[0]
    if len(single) > 1 and unicodedata.east_asian_width(single[0]) in ("W", "F"):
        return single[0] + "…"
    return single
