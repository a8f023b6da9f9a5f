"""Built-in: targets from the petition file, e-mail delivery, the letter field, ``deliver``."""

from __future__ import annotations

from collections.abc import Mapping

import click
from flask import current_app
from flask_babel import lazy_gettext as _l

from petitionkit.outbox.worker import JobHandler
from petitionkit.petitions.models import Petition
from petitionkit.plugins.fields import FormField
from petitionkit.plugins.specs import hookimpl
from petitionkit.signatures.models import Signature
from petitionkit.targets import Delivery, Target
from petitionkit.targets.delivery import DELIVER_JOB, ROUTE_JOB, run_deliver, run_route
from petitionkit.targets.letter import LETTER_FIELD, email_delivery, engine_delivers
from petitionkit.targets.report import deliver_command


@hookimpl(trylast=True)
def petitionkit_targets(petition: Petition, signature: Signature) -> list[Target]:
    return [Target.from_mapping(values) for values in petition.targets or []]


@hookimpl(trylast=True)
def petitionkit_deliver(
    petition: Petition, target: Target, signatures: list[Signature]
) -> Delivery:
    if not target.email:
        return Delivery("none", "no e-mail address: hand over with `petitionkit deliver --report`")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return email_delivery(app, petition, target, signatures)


@hookimpl(trylast=True)
def petitionkit_form_fields(petition: Petition) -> list[FormField]:
    letter = petition.letter or {}
    if not letter.get("editable") or not engine_delivers(petition):
        return []
    sample = str(letter.get("sample") or "")
    return [FormField(
        LETTER_FIELD, str(_l("Your letter (optional: change the words if you like)")),
        kind="textarea", max_length=int(letter.get("max_letter_length", 3000)),
        help=str(_l("Edit the sample letter, or leave it as it is.") if sample
                 else _l("Leave it empty to send the petition text as it is.")),
        default=sample,
    )]


@hookimpl(trylast=True)
def petitionkit_job_handlers() -> Mapping[str, JobHandler]:
    return {ROUTE_JOB: run_route, DELIVER_JOB: run_deliver}


@hookimpl(trylast=True)
def petitionkit_register_commands() -> list[click.Command]:
    return [deliver_command]
