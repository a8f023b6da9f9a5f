"""Named steps of a campaign page: what ``petitionkit_action_steps`` returns, so that a
petition's ``steps:`` list can put each one where the organisers want it."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from petitionkit.petitions.loader import CORE_STEPS, STEP_NAME
from petitionkit.plugins.errors import PluginConfigError


@dataclass(frozen=True)
class ActionStep:
    """One step after signing: ``name`` is the word a petition's ``steps:`` lists (the plugin
    offers it through ``petitionkit_step_names``), ``html`` the step's section."""

    name: str
    html: Markup

    def __post_init__(self) -> None:
        if not STEP_NAME.match(self.name) or self.name in CORE_STEPS:
            raise PluginConfigError(
                f"step {self.name!r}: a step's name is 1 to 40 lowercase letters, digits, - "
                f"and _ (a letter first), and none of the engine's own ({', '.join(CORE_STEPS)})"
            )
