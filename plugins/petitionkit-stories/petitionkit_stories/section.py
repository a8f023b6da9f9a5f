"""The ``stories:`` section of a petition file: the prompt, the optional fields, contact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECTION = "stories"
SECTION_KEYS = ("prompt", "fields", "contact")
PROMPT_MAX = 2000
# What a story may carry besides its text: a name or pseudonym, a country.
OPTIONAL_FIELDS = ("name", "country")
CONTACT_CHOICES = ("allowed", "never")


def read_stories(value: Any) -> dict[str, Any]:
    """``prompt`` (required), ``fields`` (a subset of name and country), ``contact``."""
    if not isinstance(value, Mapping) or set(value) - set(SECTION_KEYS):
        raise ValueError("stories is a mapping of prompt, fields and contact")
    prompt = value.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("stories.prompt is the question the story form asks; it is required")
    if len(prompt) > PROMPT_MAX:
        raise ValueError(f"stories.prompt must be at most {PROMPT_MAX} characters")
    fields = value.get("fields", [])
    if (not isinstance(fields, list) or not all(isinstance(item, str) for item in fields)
            or set(fields) - set(OPTIONAL_FIELDS) or len(set(fields)) != len(fields)):
        raise ValueError(
            f"stories.fields must be a list of {' and '.join(OPTIONAL_FIELDS)}, each once"
        )
    contact = value.get("contact", "allowed")
    if contact not in CONTACT_CHOICES:
        raise ValueError(f"stories.contact must be {' or '.join(CONTACT_CHOICES)}")
    return {"prompt": prompt.strip(), "fields": [name for name in OPTIONAL_FIELDS
                                                 if name in fields], "contact": contact}


def stories_section(sections: Mapping[str, Any] | None) -> dict[str, Any] | None:
    section = (sections or {}).get(SECTION)
    return section if isinstance(section, dict) else None


PLUGIN_NAME = "petitionkit-stories"
# The stories' own outbox job: a notice to the organisers, without the story. An "email." kind,
# so the outbox gives it one Message-ID for all its attempts and waits out a mail server that is
# down; jobs queued under the earlier name are still handled.
NOTICE_JOB = "email.stories.notice"
EARLIER_NOTICE_JOB = "stories.notice"
