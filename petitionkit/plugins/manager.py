"""The plugin manager: one per app, loaded in a fixed order, checked at startup.

Order: the built-in ``default_*`` modules of :data:`DEFAULT_PLUGINS`, then installed packages with
an entry point in group ``petitionkit``, then ``instance/plugins/*.py``. A name listed in
``PLUGINS_DISABLED`` is not loaded. Hook implementations run newest first, so a third party
overrides a built-in (which are all ``trylast``).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import click
import pluggy
from flask import Flask
from flask.cli import with_appcontext

from petitionkit import __version__
from petitionkit.outbox.worker import JOB_HANDLERS
from petitionkit.plugins import calls, specs
from petitionkit.plugins.calls import MIGRATION_FOLDERS
from petitionkit.plugins.errors import PluginConfigError
from petitionkit.privacy.retention import REMOVAL_LISTENERS

ENTRY_POINT_GROUP = "petitionkit"

# Built-in behaviour, registered through the very hooks a third party implements.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "petitionkit.plugins.default_goals",
    "petitionkit.plugins.default_jobs",
    "petitionkit.plugins.default_mail",
    "petitionkit.plugins.default_exporters",
    "petitionkit.plugins.default_targets",
)
# Built-ins the engine cannot work without: jobs already in the outbox need their handlers, and
# targets need an answer. Their behaviour is replaced by implementing the hooks (built-ins
# answer last), not by disabling them.
REQUIRED_PLUGINS: frozenset[str] = frozenset({
    "petitionkit.plugins.default_jobs",
    "petitionkit.plugins.default_mail",
    "petitionkit.plugins.default_targets",
})


def build_plugin_manager(app: Flask) -> pluggy.PluginManager:
    manager = pluggy.PluginManager(specs.PROJECT)
    manager.add_hookspecs(specs)
    disabled = app.config.get("PLUGINS_DISABLED") or []
    if isinstance(disabled, str) or not isinstance(disabled, list | tuple | set):
        raise PluginConfigError("PLUGINS_DISABLED must be a list of plugin names")
    for name in disabled:
        if str(name) in REQUIRED_PLUGINS:
            raise PluginConfigError(
                f"PLUGINS_DISABLED lists {name}, which the engine cannot work without. To change "
                "what it does, implement the same hooks in a plugin of your own: built-ins "
                "answer last, so yours is asked first."
            )
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
    app.extensions[calls.EXTENSION_KEY] = manager
    for blueprint in calls.blueprints(manager):
        app.register_blueprint(blueprint)
    for command in calls.commands(manager):
        app.cli.add_command(command)
    app.cli.add_command(plugins_command)
    JOB_HANDLERS.put(app, calls.job_handlers(manager))
    MIGRATION_FOLDERS.put(app, calls.migration_folders(manager))
    REMOVAL_LISTENERS.put(app, [calls.personal_data_removed])
    # Asked once here so that two plugins claiming one key of the petition file stop the start.
    calls.petition_sections(app)
    calls.step_names(app)
    # A global, not a context processor: the form is an imported macro, which sees no context.
    app.jinja_env.globals["plugin_form_fields"] = calls.form_fields


@dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str | None
    source: str  # "built-in", "entry point" or "instance"
    hooks: tuple[str, ...]


def list_plugins(app: Flask | None = None) -> list[PluginInfo]:
    manager = calls.manager_of(app)
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
