"""The count sentence and deadline, shared by the pages, the iframe and its live updates."""

from __future__ import annotations

from datetime import datetime

from flask_babel import format_date, format_decimal, format_percent, format_time, gettext, ngettext


def count_sentence(count: int, goal: int | None, offline: int = 0) -> str:
    """"1,234 have signed. Let's get to 2,000!" with the numbers written for the locale.

    ``count`` is the confirmed online count; with signatures gathered offline the sentence says
    both: "1,147 signed online + 80 on paper."
    """
    # A goal the count has reached is the last one (a ladder would have offered the next):
    # "Let's get to 4!" after 5 signatures would read as a mistake.
    reached = bool(goal) and count + offline >= (goal or 0)
    if offline:
        numbers = {"online": format_decimal(count), "offline": format_decimal(offline)}
        if reached:
            return gettext(
                "%(online)s signed online + %(offline)s on paper: the goal of %(goal)s is "
                "reached. Thank you!", goal=format_decimal(goal), **numbers,
            )
        if goal:
            return gettext(
                "%(online)s signed online + %(offline)s on paper. Let's get to %(goal)s!",
                goal=format_decimal(goal), **numbers,
            )
        return gettext("%(online)s signed online + %(offline)s on paper.", **numbers)
    if reached:
        return ngettext(
            "%(count)s has signed: the goal of %(goal)s is reached. Thank you!",
            "%(count)s have signed: the goal of %(goal)s is reached. Thank you!",
            count, count=format_decimal(count), goal=format_decimal(goal),
        )
    if goal:
        return ngettext(
            "%(count)s has signed. Let's get to %(goal)s!",
            "%(count)s have signed. Let's get to %(goal)s!",
            count, count=format_decimal(count), goal=format_decimal(goal),
        )
    return ngettext(
        "%(count)s has signed.", "%(count)s have signed.", count, count=format_decimal(count)
    )


def organizations_sentence(count: int, goal: int | None) -> str:
    """A joint letter whose goal counts organisations (``goal_counts: organizations``)."""
    if goal and count >= goal:
        return ngettext(
            "%(count)s organisation has signed: the goal of %(goal)s is reached. Thank you!",
            "%(count)s organisations have signed: the goal of %(goal)s is reached. Thank you!",
            count, count=format_decimal(count), goal=format_decimal(goal),
        )
    if goal:
        return ngettext(
            "%(count)s organisation has signed. Let's get to %(goal)s!",
            "%(count)s organisations have signed. Let's get to %(goal)s!",
            count, count=format_decimal(count), goal=format_decimal(goal),
        )
    return ngettext("%(count)s organisation has signed.", "%(count)s organisations have signed.",
                    count, count=format_decimal(count))


def progress_percent(count: int, goal: int | None) -> str:
    if not goal:
        return ""
    return format_percent(min(count, goal) / goal)


def deadline_sentence(closes_at: datetime) -> str:
    return gettext(
        "Open until %(date)s, %(time)s (UTC)",
        date=format_date(closes_at, "long"),
        time=format_time(closes_at, "short"),
    )
