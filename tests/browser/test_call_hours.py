"""The call step in real Chromium: where JavaScript runs, the office's hours are shown again in
the caller's own time zone, next to the office's own words and zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from petitionkit_calls import read_call

from .conftest import Engine, axe_violations

OFFICE = "Asia/Shanghai"
TARGET = {"name": "Zhong Mingyuan", "title": "Bureau chief", "phone": "+99 555 0188 4200",
          "hours": "Mon–Fri 09:00–12:00, 14:00–17:00", "timezone": OFFICE, "languages": []}


def call_petition(engine: Engine) -> str:
    return engine.add_petition(
        slug="call-the-bureau", title="Call the bureau", targets=[TARGET],
        sections={"call": read_call({"script": "Hello, I am calling about **Lu Yunfei**."})},
        report_actions=[{"key": "called", "label": {"en": "I called"},
                         "outcomes": ["reached", "voicemail"]}],
    )


def in_zone(zone: str, day: date, start: int, end: int) -> tuple[str, date]:
    """The office's "start:00–end:00" on ``day``, read on a clock in ``zone``, and the day there."""
    office = ZoneInfo(OFFICE)
    begins = datetime(day.year, day.month, day.day, start, tzinfo=office).astimezone(ZoneInfo(zone))
    ends = datetime(day.year, day.month, day.day, end, tzinfo=office).astimezone(ZoneInfo(zone))
    return f"{begins:%H:%M}\u2060–\u2060{ends:%H:%M}", begins.date()


@pytest.mark.parametrize("zone", ["Europe/Brussels", "America/Los_Angeles"])
def test_the_hours_are_shown_in_the_caller_s_time_zone(chromium: Any, engine: Engine,
                                                      zone: str) -> None:
    slug = call_petition(engine)
    context = chromium.new_context(timezone_id=zone, locale="en-GB")
    page = context.new_page()
    page.goto(f"{engine.url}/p/{slug}")
    yours = page.wait_for_selector(".call-hours-yours")
    today_there = datetime.now(UTC).astimezone(ZoneInfo(OFFICE)).date()
    spans = []
    for start, end in ((9, 12), (14, 17)):
        text, day = in_zone(zone, today_there, start, end)
        spans.append(text if day == today_there else f"{text} the day before")
    assert yours.inner_text() == f"Your time: {spans[0]} and {spans[1]}."
    hours = page.inner_text(".call-hours")
    assert hours.startswith("Answers the phone: Mon–Fri 09:00–12:00, 14:00–17:00, "
                            "Asia/Shanghai time. It is "), "the office's own words stay first"
    if zone == "America/Los_Angeles":
        assert "the day before" in yours.inner_text(), "Shanghai's morning is the evening before"
    assert axe_violations(page) == []
    context.close()


def test_a_caller_in_the_office_s_zone_or_without_javascript_sees_the_page_as_served(
    chromium: Any, engine: Engine
) -> None:
    slug = call_petition(engine)
    for options in ({"timezone_id": OFFICE}, {"timezone_id": "Europe/Brussels",
                                              "java_script_enabled": False}):
        context = chromium.new_context(**options)
        page = context.new_page()
        page.goto(f"{engine.url}/p/{slug}")
        page.wait_for_load_state("load")
        assert page.locator(".call-hours").count() == 1
        assert page.locator(".call-hours-yours").count() == 0, options
        context.close()


def test_the_expected_hours_are_read_on_the_office_s_day() -> None:
    day = date(2027, 1, 15)
    assert in_zone("Europe/Brussels", day, 9, 12) == ("02:00\u2060–\u206005:00", day)
    assert in_zone("America/Los_Angeles", day, 9, 12) == (
        "17:00\u2060–\u206020:00", day - timedelta(days=1))
