"""One typed function per hook: the only way domain code reaches the plugins.

Each function holds its hook's calling rules, so no caller has to know them: whether the first
answer wins or all are joined, that a built-in always answers last (and so an answer must come),
how lists are flattened and duplicates refused, and what a failure does where the hook runs:

- **request** hooks raise under DEBUG and TESTING (and with ``PLUGINS_RAISE_ERRORS``); otherwise
  the failure is logged by hook name and error class only, and the signer's work goes on with
  the answer a plugin-less engine would give;
- **worker** hooks raise, and the outbox retries the job with backoff;
- **startup** hooks raise, and the app does not start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import click
import pluggy
from flask import Blueprint, Flask, current_app, g
from markupsafe import Markup

from petitionkit.actions import Action
from petitionkit.export import Exporter
from petitionkit.outbox.worker import JobHandler
from petitionkit.petitions.loader import CORE_STEPS, KNOWN_KEYS, SectionReader, StepCheck
from petitionkit.petitions.models import Petition
from petitionkit.plugins.errors import PluginConfigError
from petitionkit.plugins.fields import FormField
from petitionkit.plugins.settings import is_active
from petitionkit.plugins.steps import ActionStep
from petitionkit.registry import Slot
from petitionkit.signatures.models import Signature
from petitionkit.signatures.services import SignatureInput
from petitionkit.targets import Delivery, Target

log = logging.getLogger("petitionkit.plugins")

EXTENSION_KEY = "petitionkit.plugins"
T = TypeVar("T")


def manager_of(app: Flask | None = None) -> pluggy.PluginManager:
    """The app's plugin manager (one per app). For the plugin layer and tests only."""
    target = app if app is not None else current_app
    manager: pluggy.PluginManager = target.extensions[EXTENSION_KEY]
    return manager


def _current_app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def raises_in_requests(app: Flask) -> bool:
    """Development and tests fail loudly; production logs and keeps the signer's work."""
    setting = app.config["PLUGINS_RAISE_ERRORS"]
    if setting is None:
        return bool(app.debug or app.testing)
    return bool(setting)


def _in_request(name: str, fallback: Callable[[], T], call: Callable[[], T]) -> T:
    app = _current_app()
    try:
        return call()
    except Exception as error:
        if raises_in_requests(app):
            raise
        # Arguments and messages may carry a signer's address: the hook and the class only.
        log.error("plugin hook failed hook=%s error=%s", name, type(error).__name__)
        return fallback()


# Startup: what the registration hooks give, applied by the manager.

def blueprints(manager: pluggy.PluginManager) -> list[Blueprint]:
    """``petitionkit_register_blueprints``: every plugin's blueprints, joined."""
    return [blueprint for answer in manager.hook.petitionkit_register_blueprints()
            for blueprint in answer]


def commands(manager: pluggy.PluginManager) -> list[click.Command]:
    """``petitionkit_register_commands``: every plugin's commands, joined."""
    return [command for answer in manager.hook.petitionkit_register_commands()
            for command in answer]


def job_handlers(manager: pluggy.PluginManager) -> dict[str, JobHandler]:
    """``petitionkit_job_handlers``: one handler per job kind; a kind claimed twice is refused."""
    handlers: dict[str, JobHandler] = {}
    for contributed in manager.hook.petitionkit_job_handlers():
        for kind, handler in contributed.items():
            if kind in handlers:
                raise PluginConfigError(f"two handlers claim the outbox job kind {kind!r}")
            handlers[kind] = handler
    return handlers


def migration_folders(manager: pluggy.PluginManager) -> list[str]:
    """``petitionkit_migrations``: every plugin's folders of revision scripts, joined; a folder
    that does not exist is refused."""
    folders = [str(folder) for answer in manager.hook.petitionkit_migrations()
               for folder in answer]
    for folder in folders:
        if not os.path.isdir(folder):
            raise PluginConfigError(f"petitionkit_migrations: {folder} is not a folder")
    return folders


def petition_sections(app: Flask | None = None) -> dict[str, SectionReader]:
    """``petitionkit_petition_sections``: every plugin's readers by key; a key the core reads,
    or one claimed twice, is refused."""
    readers: dict[str, SectionReader] = {}
    for contributed in manager_of(app).hook.petitionkit_petition_sections():
        for key, reader in contributed.items():
            if key in KNOWN_KEYS or key in readers:
                raise PluginConfigError(f"two readers claim the petition file key {key!r}")
            readers[key] = reader
    return readers


# Requests.

def step_names(app: Flask | None = None) -> dict[str, StepCheck]:
    """``petitionkit_step_names``: every plugin's step names with their checks; a name of the
    engine's own steps, or one offered twice, is refused."""
    checks: dict[str, StepCheck] = {}
    for contributed in manager_of(app).hook.petitionkit_step_names():
        for name, check in contributed.items():
            if name in CORE_STEPS or name in checks:
                raise PluginConfigError(f"two steps are named {name!r}")
            # The same rule as ActionStep's, so a name a file may list is one a step can carry.
            ActionStep(name, Markup())
            checks[name] = check
    return checks


def action_steps(
    petition: Petition, embed: bool, report_token: str | None
) -> list[tuple[str | None, Markup]]:
    """``petitionkit_action_steps``: every plugin's steps, joined, as (name, section), the name
    ``None`` for a plugin that returns plain Markup; a failing plugin's are left out in
    production."""
    answers: list[list[ActionStep | Markup]] = _in_request(
        "petitionkit_action_steps", list,
        lambda: manager_of().hook.petitionkit_action_steps(
            petition=petition, embed=embed, report_token=report_token
        ),
    )
    return [(step.name, Markup(step.html)) if isinstance(step, ActionStep)
            else (None, Markup(step)) for answer in answers for step in answer]


def workspace_counts(petitions: Sequence[Petition]) -> dict[str, Mapping[int, int]]:
    """``petitionkit_workspace_counts``: every plugin's columns by label, in plugin order; a
    failing plugin's are left out in production."""
    answers: list[Mapping[str, Mapping[int, int]]] = _in_request(
        "petitionkit_workspace_counts", list,
        lambda: manager_of().hook.petitionkit_workspace_counts(petitions=list(petitions)),
    )
    return {str(label): counts for answer in answers for label, counts in answer.items()}


def goal(petition: Petition, count: int) -> int | None:
    """``petitionkit_goal``: the first answer; the built-in answers last (maybe ``None``)."""
    answer = _in_request(
        "petitionkit_goal", lambda: None,
        lambda: manager_of().hook.petitionkit_goal(petition=petition, count=count),
    )
    return int(answer) if answer is not None else None


def form_fields(petition: Petition) -> list[FormField]:
    """``petitionkit_form_fields``: every plugin's fields, asked once per request and petition;
    two fields of one name are refused."""
    asked: dict[int, list[FormField]] = g.setdefault("plugin_form_fields", {})
    if petition.id not in asked:
        answers: list[list[FormField]] = _in_request(
            "petitionkit_form_fields", list,
            lambda: manager_of().hook.petitionkit_form_fields(petition=petition),
        )
        fields = [field for answer in answers for field in answer]
        names = [field.name for field in fields]
        if len(names) != len(set(names)):
            raise PluginConfigError(f"two plugins add a form field of the same name: {names}")
        asked[petition.id] = fields
    return asked[petition.id]


def validation_errors(petition: Petition, signature: SignatureInput) -> dict[str, list[str]]:
    """``petitionkit_validate_signature``: every plugin's refusals, merged by field."""
    answers: list[Mapping[str, str] | None] = _in_request(
        "petitionkit_validate_signature", list,
        lambda: manager_of().hook.petitionkit_validate_signature(
            petition=petition, signature=signature
        ),
    )
    errors: dict[str, list[str]] = {}
    for answer in answers:
        for field_name, message in (answer or {}).items():
            errors.setdefault(field_name, []).append(str(message))
    return errors


# Workers and the CLI.

# The events that reach each plugin through an outbox job of its own.
OUTBOX_EVENTS = (
    "petitionkit_signature_confirmed", "petitionkit_signature_withdrawn",
    "petitionkit_petition_changed", "petitionkit_action_taken",
    "petitionkit_organization_approved",
)


def event_plugin_names(app: Flask, hook_name: str) -> list[str]:
    """Plugins implementing the event ``hook_name`` that want events now (see
    ``active_when_configured``): each gets a job of its own per event."""
    if hook_name not in OUTBOX_EVENTS:
        raise ValueError(f"{hook_name} is not an event run in the outbox")
    implementations = getattr(manager_of(app).hook, hook_name).get_hookimpls()
    return sorted({implementation.plugin_name for implementation in implementations
                   if is_active(implementation.function, app)})


def _one_plugin(app: Flask, hook_name: str, plugin_name: str) -> Callable[..., object]:
    """The hook of one plugin only, so a failing destination is retried without repeating the
    others. A plugin no longer loaded fails the job."""
    manager = manager_of(app)
    plugin = manager.get_plugin(plugin_name)
    if plugin is None:
        raise LookupError(f"plugin {plugin_name!r} is not loaded (uninstalled or disabled)")
    others = [other for other in manager.get_plugins() if other is not plugin]
    caller: Callable[..., object] = manager.subset_hook_caller(hook_name, others)
    return caller


def signature_confirmed(
    app: Flask, plugin_name: str, petition: Petition, signature: Signature
) -> None:
    """``petitionkit_signature_confirmed`` of one plugin; a failure retries the job."""
    _one_plugin(app, "petitionkit_signature_confirmed", plugin_name)(
        petition=petition, signature=signature
    )


def signature_withdrawn(
    app: Flask, plugin_name: str, petition: Petition, signature: Signature, reason: str
) -> None:
    """``petitionkit_signature_withdrawn`` of one plugin; a failure retries the job."""
    _one_plugin(app, "petitionkit_signature_withdrawn", plugin_name)(
        petition=petition, signature=signature, reason=reason
    )


def organization_approved(
    app: Flask, plugin_name: str, petition: Petition, signature: Signature
) -> None:
    """``petitionkit_organization_approved`` of one plugin; a failure retries the job."""
    _one_plugin(app, "petitionkit_organization_approved", plugin_name)(
        petition=petition, signature=signature
    )


def petition_changed(
    app: Flask, plugin_name: str, petition: Petition, created: bool, changed: list[str]
) -> None:
    """``petitionkit_petition_changed`` of one plugin; a failure retries the job."""
    _one_plugin(app, "petitionkit_petition_changed", plugin_name)(
        petition=petition, created=created, changed=changed
    )


def action_taken(app: Flask, plugin_name: str, petition: Petition, action: Action) -> None:
    """``petitionkit_action_taken`` of one plugin; a failure retries the job."""
    _one_plugin(app, "petitionkit_action_taken", plugin_name)(petition=petition, action=action)


def personal_data_removed(petition: Petition) -> None:
    """Every plugin removes what it keeps about the signers of ``petition`` (retention)."""
    manager_of().hook.petitionkit_personal_data_removed(petition=petition)


def goal_reached(app: Flask, petition: Petition, reached: int, count: int) -> None:
    """``petitionkit_goal_reached``: every plugin; a failure retries the job."""
    manager_of(app).hook.petitionkit_goal_reached(petition=petition, goal=reached, count=count)


def targets(app: Flask, petition: Petition, signature: Signature) -> list[Target]:
    """``petitionkit_targets``: the first answer; the built-in answers last with the petition
    file's list, so an answer always comes."""
    answer = manager_of(app).hook.petitionkit_targets(petition=petition, signature=signature)
    if answer is None:
        raise PluginConfigError("petitionkit_targets: no plugin answered (built-in missing)")
    return list(answer)


def deliver(
    app: Flask, petition: Petition, target: Target, signatures: list[Signature]
) -> Delivery:
    """``petitionkit_deliver``: the first answer; the built-in answers last."""
    answer: Delivery | None = manager_of(app).hook.petitionkit_deliver(
        petition=petition, target=target, signatures=signatures
    )
    if answer is None:
        raise PluginConfigError("petitionkit_deliver: no plugin answered (built-in missing)")
    return answer


def exporters(app: Flask | None = None) -> dict[str, Exporter]:
    """``petitionkit_exporters``: every plugin's formats by name; a name offered twice is
    refused."""
    found: dict[str, Exporter] = {}
    for contributed in manager_of(app).hook.petitionkit_exporters():
        for exporter in contributed:
            if exporter.name in found:
                raise PluginConfigError(f"two plugins offer the export format {exporter.name!r}")
            found[exporter.name] = exporter
    return found


# What the app holds of this module's, read with .of() (see petitionkit/registry.py).
MIGRATION_FOLDERS: Slot[list[str]] = Slot("petitionkit.migration_folders", list)
