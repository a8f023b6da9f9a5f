"""POST each confirmed signature, each withdrawal, each goal reached and each petition created or
changed to the operator's URL, signed.

Runs in outbox jobs: a 5xx answer, a timeout or a refused connection is retried with backoff; a
4xx answer is not (the receiver refused the request itself), and the job is listed as dead.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from petitionkit import hookimpl
from petitionkit.actions import Action
from petitionkit.petitions.models import Petition
from petitionkit.plugins import (
    PermanentJobError,
    PluginConfigError,
    active_when_configured,
    plugin_settings,
)
from petitionkit.signatures.models import Signature

__version__ = "0.1.0"

PLUGIN_NAME = "petitionkit-webhook"
SIGNATURE_HEADER = "X-Petitionkit-Signature"
TIMESTAMP_HEADER = "X-Petitionkit-Timestamp"
EVENT_HEADER = "X-Petitionkit-Event"
DELIVERY_HEADER = "Idempotency-Key"


class WebhookError(Exception):
    """The receiver answered with an error; ``status_code`` is what the outbox logs."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"webhook answered {status_code}")
        self.status_code = status_code


class WebhookRefused(WebhookError, PermanentJobError):
    """A 4xx: retrying the same request cannot help."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp + "." + body`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _settings() -> dict[str, Any] | None:
    settings = plugin_settings(PLUGIN_NAME)
    if not settings.get("url"):
        return None  # installed but not configured: nothing to send
    if not settings.get("secret"):
        raise PluginConfigError(f"{PLUGIN_NAME}: a url needs a secret to sign the requests")
    return settings


def post(settings: dict[str, Any], event: str, delivery_id: str, payload: dict[str, Any]) -> None:
    body = json.dumps({"event": event, **payload}, ensure_ascii=False,
                      separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"petitionkit-webhook/{__version__}",
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(str(settings["secret"]), timestamp, body),
        DELIVERY_HEADER: delivery_id,
    }
    timeout = float(settings.get("timeout", 10))
    # Timeouts and refused connections raise httpx errors: the outbox retries them.
    response = httpx.post(str(settings["url"]), content=body, headers=headers, timeout=timeout,
                          follow_redirects=False)
    if response.status_code >= 500:
        raise WebhookError(response.status_code)
    if response.status_code >= 300:
        raise WebhookRefused(response.status_code)


def utc_moment(moment: datetime) -> str:
    """ISO 8601 in UTC with its offset (``2026-03-01T12:30:15+00:00``): a receiver never has to
    guess a zone. A moment without a zone is refused, not sent as if it were UTC."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a moment without a time zone cannot be sent")
    return moment.astimezone(UTC).isoformat()


def petition_payload(petition: Petition) -> dict[str, Any]:
    return {"slug": petition.slug, "title": petition.title, "count": petition.signature_count}


def signature_payload(signature: Signature) -> dict[str, Any]:
    confirmed = signature.confirmed_at
    return {
        "id": signature.id,
        "kind": signature.kind,
        "name": signature.name,
        "email": signature.email,
        "country": signature.country,
        "postal_code": signature.postal_code,
        "locale": signature.locale,
        "source": signature.source,
        "consent_updates": signature.consent_updates,
        "consent_version": signature.consent_version,
        "show_name": signature.show_name,
        "extra": signature.extra or {},
        "confirmed_at": utc_moment(confirmed) if confirmed is not None else None,
        # An organisation's, signed through the contact person above; public once approved.
        "organization": signature.organization,
        "organization_url": signature.organization_url,
    }


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_signature_confirmed(petition: Petition, signature: Signature) -> None:
    settings = _settings()
    if settings is None:
        return
    post(settings, "signature.confirmed", f"signature.confirmed:{signature.id}", {
        "petition": petition_payload(petition),
        "signature": signature_payload(signature),
    })


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_signature_withdrawn(petition: Petition, signature: Signature, reason: str) -> None:
    settings = _settings()
    if settings is None:
        return
    # Which signature and why, never who: the receiver has the rest from signature.confirmed.
    post(settings, "signature.withdrawn", f"signature.withdrawn:{signature.id}", {
        "petition": petition_payload(petition),
        "signature": {"id": signature.id},
        "reason": reason,
    })


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_organization_approved(petition: Petition, signature: Signature) -> None:
    settings = _settings()
    if settings is None:
        return
    approved = signature.approved_at
    assert approved is not None
    # Public facts only: the receiver has the contact person from signature.confirmed.
    post(settings, "organization.approved", f"organization.approved:{signature.id}", {
        "petition": petition_payload(petition),
        "signature": {"id": signature.id, "organization": signature.organization,
                      "organization_url": signature.organization_url,
                      "country": signature.country, "approved_at": utc_moment(approved)},
    })


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_petition_changed(petition: Petition, created: bool, changed: list[str]) -> None:
    settings = _settings()
    if settings is None:
        return
    event = "petition.created" if created else "petition.changed"
    delivery = f"{event}:{petition.slug}:{petition.updated_at.isoformat()}:{','.join(changed)}"
    post(settings, event, delivery, {
        "petition": {**petition_payload(petition), "status": petition.status},
        "changed": changed,
    })


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_action_taken(petition: Petition, action: Action) -> None:
    settings = _settings()
    if settings is None:
        return
    payload = {**action.to_payload(), "taken_at": utc_moment(action.taken_at)}
    # One report can record several actions at the same moment: the key of each tells them apart.
    delivery = (f"action.taken:{petition.slug}:{payload['taken_at']}:{payload['kind']}"
                f":{payload['report'] or ''}")
    post(settings, "action.taken", delivery, {
        "petition": petition_payload(petition),
        "action": {key: value for key, value in payload.items() if key != "petition_id"},
    })


@hookimpl
def petitionkit_goal_reached(petition: Petition, goal: int, count: int) -> None:
    settings = _settings()
    if settings is None:
        return
    post(settings, "goal.reached", f"goal.reached:{petition.slug}:{goal}", {
        "petition": petition_payload(petition), "goal": goal, "count": count,
    })
