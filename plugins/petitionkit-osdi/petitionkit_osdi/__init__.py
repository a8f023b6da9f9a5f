"""Confirmed signatures to an OSDI "record signature helper" (Action Network and others).

Each confirmed signature is one outbox job: a 5xx answer or a timeout is retried with backoff, a
4xx answer is not. Signers who did not agree to updates are not pushed unless the operator says
otherwise (``consent_required: false``), because pushing a person into a CRM subscribes them.

OSDI's helpers can record an action but not take one back, so a withdrawal is recorded the way
OSDI allows: the person's address is set ``unsubscribed`` through the *person signup helper*
(``people_url``), unless another standing signature of the same person agreed to updates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TextIO

import httpx

from petitionkit import hookimpl
from petitionkit.export import Exporter, ExportRecord
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins import (
    PermanentJobError,
    PluginConfigError,
    active_when_configured,
    plugin_settings,
)
from petitionkit.signatures.models import CONFIRMED, ORGANIZATION, Signature
from petitionkit.signatures.services import still_consenting

__version__ = "0.1.0"

PLUGIN_NAME = "petitionkit-osdi"
TOKEN_HEADER = "OSDI-API-Token"


class OsdiError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"OSDI endpoint answered {status_code}")
        self.status_code = status_code


class OsdiRefused(OsdiError, PermanentJobError):
    """A 4xx: the same request will be refused again."""


class WithdrawalsNotConfigured(PluginConfigError, PermanentJobError):
    """A withdrawal to record and no ``people_url`` to record it at: the job is dead at once and
    listed by ``petitionkit outbox dead``, to be replayed once the setting is there."""


def split_name(name: str) -> tuple[str, str]:
    """Given and family name from one field: the last word is taken as the family name.

    A guess that is wrong for many cultures, which is why ``full_name`` also goes along as a
    custom field.
    """
    words = name.split()
    if len(words) < 2:
        return name.strip(), ""
    return " ".join(words[:-1]), words[-1]


def osdi_signature(
    petition_slug: str, values: Mapping[str, Any], settings: Mapping[str, Any]
) -> dict[str, Any]:
    """A record-signature-helper body from a signature's values (export record keys)."""
    given, family = split_name(str(values["name"]))
    person: dict[str, Any] = {
        "given_name": given,
        # The signer's only address, so the one the CRM mails: without primary, Action Network
        # and others may keep an older address as the person's primary one.
        "email_addresses": [{"address": values["email"], "primary": True}],
        "custom_fields": {"full_name": values["name"], **{
            str(key): str(value) for key, value in (values.get("extra") or {}).items()
            if value not in (None, "")
        }},
    }
    if family:
        # A one-word name has no family name; an empty one would erase what the CRM has.
        person["family_name"] = family
    if values.get("organization"):
        # OSDI records people, not organisations: an organisation's signature is its contact
        # person's, with the organisation as their employer and in custom fields.
        person["employer"] = str(values["organization"])
        person["custom_fields"]["organization"] = str(values["organization"])
        if values.get("organization_url"):
            person["custom_fields"]["organization_url"] = str(values["organization_url"])
    if values.get("consent_updates"):
        person["email_addresses"][0]["status"] = "subscribed"
    address = {k: v for k, v in (("postal_code", values.get("postal_code")),
                                 ("country", values.get("country"))) if v}
    if address:
        person["postal_addresses"] = [address]
    confirmed: datetime | None = values.get("confirmed_at")
    prefix = str(settings.get("identifier_prefix", "petitionkit"))
    body: dict[str, Any] = {
        "identifiers": [f"{prefix}:{petition_slug}-{values['signature_id']}"],
        "person": person,
        "origin_system": str(settings.get("origin_system", "petitionkit")),
        "action_date": confirmed.isoformat() if confirmed is not None else None,
        "add_tags": list(settings.get("tags", [])),
    }
    if values.get("source"):
        body["referrer_data"] = {"source": values["source"]}
    return body


def signature_values(signature: Signature) -> dict[str, Any]:
    confirmed = signature.confirmed_at
    return {
        "signature_id": signature.id, "name": signature.name, "email": signature.email,
        "country": signature.country, "postal_code": signature.postal_code,
        "consent_updates": signature.consent_updates, "source": signature.source,
        "extra": signature.extra or {}, "confirmed_at": confirmed,
        "organization": signature.organization, "organization_url": signature.organization_url,
    }


def endpoint_for(petition: Petition, settings: Mapping[str, Any]) -> str | None:
    """The petition's signatures endpoint: ``petitions: {slug: url}``, else ``url``."""
    per_petition = settings.get("petitions") or {}
    url = per_petition.get(petition.slug) or settings.get("url")
    return str(url) if url else None


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_signature_confirmed(petition: Petition, signature: Signature) -> None:
    if signature.kind == ORGANIZATION:
        return  # recorded once an organiser approves it: an impostor never reaches the CRM
    _record(petition, signature)


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_organization_approved(petition: Petition, signature: Signature) -> None:
    _record(petition, signature)


def _record(petition: Petition, signature: Signature) -> None:
    settings = plugin_settings(PLUGIN_NAME)
    url = endpoint_for(petition, settings)
    if url is None:
        return
    if not settings.get("token"):
        raise PluginConfigError(f"{PLUGIN_NAME}: an endpoint needs a token (OSDI-API-Token)")
    if settings.get("consent_required", True) and not signature.consent_updates:
        return
    body = osdi_signature(petition.slug, signature_values(signature), settings)
    _post(url, body, settings)


def _post(url: str, body: dict[str, Any], settings: Mapping[str, Any]) -> None:
    response = httpx.post(
        url, json=body, timeout=float(settings.get("timeout", 15)), follow_redirects=False,
        headers={TOKEN_HEADER: str(settings["token"]),
                 "User-Agent": f"petitionkit-osdi/{__version__}"},
    )
    if response.status_code >= 500:
        raise OsdiError(response.status_code)
    if response.status_code >= 300:
        raise OsdiRefused(response.status_code)


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_signature_withdrawn(petition: Petition, signature: Signature, reason: str) -> None:
    settings = plugin_settings(PLUGIN_NAME)
    if endpoint_for(petition, settings) is None:
        return  # this petition's signatures were never pushed
    if not signature.consent_updates:
        # Pushed without consent (consent_required: false) the address was never subscribed,
        # and OSDI has no way to take the recorded signature back.
        return
    if still_consenting(db.session(), signature):
        return  # another standing signature of the same person keeps the subscription
    people_url = settings.get("people_url")
    if not people_url:
        raise WithdrawalsNotConfigured(
            f"{PLUGIN_NAME}: a withdrawal needs people_url (the person signup helper)"
        )
    _post(str(people_url), {
        "person": {"email_addresses": [{"address": signature.email, "status": "unsubscribed"}]},
        "origin_system": str(settings.get("origin_system", "petitionkit")),
    }, settings)


NOT_CONFIRMED = "the signature is not confirmed (pending or withdrawn)"
NOT_APPROVED = "the organisation is not approved yet"
NO_CONSENT = "the signer did not consent to be contacted"


def skip_for_osdi(record: ExportRecord) -> str | None:
    """Why a record is not in the OSDI file: the same people the push would send. Confirmed
    signatures only (``--all`` also lists pending and withdrawn ones, which are no action of
    anybody's), an organisation's only once approved (anyone can type an organisation's name),
    and under ``consent_required`` only signers who agreed to updates."""
    if record["status"] != CONFIRMED:
        return NOT_CONFIRMED
    if record["kind"] == ORGANIZATION and not record["approved_at"]:
        return NOT_APPROVED
    if plugin_settings(PLUGIN_NAME).get("consent_required", True) and not record["consent_updates"]:
        return NO_CONSENT
    return None


def write_osdi(petition: Petition, records: Iterable[ExportRecord], out: TextIO) -> None:
    """One record-signature-helper body per line, ready to POST."""
    settings = plugin_settings(PLUGIN_NAME)
    for record in records:
        body = osdi_signature(petition.slug, record, settings)
        out.write(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n")


@hookimpl
def petitionkit_exporters() -> list[Exporter]:
    return [Exporter("osdi", "OSDI record-signature-helper bodies, one JSON per line", "jsonl",
                     write_osdi, skip=skip_for_osdi)]
