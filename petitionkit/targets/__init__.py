"""Signing targets: the decision-makers a signature is addressed to, and their delivery."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    """A person or office a petition is addressed to."""

    name: str
    title: str = ""
    organization: str = ""
    email: str | None = None
    address: str = ""
    phone: str = ""
    salutation: str = ""  # "Your Excellency", "Dear Ambassador" …
    languages: tuple[str, ...] = ()
    hours: str = ""  # when the office answers the phone ("Mon–Fri 9:00–17:00"), in its own zone
    timezone: str = ""  # the IANA name of that zone ("Europe/Brussels")
    # Who this is within the petition; defaults to a hash of name, organisation and e-mail.
    key: str = field(default="")

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a target needs a name")
        if not self.key:
            digest = hashlib.sha256(
                f"{self.name}|{self.organization}|{self.email or ''}".lower().encode()
            ).hexdigest()[:16]
            object.__setattr__(self, "key", digest)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Target:
        if not values.get("name"):
            raise ValueError("a target needs a name")
        known = {name: values[name] for name in cls.__dataclass_fields__ if name in values}
        unknown = set(values) - set(known)
        if unknown:
            raise ValueError(f"unknown target fields: {', '.join(sorted(unknown))}")
        languages = known.get("languages", ())
        known["languages"] = (languages,) if isinstance(languages, str) else tuple(languages)
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["languages"] = list(self.languages)
        return values

    def display_name(self) -> str:
        return " ".join(part for part in (self.title, self.name) if part)


@dataclass(frozen=True)
class Delivery:
    """How a batch went out: ``channel`` ("email", "none", or a plugin's own) and a note."""

    channel: str
    note: str = ""
