"""Actions other than signing: a call to an official, a letter in the supporter's own words, an
action a supporter reports, signatures gathered on paper. Each is announced to plugins
(``petitionkit_action_taken``) through ``plugins.events.Lifecycle.action_taken``.

An action carries no personal data: which signature it belongs to, if any, and short words
chosen from lists, never free text; the plugin that records actions keeps the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_WORD = re.compile(r"[a-z][a-z0-9_.-]{0,39}")
# The key of a reported action (``report_actions:``) and of its outcomes.
ACTION_KEY = re.compile(r"[a-z][a-z0-9_-]{0,39}")
MAX_REPORT_ACTIONS = 20
MAX_OUTCOMES = 10


@dataclass(frozen=True)
class Action:
    """One action, or ``count`` of them reported together (paper signatures, a total)."""

    kind: str  # "call", "letter", "report", "paper", …: a lower-case word
    petition_id: int
    taken_at: datetime
    signature_id: int | None = None  # the supporter's signature, when there is one
    target: str | None = None  # the ``Target.key`` it was addressed to
    outcome: str | None = None  # a word from the action's list ("answered", "voicemail", …)
    count: int = 1
    report: str | None = None  # kind "report": the key of the reported action ("called", …)

    def __post_init__(self) -> None:
        for name in ("kind", "outcome", "report"):
            value = getattr(self, name)
            if value is not None and not _WORD.fullmatch(value):
                raise ValueError(f"an action's {name} is a lower-case word, not {value!r}")
        if self.count < 1:
            raise ValueError("an action's count is a positive whole number")
        if self.taken_at.tzinfo is None:
            raise ValueError("an action's taken_at needs a time zone")

    def to_payload(self) -> dict[str, Any]:
        """The action as an outbox job carries it (JSON)."""
        return {
            "kind": self.kind, "petition_id": self.petition_id,
            "taken_at": self.taken_at.isoformat(), "signature_id": self.signature_id,
            "target": self.target, "outcome": self.outcome, "count": self.count,
            "report": self.report,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Action:
        return cls(**{**payload, "taken_at": datetime.fromisoformat(payload["taken_at"])})
