"""petitionkit-calls: a call step after signing, built on public hooks only.

A target with a ``phone`` (and ``hours``, ``timezone``) and a petition file with a ``call:``
section give a step on the hosted page and in the widget: the number as a ``tel:`` link (the
caller's own phone dials; no telephony provider), the hours with the target's time zone, the
call script (Markdown, sanitised like the body), and "I called" with an optional outcome, which
reports the action ``called`` through the engine's reported-actions form. Where JavaScript runs,
a small script of the plugin's own adds the hours in the caller's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from petitionkit import hookimpl
from petitionkit.challenges.views import challenge_url
from petitionkit.petitions.markdown import render_markdown
from petitionkit.petitions.models import Petition
from petitionkit.plugins import ActionStep
from petitionkit.targets import Target

__version__ = "0.1.0"

SECTION = "call"
# The step's name in a petition's ``steps:`` list.
STEP = "call"
SECTION_KEYS = ("script", "targets")
SCRIPT_MAX = 5000
# The reported action "I called" records, and the outcomes it may carry.
CALLED = "called"
OUTCOMES = {
    "reached": _l("I spoke to someone"),
    "voicemail": _l("I left a voicemail"),
    "no-answer": _l("No one answered"),
}
# What a dialler needs of a number: a leading + and the digits.
_DIALLED = re.compile(r"[^0-9+]")
# A span of the office's hours as the petition file writes it: "09:00–12:00", "9:00-17:30".
_SPAN = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\s*[–—-]\s*([01]?\d|2[0-3]):([0-5]\d)\b")

# The script that shows the hours in the caller's own zone, served from the engine's origin
# (the pages' Content-Security-Policy allows scripts of 'self' only).
bp = Blueprint("petitionkit_calls", __name__, template_folder="templates",
               static_folder="static", static_url_path="/plugins/calls/static")


def read_call(value: Any) -> dict[str, Any]:
    """The ``call:`` section: ``script`` (Markdown) and optional ``targets`` (names)."""
    if not isinstance(value, Mapping) or set(value) - set(SECTION_KEYS):
        raise ValueError(f"call is a mapping of {' and '.join(SECTION_KEYS)}")
    script = value.get("script")
    if not isinstance(script, str) or not script.strip():
        raise ValueError("call.script is the call script, in Markdown; it is required")
    if len(script) > SCRIPT_MAX:
        raise ValueError(f"call.script must be at most {SCRIPT_MAX} characters")
    names = value.get("targets", [])
    if not isinstance(names, list) or not all(isinstance(name, str) and name for name in names):
        raise ValueError("call.targets must be a list of target names")
    return {"script": script, "script_html": render_markdown(script), "targets": names}


@dataclass(frozen=True)
class CallTarget:
    target: Target
    tel: str
    local_time: str  # the time there now, "14:05", when its zone is known
    local_date: date | None = None  # the day there now, when its zone is known
    # The spans of the hours on that day as instants ("2027-01-15T08:00:00Z/…"), for the
    # caller's browser to show in its own zone.
    spans: tuple[str, ...] = ()

    @property
    def zone(self) -> str:
        return self.target.timezone


def hour_spans(hours: str, day: date, zone: ZoneInfo) -> tuple[str, ...]:
    """Each "09:00–12:00" of ``hours``, on ``day`` in ``zone``, as "start/end" in UTC (ISO 8601);
    a span that ends past midnight ("22:00–02:00") ends the next day."""
    spans = []
    for match in _SPAN.finditer(hours):
        start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
        start = datetime.combine(day, time(start_hour, start_minute), zone)
        end = datetime.combine(day, time(end_hour, end_minute), zone)
        if end <= start:
            end = datetime.combine(day + timedelta(days=1), time(end_hour, end_minute), zone)
        spans.append("/".join(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                              for moment in (start, end)))
    return tuple(spans)


def tel_href(phone: str) -> str:
    return "tel:" + _DIALLED.sub("", phone)


def _phoned(targets: list[dict[str, Any]], section: Mapping[str, Any]) -> list[Target]:
    """The targets with a phone (named in ``call.targets``, if it names any)."""
    names = set(section.get("targets") or [])
    found = [Target.from_mapping(values) for values in targets]
    return [target for target in found
            if target.phone and (not names or target.name in names)]


def call_targets(petition: Petition, now: datetime | None = None) -> list[CallTarget]:
    """The targets to call: those with a phone (named in ``call.targets``, if it names any)."""
    section = (petition.sections or {}).get(SECTION) or {}
    moment = now or datetime.now(UTC)
    found = []
    for target in _phoned(petition.targets or [], section):
        if not target.timezone:
            found.append(CallTarget(target, tel_href(target.phone), ""))
            continue
        zone = ZoneInfo(target.timezone)
        there = moment.astimezone(zone)
        found.append(CallTarget(target, tel_href(target.phone), there.strftime("%H:%M"),
                                there.date(), hour_spans(target.hours, there.date(), zone)))
    return found


def called_outcomes(petition: Petition) -> list[tuple[str, str]] | None:
    """(word, label) of the outcomes "I called" may carry, or None when the petition does not
    ask about calls (no ``called`` in its ``report_actions``): then there is no button."""
    for action in petition.report_actions or []:
        if action["key"] == CALLED:
            return [(word, str(OUTCOMES[word])) for word in action.get("outcomes", [])
                    if word in OUTCOMES]
    return None


@hookimpl
def petitionkit_petition_sections() -> dict[str, Any]:
    return {SECTION: read_call}


def call_step_missing(values: Mapping[str, Any]) -> str | None:
    """What a petition naming the call step in ``steps:`` lacks, if anything."""
    section = (values.get("sections") or {}).get(SECTION)
    if section is None:
        return "needs a call: section with the call script"
    if not _phoned(values.get("targets") or [], section):
        return "needs a target with a phone number (named in call.targets, if it names any)"
    return None


@hookimpl
def petitionkit_step_names() -> dict[str, Any]:
    return {STEP: call_step_missing}


@hookimpl
def petitionkit_register_blueprints() -> list[Blueprint]:
    # Templates only: the step's form posts to the engine's own report route.
    return [bp]


@hookimpl
def petitionkit_action_steps(
    petition: Petition, embed: bool, report_token: str | None
) -> list[ActionStep]:
    section = (petition.sections or {}).get(SECTION)
    if section is None:
        return []
    targets = call_targets(petition)
    if not targets:
        return []
    html = render_template(
        "petitionkit_calls/step.html", petition=petition, targets=targets,
        script_html=Markup(section["script_html"]), outcomes=called_outcomes(petition),
        can_report=petition.is_open(), embed=embed, report_token=report_token,
        # "I called" without the signer's own link is an anonymous report: it asks for the
        # proof-of-work check while signing does, as the engine's report form does.
        challenge=None if report_token else challenge_url(petition),
    )
    return [ActionStep(STEP, Markup(html))]
