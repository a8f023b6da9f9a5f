"""``petitionkit signers``: what an organiser does to signatures from the command line."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from petitionkit.encryption import KeyUnavailable
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins.events import LIFECYCLE, Lifecycle
from petitionkit.signatures import services
from petitionkit.signatures.models import ORGANIZATION, Signature
from petitionkit.signatures.organizations import pending_organizations


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
    petition = _petition(slug)
    withdrawn = _withdraw_each(petition, signature_ids, "withdrawn",
                               lambda signature: True, f"not a signature of {slug}")
    click.echo(f"{withdrawn} signature(s) withdrawn from {slug}")


def _petition(slug: str) -> Petition:
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
    if petition is None:
        raise click.ClickException(f"there is no petition {slug!r}")
    return petition


@signers_group.command("pending")
@click.argument("slug")
@click.option("--contacts", is_flag=True,
              help="Also show each contact person's name and address (needs the private key).")
@with_appcontext
def signers_pending(slug: str, contacts: bool) -> None:
    """Organisations whose contact confirmed, awaiting an organiser's approval.

    One line each: id, organisation, website, country, confirmed (UTC). Approve the real ones
    with `signers approve`, reject impostors with `signers reject`.
    """
    petition = _petition(slug)
    waiting = pending_organizations(db.session(), petition)
    for organization in waiting:
        confirmed = (organization.confirmed_at.strftime("%Y-%m-%d %H:%M")
                     if organization.confirmed_at else "-")
        line = (f"{organization.signature_id}\t{organization.name}\t"
                f"{organization.website or '-'}\t{organization.country or '-'}\t{confirmed}")
        if contacts:
            signature = db.session.get(Signature, organization.signature_id)
            assert signature is not None
            try:
                contact = signature.personal()
            except KeyUnavailable as error:
                raise click.ClickException(
                    f"--contacts needs the private key (DATA_PRIVATE_KEY_FILE): {error}"
                ) from error
            line += f"\t{contact.name}\t{contact.email}"
        click.echo(line)
    click.echo(f"{len(waiting)} organisation(s) awaiting approval for {slug}", err=True)


@signers_group.command("approve")
@click.argument("slug")
@click.argument("signature_ids", nargs=-1, type=int, required=True)
@with_appcontext
def signers_approve(slug: str, signature_ids: tuple[int, ...]) -> None:
    """Approve organisations: each is listed in public and counted from now on, and plugins
    hear of it (petitionkit_organization_approved). IDs come from `signers pending`."""
    petition = _petition(slug)
    session = db.session()
    events: Lifecycle = LIFECYCLE.of()
    approved = 0
    for signature_id in signature_ids:
        signature = session.get(Signature, signature_id)
        if (signature is None or signature.petition_id != petition.id
                or signature.kind != ORGANIZATION):
            click.echo(f"{signature_id}\tnot an organisation's signature of {slug}", err=True)
            continue
        outcome = services.approve(session, signature, listener=events)
        if outcome is services.ApproveOutcome.APPROVED:
            approved += 1
            click.echo(f"{signature_id}\tapproved")
        elif outcome is services.ApproveOutcome.ALREADY_APPROVED:
            click.echo(f"{signature_id}\talready approved")
        else:
            click.echo(f"{signature_id}\tnot approvable: not confirmed yet, or withdrawn",
                       err=True)
    if approved:
        events.approved(petition, approved)
    click.echo(f"{approved} organisation(s) approved for {slug}")


@signers_group.command("reject")
@click.argument("slug")
@click.argument("signature_ids", nargs=-1, type=int, required=True)
@with_appcontext
def signers_reject(slug: str, signature_ids: tuple[int, ...]) -> None:
    """Reject organisations (an impostor, or not a signatory the organisers accept): each is
    withdrawn as by `signers invalidate`, and leaves the public list if it was on it."""
    petition = _petition(slug)
    rejected = _withdraw_each(petition, signature_ids, "rejected",
                              lambda signature: signature.kind == ORGANIZATION,
                              f"not an organisation's signature of {slug}")
    click.echo(f"{rejected} organisation(s) rejected for {slug}")


def _withdraw_each(petition: Petition, signature_ids: tuple[int, ...], done: str,
                   accepts: Callable[[Signature], bool], refusal: str) -> int:
    """Withdraw each of ``signature_ids`` of ``petition`` that ``accepts`` takes, as an
    organiser's act (reason "operator"), one line per ID; returns how many were withdrawn."""
    session = db.session()
    events: Lifecycle = LIFECYCLE.of()
    withdrawn = 0
    for signature_id in signature_ids:
        signature = session.get(Signature, signature_id)
        if signature is None or signature.petition_id != petition.id or not accepts(signature):
            click.echo(f"{signature_id}\t{refusal}", err=True)
            continue
        outcome = services.withdraw(session, signature, services.WITHDRAWN_BY_OPERATOR,
                                    listener=events)
        if outcome is services.CancelOutcome.CANCELLED:
            withdrawn += 1
            click.echo(f"{signature_id}\t{done}")
        else:
            click.echo(f"{signature_id}\talready withdrawn")
    if withdrawn:
        events.withdrawn_by_operator(petition, withdrawn)
    return withdrawn
