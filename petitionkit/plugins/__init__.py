"""The plugin layer: hook specifications, the per-app manager, one typed call per hook, and the
built-in behaviour registered through the same hooks (the ``default_*`` modules).

What a plugin author imports is here::

    from petitionkit import hookimpl
    from petitionkit.plugins import ActionStep, FormField, PermanentJobError, plugin_settings

Domain code calls the functions of :mod:`petitionkit.plugins.calls`, never the manager.
"""

from __future__ import annotations

from petitionkit.outbox.worker import PermanentJobError
from petitionkit.plugins.errors import PluginConfigError
from petitionkit.plugins.fields import FormField
from petitionkit.plugins.settings import active_when_configured, plugin_settings
from petitionkit.plugins.specs import hookimpl
from petitionkit.plugins.steps import ActionStep

__all__ = [
    "ActionStep",
    "FormField",
    "PermanentJobError",
    "PluginConfigError",
    "active_when_configured",
    "hookimpl",
    "plugin_settings",
]
