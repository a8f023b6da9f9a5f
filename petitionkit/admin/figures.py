"""A petition's figures in the workspace (every role): confirmations per hour and per day as
charts drawn on the server, the confirmation rate, the sources, the milestones, the reported
actions and the outbox's health. Read from the hourly aggregate
(petitionkit/signatures/figures.py); benchmarks/figures.py times the page at a million
signatures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import format_percent, get_locale
from flask_login import current_user

from petitionkit.actions.services import reported_actions
from petitionkit.admin import access
from petitionkit.admin.roles import require_role
from petitionkit.admin.views import bp
from petitionkit.extensions import db
from petitionkit.outbox import services as outbox
from petitionkit.petitions.goals import current_goal
from petitionkit.signatures.figures import Bar, figures, milestones

CHART_WIDTH = 720
CHART_HEIGHT = 140
# A bar is never wider than a thirtieth of the chart: one day of a new campaign is a bar, not a
# block filling the box.
MIN_SLOTS = 30


@dataclass(frozen=True)
class Chart:
    """Bars scaled to the chart's box, with a label every ``label_every`` bars.

    The bars are drawn in a box that stretches to the page's width (it may be squeezed: bars do
    not mind); the labels are drawn apart, placed by percentages of the width, so that their
    letters keep their shape from a phone to a wide screen."""

    bars: list[Bar]
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT

    @property
    def top(self) -> int:
        return max((bar.value for bar in self.bars), default=0) or 1

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)

    @property
    def step(self) -> float:
        return self.width / max(len(self.bars), MIN_SLOTS)

    @property
    def label_every(self) -> int:
        return max(1, round(len(self.bars) / 12))

    def rects(self) -> list[dict[str, Any]]:
        rects = []
        for index, bar in enumerate(self.bars):
            height = round(bar.value / self.top * (self.height - 4), 1) if bar.value else 0
            rects.append({"x": round(index * self.step + 1, 1),
                          "w": round(max(self.step - 2, 1), 1),
                          "y": round(self.height - height, 1), "h": height, "bar": bar})
        return rects

    def labels(self) -> list[dict[str, Any]]:
        """Where each label starts, in percent of the width; every other one is ``minor``
        (left out on a phone, where twelve would run into each other)."""
        return [{"x": round(index * self.step / self.width * 100, 2), "text": bar.label,
                 "minor": (index // self.label_every) % 2 == 1}
                for index, bar in enumerate(self.bars) if index % self.label_every == 0]


@bp.route("/p/<slug>", methods=["GET"])
@require_role("viewer")
def figures_page(slug: str) -> Any:
    session = db.session()
    petition = access.petition_or_404(session, current_user, slug)
    numbers = figures(session, petition)
    actions = [(action.label, action.counted, action.anonymous) for action in
               reported_actions(session, petition, str(get_locale() or petition.locale))]
    return render_template(
        "admin/figures.html", petition=petition, numbers=numbers,
        hours=Chart(numbers.hours), days=Chart(numbers.days), actions=actions,
        milestones=milestones(petition), goal=current_goal(petition, petition.goal_count),
        rate=(None if numbers.confirmation_rate is None
              else format_percent(numbers.confirmation_rate)),
        health=outbox.stats(session),
    )
