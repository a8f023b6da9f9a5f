"""The steps of a campaign page after signing, in the order the petition file gives.

The engine's own steps (the letter from the signer's mail program, the report of actions taken,
sharing) and the plugins' (``petitionkit_action_steps``: a call, a story …) are ordered by one
function, :func:`ordered_steps`, which every page showing steps uses: the hosted page, the
pages after signing and confirming, and the widget's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from flask import render_template
from markupsafe import Markup

from petitionkit.petitions.loader import LETTER_STEP, REPORT_STEP, SHARE_STEP, SIGN_STEP
from petitionkit.petitions.models import Petition
from petitionkit.plugins import calls

# The engine's steps and the partial each renders; a partial with nothing to offer (no
# address to write to, no action to report) renders empty and is left out.
_CORE_TEMPLATES = {
    LETTER_STEP: "targets/_write.html",
    REPORT_STEP: "actions/_report.html",
    SHARE_STEP: "signatures/_share.html",
}
# Where the plugins' steps go when a petition does not order its steps (the order before
# ``steps:`` existed).
PLUGIN_STEPS = "*"
DEFAULT_ORDER = (LETTER_STEP, PLUGIN_STEPS, REPORT_STEP, SHARE_STEP)


def step_order(petition: Petition) -> Sequence[str]:
    """The petition's ``steps:`` list, or the default order."""
    listed = (petition.sections or {}).get("steps")
    return list(listed) if listed else DEFAULT_ORDER


def ordered_steps(
    petition: Petition, embed: bool, report_token: str | None, leave_out: Collection[str] = ()
) -> list[Markup]:
    """The sections of the steps after signing, in the petition's order; ``leave_out`` names
    steps not to show again (the report step on the page that thanks for a report)."""
    plugin_steps = calls.action_steps(petition, embed, report_token)

    order = step_order(petition)
    sections: list[Markup] = []
    for name in order:
        if name == SIGN_STEP or name in leave_out:
            continue
        if name == PLUGIN_STEPS:
            sections.extend(html for _name, html in plugin_steps)
        elif name in _CORE_TEMPLATES:
            sections.append(Markup(render_template(
                _CORE_TEMPLATES[name], petition=petition, embed=embed, report_token=report_token
            )))
        else:
            sections.extend(html for step, html in plugin_steps if step == name)
    if PLUGIN_STEPS not in order:
        # Steps a plugin leaves unnamed cannot be listed: they follow the listed ones.
        sections.extend(html for step, html in plugin_steps if step is None)
    return [section for section in sections if section.strip()]
