"""The goal to show beside the count."""

from __future__ import annotations

from petitionkit.petitions.models import Petition


def current_goal(petition: Petition, count: int) -> int | None:
    """The next milestone of the ladder above ``count``, else the fixed goal, else None."""
    ladder = petition.goal_settings.get("ladder") if petition.goal_settings else None
    if ladder:
        for milestone in sorted(int(step) for step in ladder):
            if milestone > count:
                return milestone
        return int(max(ladder))
    return petition.goal
