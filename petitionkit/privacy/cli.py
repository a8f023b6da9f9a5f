"""``petitionkit privacy``: erasure and access requests, retention of signers' personal data and
the consent records, for the operator who answers for them."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from petitionkit.encryption import DATA_SEALER, KeyUnavailable
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition, utcnow
from petitionkit.plugins.events import LIFECYCLE, Lifecycle
from petitionkit.privacy import retention, services
from petitionkit.privacy.consent import stored_wordings
from petitionkit.privacy.models import ConsentText
from petitionkit.signatures.services import SIGNING_POLICY, WITHDRAWN_BY_ERASURE, SigningPolicy


@click.group("privacy")
def privacy_group() -> None:
    """Signers' data: erase it, report what is held, remove it when its time is up."""


def _address(value: str) -> str:
    """The address as given, once it looks like one. The signing form checked it more
    strictly when it was stored; here only a slip (a name instead of an address) is refused."""
    address = value.strip()
    local, _, domain = address.rpartition("@")
    if not local or not domain or len(address) > 320 or any(c.isspace() for c in address):
        raise click.BadParameter(f"{value!r} is not an e-mail address", param_hint="EMAIL")
    return address


@privacy_group.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Erase without asking first.")
@with_appcontext
def privacy_erase(email: str, yes: bool) -> None:
    """Erase the personal data of every signature made with EMAIL, on every petition.

    Each signature is withdrawn (off the count if it was on it; plugins that received it hear
    of the withdrawal with the reason "erasure") and keeps only the blind index of the address,
    so that the address is not mailed again about that petition. Needs only the public key.
    """
    address = _address(email)
    session = db.session()
    policy: SigningPolicy = SIGNING_POLICY.of()
    found = services.signatures_of(session, address, policy.rules, policy.index_key)
    if not found:
        click.echo(f"no signature of {address} is held")
        return
    petitions = {signature.petition_id: db.session.get(Petition, signature.petition_id)
                 for signature in found}
    slugs = {petition_id: petition.slug for petition_id, petition in petitions.items()
             if petition is not None}
    per_petition = Counter(slugs[signature.petition_id] for signature in found)
    summary = ", ".join(f"{slug} ({count})" for slug, count in sorted(per_petition.items()))
    if not yes:
        click.confirm(f"{len(found)} signature(s) of {address}: {summary}. Erase?", abort=True)
    events: Lifecycle = LIFECYCLE.of()
    erasures = services.erase_address(session, address, policy.rules, policy.index_key,
                                      listener=events, reason=WITHDRAWN_BY_ERASURE)
    for erasure in erasures:
        if not erasure.erased:
            outcome = "erased before"
        elif erasure.withdrawn:
            outcome = f"erased, withdrawn (was {erasure.status_before})"
        else:
            outcome = "erased (had been withdrawn)"
        click.echo(f"{slugs[erasure.petition_id]}\t{erasure.signature_id}\t{outcome}")
    for petition_id in sorted({erasure.petition_id for erasure in erasures if erasure.withdrawn}):
        events.withdrawn(petitions[petition_id])
    erased = [erasure for erasure in erasures if erasure.erased]
    dropped = sum(erasure.jobs_dropped for erasure in erasures)
    click.echo(f"erased {len(erased)} signature(s) in "
               f"{len({erasure.petition_id for erasure in erased})} petition(s); "
               f"{dropped} queued job(s) dropped; only the blind index of {address} stays, "
               "so it is not mailed again about those petitions")


def _moment(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "-"


@privacy_group.command("report")
@click.argument("email")
@with_appcontext
def privacy_report(email: str) -> None:
    """Print what is held about EMAIL, for answering a data-access request.

    Opens the personal data with the private key (DATA_PRIVATE_KEY_FILE). The output holds
    that person's data: hand it to them, keep no copy.
    """
    address = _address(email)
    policy: SigningPolicy = SIGNING_POLICY.of()
    try:
        held = list(services.held_about(db.session(), address, policy.rules, policy.index_key,
                                        DATA_SEALER.of()))
    except KeyUnavailable as error:
        raise click.ClickException(str(error)) from error
    if not held:
        click.echo(f"nothing is held about {address}")
        return
    click.echo(f"{len(held)} signature(s) of {address}")
    for item in held:
        click.echo("")
        click.echo(f"petition: {item.petition_slug} ({item.petition_title})")
        lines: list[tuple[str, object]] = [
            ("signature", item.signature_id),
            ("signer", item.kind),
            ("status", item.status),
            ("signed", _moment(item.signed_at)),
            ("confirmed", _moment(item.confirmed_at)),
            ("withdrawn", _moment(item.withdrawn_at)),
        ]
        if item.erased_at is not None:
            lines += [("erased", _moment(item.erased_at)),
                      ("held", "the blind index of the address only, so it is not mailed "
                               "again; no name, address or other personal data")]
        else:
            lines += [("name", item.name), ("email", item.email),
                      ("postal code", item.postal_code or "-")]
        lines += [
            ("country", item.country or "-"),
            ("language", item.locale),
            ("source", item.source or "-"),
            ("updates agreed", "yes" if item.consent_updates else "no"),
            ("consent version", item.consent_version or "-"),
            ("consent text shown", _wording(item.consent_text)),
            ("shown publicly", f"yes, as {item.public_name}" if item.show_name and item.public_name
             else "no"),
            ("plugin fields", ", ".join(f"{key}={value}" for key, value
                                        in sorted(item.plugin_fields.items())) or "-"),
            ("queued jobs", ", ".join(item.pending_jobs) or "-"),
        ]
        for label, value in lines:
            click.echo(f"  {label}: {value}")


def _wording(wording: ConsentText | None) -> str:
    if wording is None:
        return "not recorded"
    text = " ".join(wording.text.split())
    return f"version {wording.id} ({wording.locale}): {text}"


@privacy_group.command("purge")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000),
              help="Signatures per transaction.")
@with_appcontext
def privacy_purge(dry_run: bool, batch_size: int) -> None:
    """Remove the personal data of petitions closed for longer than their retain_days.

    What the worker does once a day. Counts, goals and figures stay. Safe to interrupt: a new
    run goes on where this one stopped.
    """
    now = utcnow()
    due = retention.due_petitions(db.engine, retention.default_retain_days(current_app), now)
    if not due:
        click.echo("no petition is due for removal of personal data")
        return
    for petition in due:
        closed = petition.closed_since(now)
        closed_text = f"closed {closed:%Y-%m-%d}" if closed else "closed"
        if dry_run:
            count = retention.remaining(db.engine, petition.id)
            click.echo(f"{petition.slug}: would anonymise {count} signature(s) ({closed_text})")
            continue
        report = retention.purge_petition(db.engine, petition, batch_size, now)
        click.echo(f"{petition.slug}: anonymised {report.anonymised} signature(s) "
                   f"({closed_text}); personal data removed on {now:%Y-%m-%d}")
    if dry_run:
        click.echo("dry run: nothing was changed")


@privacy_group.command("consent-texts")
@with_appcontext
def privacy_consent_texts() -> None:
    """The consent wordings signers were shown: version, language, first shown, text."""
    wordings = stored_wordings(db.engine)
    for wording in wordings:
        text = " ".join(wording.text.split())
        click.echo(f"{wording.id}\t{wording.locale}\t{wording.first_seen:%Y-%m-%dT%H:%M:%SZ}\t"
                   f"{text}")
    click.echo(f"{len(wordings)} consent text(s)", err=True)
