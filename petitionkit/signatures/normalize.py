"""One address, one signature: the canonical form of an e-mail address and its blind index."""

from __future__ import annotations

import hashlib
import hmac
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
