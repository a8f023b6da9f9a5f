"""The goal to show beside the count: asked of the plugins (``petitionkit_goal``)."""

from __future__ import annotations

from petitionkit.petitions.models import Petition


def current_goal(petition: Petition, count: int) -> int | None:
    """The first plugin's answer; the built-in (``default_goals``) answers last."""
    from petitionkit.plugins import call_request_hook

    goal = call_request_hook("petitionkit_goal", lambda: None, petition=petition, count=count)
    return int(goal) if goal is not None else None
