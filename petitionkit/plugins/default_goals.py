"""Built-in goals: an escalating ladder where the petition asks for one, else its fixed goal.

In the petition file, ``goal: 1000`` is a fixed goal; ``goal_ladder: [1000, 5000, 10000]`` shows
the next milestone above the count (the last one stays once passed); ``goal_ladder: auto`` climbs
1,000 → 2,500 → 5,000 → 10,000 → 25,000 … for as long as people sign.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count as counting

from petitionkit.petitions.models import Petition
from petitionkit.plugins.specs import hookimpl

AUTO_LADDER_START = 1000
_AUTO_STEPS = (1, 2.5, 5)


def auto_ladder() -> Iterator[int]:
    """1,000, 2,500, 5,000, 10,000, 25,000 …: round numbers that feel reachable."""
    for exponent in counting():
        for step in _AUTO_STEPS:
            yield int(AUTO_LADDER_START * step * 10**exponent)


def next_milestone(ladder: object, count: int) -> int:
    if ladder == "auto":
        return next(milestone for milestone in auto_ladder() if milestone > count)
    if not isinstance(ladder, list) or not all(
        isinstance(step, int) and not isinstance(step, bool) and step > 0 for step in ladder
    ):
        raise ValueError("goal_ladder must be 'auto' or a list of positive whole numbers")
    steps = sorted(ladder)
    return next((milestone for milestone in steps if milestone > count), steps[-1])


@hookimpl(trylast=True)
def petitionkit_goal(petition: Petition, count: int) -> int | None:
    ladder = (petition.goal_settings or {}).get("ladder")
    if ladder:
        return next_milestone(ladder, count)
    return petition.goal
