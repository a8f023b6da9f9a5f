"""The hooks a plugin can implement, each with the same docstring shape.

Every spec says what it returns (and what ``None`` means), whether the first answer wins, what
each argument is, and where it runs: in a **request** (keep it fast, no network), in a **worker**
job (retried with backoff when it raises) or in the **CLI**. ``docs/plugins.md`` is the reference.
"""

# Specs have no bodies: pluggy reads their names, arguments and docstrings only.
# mypy: disable-error-code="empty-body"
from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint
    from markupsafe import Markup

    from petitionkit.actions import Action
    from petitionkit.export import Exporter
    from petitionkit.outbox.worker import JobHandler
    from petitionkit.petitions.loader import SectionReader, StepCheck
    from petitionkit.petitions.models import Petition
    from petitionkit.plugins.fields import FormField
    from petitionkit.plugins.steps import ActionStep
    from petitionkit.signatures.models import Signature
    from petitionkit.signatures.services import SignatureInput
    from petitionkit.targets import Delivery, Target

PROJECT = "petitionkit"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def petitionkit_goal(petition: Petition, count: int) -> int | None:
    """The goal to show beside ``count`` right now.

    Returns: a whole number of signatures, or ``None`` for "no opinion" (the next plugin is asked;
    the built-in answers last with the ladder or the fixed goal of the petition file, which may
    itself be ``None``: no goal is shown).
    First result wins.
    Arguments: ``petition`` the petition; ``count`` the total to measure against: confirmed
    signatures and those gathered offline (not always ``petition.total_count``: milestone checks
    ask about earlier totals).
    Runs: in requests (page, widget, JSON API, confirmation) and in the worker. Keep it pure.
    """


@hookspec
def petitionkit_goal_reached(petition: Petition, goal: int, count: int) -> None:
    """A goal was reached: called exactly once per petition and goal, however many workers run.

    Returns: nothing.
    All implementations are called.
    Arguments: ``petition``; ``goal`` the milestone that was reached; ``count`` the total (online
    and offline) whose confirmation or offline entry reached it.
    Runs: in a worker job, so it may talk to the outside world; raising retries the job.
    """


@hookspec
def petitionkit_exporters() -> list[Exporter]:
    """Formats for ``petitionkit export --format NAME``.

    Returns: a list of :class:`petitionkit.export.Exporter`; names must be unique.
    All implementations are called and their lists joined.
    Arguments: none.
    Runs: in the CLI.
    """


@hookspec
def petitionkit_signature_confirmed(petition: Petition, signature: Signature) -> None:
    """The real-time event: a signer confirmed.

    Returns: nothing.
    An organisation's signature (``signature.kind == "organization"``) is confirmed by its
    contact person and is public only once approved: see ``petitionkit_organization_approved``.
    Every implementing plugin gets a job of its own in the outbox (idempotency key per signature
    and plugin), so one failing destination is retried without repeating the others. Not called
    for a signature withdrawn before its job ran.
    Arguments: ``petition``; ``signature`` the confirmed signature (read-only).
    Runs: in a worker job; raising retries with backoff, ``PermanentJobError`` gives up at once
    (the job is listed by ``petitionkit outbox dead`` and can be replayed).
    """


@hookspec
def petitionkit_signature_withdrawn(petition: Petition, signature: Signature, reason: str) -> None:
    """A confirmed signature was withdrawn: take it back wherever ``signature_confirmed`` sent it.

    Returns: nothing.
    Every implementing plugin gets a job of its own in the outbox, as for
    ``petitionkit_signature_confirmed``. Called only for signatures that had been confirmed: a
    pending one never reached a plugin.
    Arguments: ``petition``; ``signature`` the withdrawn signature (read-only, status
    ``cancelled``); ``reason`` why: ``"signer"`` ("it wasn't me"), ``"operator"`` (an organiser
    invalidated it) or ``"erasure"`` (the signer asked for their data to be erased). After an
    erasure (``"signer"`` erases too) the personal data still opens, from a sealed copy the job
    carries until it is done: the stored signature holds none of it any more.
    Runs: in a worker job; raising retries with backoff, ``PermanentJobError`` gives up at once.
    """


@hookspec
def petitionkit_personal_data_removed(petition: Petition) -> None:
    """Retention removed the personal data of a closed petition's signers: remove what the
    plugin keeps about them or from them too (its own tables, files, stories).

    Returns: nothing.
    All implementations are called, once per purge, before the petition is marked purged: a
    plugin that raises leaves the petition due, so the next run (the worker's daily one, or
    ``petitionkit privacy purge``) calls every implementation again. Do only what is safe to
    repeat.
    Arguments: ``petition`` the petition whose retention (``retain_days``) ran out.
    Runs: in the worker or the ``privacy purge`` command, in an app context.
    """


@hookspec
def petitionkit_organization_approved(petition: Petition, signature: Signature) -> None:
    """An organiser approved an organisation's signature: it is now public and on the count.

    Returns: nothing.
    Every implementing plugin gets a job of its own in the outbox, as for
    ``petitionkit_signature_confirmed`` (which the organisation's signature heard earlier, when
    its contact person confirmed). Not called for a signature withdrawn before its job ran; a
    rejection is heard through ``petitionkit_signature_withdrawn`` (reason ``"operator"``).
    Arguments: ``petition``; ``signature`` the approved signature (read-only, ``kind``
    ``"organization"``, with ``organization``, ``organization_url`` and ``approved_at``).
    Runs: in a worker job; raising retries with backoff, ``PermanentJobError`` gives up at once.
    """


@hookspec
def petitionkit_petition_changed(petition: Petition, created: bool, changed: list[str]) -> None:
    """A petition was created or changed: from a petition file (``petitionkit petition load``),
    and from every other place that edits petitions.

    Returns: nothing.
    Every implementing plugin gets a job of its own in the outbox, queued in the transaction
    that made the change, so a slow or failing destination never holds the change up.
    Arguments: ``petition`` as it is when the job runs; ``created`` true for a new petition;
    ``changed`` the names of the fields that changed (all of them for a new petition).
    Runs: in a worker job; raising retries with backoff, ``PermanentJobError`` gives up at once.
    """


@hookspec
def petitionkit_action_taken(petition: Petition, action: Action) -> None:
    """A supporter did something for the petition besides signing: called an official, sent a
    letter in their own words, reported an action; or organisers added signatures gathered on
    paper.

    Returns: nothing.
    Every implementing plugin gets a job of its own in the outbox, queued in the transaction
    that recorded the action.
    Arguments: ``petition``; ``action`` a :class:`petitionkit.actions.Action`: its ``kind``
    (``"call"``, ``"letter"``, ``"report"``, ``"paper"`` …), ``count``, ``taken_at``, and where
    known the ``signature_id``, the ``target`` key and an ``outcome`` word. No personal data.
    Runs: in a worker job; raising retries with backoff, ``PermanentJobError`` gives up at once.
    """


@hookspec(firstresult=True)
def petitionkit_targets(petition: Petition, signature: Signature) -> list[Target] | None:
    """Who this signature is addressed to.

    Returns: a list of :class:`petitionkit.targets.Target`, or ``None`` for "no opinion" (the next
    plugin is asked; the built-in answers last with the ``targets:`` of the petition file).
    First result wins.
    Arguments: ``petition``; ``signature`` the confirmed signature (country, postal code, …).
    Runs: in a worker job and in the CLI (``petitionkit deliver``).
    """


@hookspec(firstresult=True)
def petitionkit_deliver(
    petition: Petition, target: Target, signatures: list[Signature]
) -> Delivery | None:
    """Deliver ``signatures`` to ``target``.

    Returns: a :class:`petitionkit.targets.Delivery` saying how it went out, or ``None`` when this
    plugin does not deliver to this target (the next plugin is asked; the built-in answers last:
    e-mail when the target has an address, else a note that the hand-over report covers it).
    First result wins.
    Arguments: ``petition``; ``target``; ``signatures`` the confirmed signatures addressed to the
    target since the previous delivery (one batch per throttling slot, never empty).
    Runs: in a worker job; raising retries the batch.
    """


@hookspec
def petitionkit_form_fields(petition: Petition) -> list[FormField]:
    """Extra fields for the signing form (hosted page, widget and JSON API alike).

    Returns: a list of :class:`petitionkit.plugins.FormField`; an empty list adds none.
    All implementations are called and their lists joined. Values are stored with the signature
    (``signature.extra``) and reach every later hook.
    Arguments: ``petition``.
    Runs: in requests.
    """


@hookspec
def petitionkit_validate_signature(
    petition: Petition, signature: SignatureInput
) -> Mapping[str, str] | None:
    """Refuse a signature before it is stored, with a message a person understands.

    Returns: ``{field name: message}`` for each problem, or ``None`` (or ``{}``) when it is fine.
    All implementations are called and their answers merged. Only called once the core's own
    checks passed.
    Arguments: ``petition``; ``signature`` what was submitted (``email``, ``name``, ``extra`` …).
    Runs: in the signer's request: no network, no personal data in logs.
    """


@hookspec
def petitionkit_petition_sections() -> Mapping[str, SectionReader]:
    """Keys of the petition file this plugin reads, each with its reader.

    Returns: ``{key: reader}``; ``reader(value)`` gets the key's value from the front matter
    and returns what to keep (JSON: ``petition.sections[key]``), or raises ``ValueError`` with
    a message for the organiser, which refuses the file. An empty mapping adds none.
    All implementations are called; a key the core reads, or one claimed twice, fails at startup.
    Arguments: none.
    Runs: in the CLI (``petitionkit petition load``) and wherever petitions are loaded.
    """


@hookspec
def petitionkit_step_names() -> Mapping[str, StepCheck]:
    """The names of the steps this plugin adds after signing, so that a petition file's
    ``steps:`` list may name them, each with its check of a petition.

    Returns: ``{name: check}``; ``check(values)`` gets the petition's loaded values (the model's
    attributes: ``targets``, ``sections``, ``report_actions`` …) and returns ``None`` when the
    petition configures the step, else what is missing, which refuses a file naming the step
    (``"needs a call: section"``). An empty mapping adds none.
    All implementations are called; a name of the engine's own steps (sign, letter, report,
    share), or one offered twice, fails at startup.
    Arguments: none.
    Runs: in the CLI (``petitionkit petition load``) and wherever petitions are loaded.
    """


@hookspec
def petitionkit_action_steps(
    petition: Petition, embed: bool, report_token: str | None
) -> list[ActionStep | Markup]:
    """Steps a supporter can take besides signing (call an official …), as HTML sections.

    Returns: a list of ``ActionStep(name, html)``, ``html`` a ``markupsafe.Markup`` section
    (escape everything that comes from a petition file) and ``name`` one the plugin offers
    through ``petitionkit_step_names``; a plain ``Markup`` is an unnamed step. An empty list
    adds none.
    All implementations are called and their lists joined, in plugin order. The steps are
    shown after signing: on the hosted page, the confirmation page and in the widget, in the
    order of the petition's ``steps:`` list where it has one (a named step it leaves out is not
    shown; unnamed ones follow the listed steps), else the engine's letter step, the plugins'
    steps in plugin order, then the report and share steps. Each must work with JavaScript off;
    a form in one posts to the engine's own routes (such as ``POST /p/SLUG/report``), never
    elsewhere.
    Arguments: ``petition``; ``embed`` true inside the widget's iframe (links that leave the
    frame open in a new tab there); ``report_token`` the signer's own report token on the
    page after confirming (a hidden ``token`` field makes a report through the step count),
    else ``None``.
    Runs: in requests: no network, no database writes.
    """


@hookspec
def petitionkit_workspace_counts(petitions: Sequence[Petition]) -> Mapping[str, Mapping[int, int]]:
    """Counts the plugin keeps per petition, shown as columns of the workspace's petitions list
    (stories received, say): numbers only, never what was counted.

    Returns: ``{label: {petition id: count}}``, the label a translated string (``gettext``);
    a petition missing from a mapping shows 0. An empty mapping adds no column.
    All implementations are called, once per page, with every petition listed: answer with one
    grouped query, not one per petition. A failing plugin's columns are left out in production.
    Arguments: ``petitions`` the petitions on the page.
    Runs: in a request (the workspace, for any signed-in role).
    """


@hookspec
def petitionkit_register_blueprints() -> list[Blueprint]:
    """Flask blueprints to add to the app (pages, JSON endpoints, admin views).

    Returns: a list of blueprints.
    All implementations are called.
    Arguments: none.
    Runs: once, when the app is created.
    """


@hookspec
def petitionkit_register_commands() -> list[click.Command]:
    """Commands to add to the ``petitionkit`` CLI.

    Returns: a list of click commands or groups.
    All implementations are called.
    Arguments: none.
    Runs: once, when the app is created.
    """


@hookspec
def petitionkit_migrations() -> list[str]:
    """Folders of Alembic revision scripts that create and change a plugin's own tables.

    Returns: a list of folder paths; an empty list adds none.
    All implementations are called and their lists joined; a folder that does not exist stops
    the start. Each folder is a branch of its own: its first revision has ``down_revision =
    None``, a ``branch_labels`` of the plugin's name and ``depends_on`` the core revision it
    builds on. The tables' models are declared on ``petitionkit.extensions.db.Model`` in the
    plugin's package (an installed plugin: a file in ``instance/plugins/`` is loaded anew by
    every app and cannot declare tables).
    Arguments: none.
    Runs: once, when the app is created; ``petitionkit db upgrade`` applies the revisions.
    """


@hookspec
def petitionkit_job_handlers() -> Mapping[str, JobHandler]:
    """Outbox job kinds this plugin delivers, for work of its own it enqueues.

    Returns: ``{kind: handler}``; a handler is ``handler(job, context)`` and raises to retry.
    All implementations are called; a kind claimed twice fails at startup.
    Arguments: none.
    Runs: once, when the app is created; the handlers run in workers.
    """


HOOK_NAMES: tuple[str, ...] = tuple(
    name for name in list(globals()) if name.startswith(f"{PROJECT}_")
)


def spec_signature(name: str) -> str:
    """``name(arg: Type, …) -> Return``, as the reference documents it."""

    function: Any = globals()[name]
    signature = inspect.signature(function)
    arguments = ", ".join(
        f"{parameter.name}: {parameter.annotation}" for parameter in signature.parameters.values()
    )
    return f"{name}({arguments}) -> {signature.return_annotation}"
