"""``petitionkit signers``: what an organiser does to signatures from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins.events import LIFECYCLE, Lifecycle
from petitionkit.signatures import services
from petitionkit.signatures.models import Signature


@click.group("signers")
def signers_group() -> None:
    """Signatures of a petition, as an organiser handles them."""


@signers_group.command("invalidate")
@click.argument("slug")
@click.argument("signature_ids", nargs=-1, type=int, required=True)
@with_appcontext
def signers_invalidate(slug: str, signature_ids: tuple[int, ...]) -> None:
    """Withdraw signatures found to be fraudulent or made in someone else's name.

    Each leaves the count if it was on it, gets no more mail about this petition, and plugins
    that received it hear of the withdrawal (reason "operator"). IDs come from an export.
    """
    session = db.session()
    petition = session.scalar(select(Petition).where(Petition.slug == slug))
    if petition is None:
        raise click.ClickException(f"there is no petition {slug!r}")
    events: Lifecycle = LIFECYCLE.of()
    withdrawn = 0
    for signature_id in signature_ids:
        signature = session.get(Signature, signature_id)
        if signature is None or signature.petition_id != petition.id:
            click.echo(f"{signature_id}\tnot a signature of {slug}", err=True)
            continue
        outcome = services.withdraw(session, signature, services.WITHDRAWN_BY_OPERATOR,
                                    listener=events)
        if outcome is services.CancelOutcome.CANCELLED:
            withdrawn += 1
            click.echo(f"{signature_id}\twithdrawn")
        else:
            click.echo(f"{signature_id}\talready withdrawn")
    if withdrawn:
        events.withdrawn_by_operator(petition, withdrawn)
    click.echo(f"{withdrawn} signature(s) withdrawn from {slug}")
