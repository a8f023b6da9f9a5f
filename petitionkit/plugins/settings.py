"""A plugin's own settings (``PLUGINS[name]``) and whether an event hook is wanted now."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Flask, current_app

from petitionkit.plugins.errors import PluginConfigError

F = TypeVar("F", bound=Callable[..., Any])
CONFIGURED_ATTRIBUTE = "_petitionkit_active_when_configured"


def plugin_settings(plugin_name: str, app: Flask | None = None) -> dict[str, Any]:
    """The operator's settings for one plugin: ``PLUGINS[plugin_name]``, never ``None``.

    ``PLUGINS`` comes from ``instance/config.py`` or the ``PETITIONKIT_PLUGINS`` environment
    variable (JSON). A value written ``{"$env": "NAME"}`` is read from the environment variable
    NAME, so secrets stay out of files; a missing variable is an error, not an empty secret.
    """
    config = (app if app is not None else current_app).config
    everything = config.get("PLUGINS") or {}
    if not isinstance(everything, Mapping):
        raise PluginConfigError("PLUGINS must map plugin names to their settings")
    settings = everything.get(plugin_name) or {}
    if not isinstance(settings, Mapping):
        raise PluginConfigError(f"PLUGINS[{plugin_name!r}] must be a mapping of settings")
    resolved = _resolve_environment(settings, f"PLUGINS[{plugin_name!r}]")
    assert isinstance(resolved, dict)
    return resolved


def _resolve_environment(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        if set(value) == {"$env"}:
            variable = str(value["$env"])
            if variable not in os.environ:
                raise PluginConfigError(
                    f"{where} reads the environment variable {variable}, which is not set"
                )
            return os.environ[variable]
        return {key: _resolve_environment(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_environment(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def active_when_configured(plugin_name: str) -> Callable[[F], F]:
    """Mark an event hook implementation as wanted only while ``PLUGINS[plugin_name]`` is set.

    An installed but unconfigured CRM connector then costs nothing: no outbox job is queued for
    it at each event. Put it under ``@hookimpl``::

        @hookimpl
        @active_when_configured("petitionkit-webhook")
        def petitionkit_signature_confirmed(petition, signature): ...
    """

    def mark(function: F) -> F:
        setattr(function, CONFIGURED_ATTRIBUTE, plugin_name)
        return function

    return mark


def is_active(implementation: Callable[..., Any], app: Flask | None = None) -> bool:
    plugin_name = getattr(implementation, CONFIGURED_ATTRIBUTE, None)
    return plugin_name is None or bool(plugin_settings(plugin_name, app))
