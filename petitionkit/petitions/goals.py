"""The goal to show beside the count: asked of the plugins (``petitionkit_goal``)."""

from __future__ import annotations

from petitionkit.petitions.models import Petition
from petitionkit.plugins import calls


def current_goal(petition: Petition, count: int) -> int | None:
    """The first plugin's answer; the built-in (``default_goals``) answers last."""
    return calls.goal(petition, count)
