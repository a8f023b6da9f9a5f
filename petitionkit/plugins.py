"""The plugin manager: one per app, loaded in a fixed order, checked at startup.

Order: the built-in ``default_*`` modules of :data:`DEFAULT_PLUGINS`, then installed packages with
an entry point in group ``petitionkit``, then ``instance/plugins/*.py``. A name listed in
``PLUGINS_DISABLED`` is not loaded. Hook implementations run newest first, so a third party
overrides a built-in (which are all ``trylast``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import click
import pluggy
from flask import Flask, current_app
from flask.cli import with_appcontext

from petitionkit import __version__, hookspecs
from petitionkit.outbox.worker import JobHandler, PermanentJobError

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PermanentJobError",
    "PluginConfigError",
    "PluginInfo",
    "active_when_configured",
    "call_request_hook",
    "get_plugin_manager",
    "list_plugins",
    "plugin_settings",
]

log = logging.getLogger("petitionkit.plugins")

ENTRY_POINT_GROUP = "petitionkit"
EXTENSION_KEY = "petitionkit.plugins"

# Built-in behaviour, registered through the very hooks a third party implements.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "petitionkit.default_goals",
    "petitionkit.default_events",
    "petitionkit.default_exporters",
    "petitionkit.default_targets",
)

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
CONFIGURED_ATTRIBUTE = "_petitionkit_active_when_configured"


class PluginConfigError(RuntimeError):
    """A plugin's settings or loading are wrong; raised at startup or first use, never hidden."""


def build_plugin_manager(app: Flask) -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    disabled = app.config.get("PLUGINS_DISABLED") or []
    if isinstance(disabled, str) or not isinstance(disabled, list | tuple | set):
        raise PluginConfigError("PLUGINS_DISABLED must be a list of plugin names")
    for name in disabled:
        manager.set_blocked(str(name))
    for module_name in DEFAULT_PLUGINS:
        if not manager.is_blocked(module_name):
            manager.register(importlib.import_module(module_name), name=module_name)
    manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for path in sorted(Path(app.instance_path, "plugins").glob("*.py")):
        name = path.stem
        if manager.is_blocked(name) or name.startswith("_"):
            continue
        manager.register(_load_instance_plugin(path), name=name)
    # A hook implementation whose name matches no spec is a typo: refuse to start.
    manager.check_pending()
    return manager


def _load_instance_plugin(path: Path) -> ModuleType:
    # A fresh module per app, kept out of sys.modules, so two apps never share plugin state.
    spec = importlib.util.spec_from_file_location(f"petitionkit_instance_plugin_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise PluginConfigError(f"cannot load plugin file {path.name}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def init_app(app: Flask) -> None:
    """Create the app's manager and apply what the registration hooks return."""
    manager = build_plugin_manager(app)
    app.extensions[EXTENSION_KEY] = manager
    hook = manager.hook

    for blueprints in hook.petitionkit_register_blueprints():
        for blueprint in blueprints:
            app.register_blueprint(blueprint)
    for commands in hook.petitionkit_register_commands():
        for command in commands:
            app.cli.add_command(command)
    app.cli.add_command(plugins_command)

    handlers: dict[str, JobHandler] = app.extensions.setdefault("petitionkit.job_handlers", {})
    for contributed in hook.petitionkit_job_handlers():
        for kind, handler in contributed.items():
            if kind in handlers:
                raise PluginConfigError(f"two handlers claim the outbox job kind {kind!r}")
            handlers[kind] = handler

    from petitionkit.plugin_forms import plugin_form_fields

    # A global, not a context processor: the form is an imported macro, which sees no context.
    app.jinja_env.globals["plugin_form_fields"] = plugin_form_fields


def get_plugin_manager(app: Flask | None = None) -> pluggy.PluginManager:
    target = app if app is not None else current_app
    manager: pluggy.PluginManager = target.extensions[EXTENSION_KEY]
    return manager


def raises_in_requests(app: Flask) -> bool:
    """Development and tests fail loudly; production logs and keeps the signer's work."""
    setting = app.config["PLUGINS_RAISE_ERRORS"]
    if setting is None:
        return bool(app.debug or app.testing)
    return bool(setting)


def call_request_hook(name: str, fallback: Callable[[], T], **kwargs: Any) -> T | Any:
    """Call a hook inside a request; in production a plugin error is logged, not shown.

    The log names the hook and the error class only: arguments and messages may carry a
    signer's address.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    caller = getattr(get_plugin_manager(app).hook, name)
    try:
        return caller(**kwargs)
    except Exception as error:
        if raises_in_requests(app):
            raise
        log.error("plugin hook failed hook=%s error=%s", name, type(error).__name__)
        return fallback()


def active_when_configured(plugin_name: str) -> Callable[[F], F]:
    """Mark an event hook implementation as wanted only while ``PLUGINS[plugin_name]`` is set.

    An installed but unconfigured CRM connector then costs nothing: no outbox job is queued for
    it at each confirmation. Put it under ``@hookimpl``::

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


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str | None
    source: str  # "built-in", "entry point" or "instance"
    hooks: tuple[str, ...]


def list_plugins(app: Flask | None = None) -> list[PluginInfo]:
    manager = get_plugin_manager(app)
    distributions = {id(plugin): dist for plugin, dist in manager.list_plugin_distinfo()}
    infos = []
    for name, plugin in manager.list_name_plugin():
        if plugin is None:
            continue
        hooks = tuple(sorted(caller.name for caller in manager.get_hookcallers(plugin) or []))
        version: str | None
        if name in DEFAULT_PLUGINS:
            source, version = "built-in", __version__
        elif id(plugin) in distributions:
            source, version = "entry point", str(distributions[id(plugin)].version)
        else:
            source, version = "instance", getattr(plugin, "__version__", None)
        infos.append(PluginInfo(name, version, source, hooks))
    return sorted(infos, key=lambda info: (info.source != "built-in", info.name))


@click.command("plugins")
@click.option("--all", "show_all", is_flag=True, help="Include the built-in plugins.")
@with_appcontext
def plugins_command(show_all: bool) -> None:
    """List plugins, their versions and the hooks each implements."""
    shown = [info for info in list_plugins() if show_all or info.source != "built-in"]
    if not shown:
        click.echo("no plugins installed (--all shows the built-in ones)")
    for info in shown:
        click.echo(f"{info.name}\t{info.version or '-'}\t{info.source}\t{', '.join(info.hooks)}")
