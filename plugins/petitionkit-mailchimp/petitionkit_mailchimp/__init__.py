"""Upsert signers who agreed to updates into a Mailchimp audience.

``PUT /3.0/lists/{list}/members/{md5 of the lower-cased address}`` creates or updates the member.
Only ``status_if_new`` is sent, never ``status``: someone who unsubscribed stays unsubscribed,
whatever petition they sign next. Signers who did not tick the updates box are never sent.

When a consenting signature is withdrawn ("it wasn't me", an organiser's invalidation, an
erasure) and no other standing signature of the same person agreed to updates, the member is
set to ``unsubscribed``: the consent that put the address on the list is gone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import httpx

from petitionkit import hookimpl
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins import (
    PermanentJobError,
    PluginConfigError,
    active_when_configured,
    plugin_settings,
)
from petitionkit.signatures.models import Signature
from petitionkit.signatures.services import still_consenting

__version__ = "0.1.0"

PLUGIN_NAME = "petitionkit-mailchimp"
STATUSES_IF_NEW = ("pending", "subscribed")
DEFAULT_MERGE_FIELDS = {"FNAME": "given_name", "LNAME": "family_name"}
MERGE_FIELD_VALUES = ("given_name", "family_name", "name", "country", "postal_code", "petition",
                      "source")
# Mailchimp's contact languages are bare language codes ("fr"; "zh" is Simplified Chinese) but
# for a few regional ones. Traditional Chinese is "zh_TW", whether the signer's locale names the
# script (zh_Hant) or a place that writes it (Taiwan, Hong Kong, Macao).
REGIONAL_LANGUAGES = ("fr_CA", "pt_PT", "es_ES")
TRADITIONAL_CHINESE_TERRITORIES = ("TW", "HK", "MO")


class MailchimpError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"Mailchimp answered {status_code}")
        self.status_code = status_code


class MailchimpRefused(MailchimpError, PermanentJobError):
    """A 4xx (an address Mailchimp will not take, a wrong list): retrying cannot help."""


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()  # noqa: S324 - Mailchimp's member id


def api_base(settings: Mapping[str, Any]) -> str:
    """``https://<dc>.api.mailchimp.com`` from the key's ``-<dc>`` suffix, unless set."""
    if settings.get("api_url"):
        return str(settings["api_url"]).rstrip("/")
    key = str(settings["api_key"])
    if "-" not in key:
        raise PluginConfigError(f"{PLUGIN_NAME}: api_key has no data-centre suffix (like -us21)")
    return f"https://{key.rsplit('-', 1)[1]}.api.mailchimp.com"


def split_name(name: str) -> tuple[str, str]:
    words = name.split()
    return (" ".join(words[:-1]), words[-1]) if len(words) > 1 else (name.strip(), "")


def mailchimp_language(locale: str) -> str:
    """Mailchimp's code for the language of a locale such as ``fr``, ``zh_Hant`` or ``pt-PT``."""
    language, *subtags = locale.replace("-", "_").split("_")
    script = next((tag.title() for tag in subtags if len(tag) == 4), None)
    territory = next((tag.upper() for tag in subtags if len(tag) in (2, 3)), None)
    language = language.lower()
    if language == "zh":
        traditional = script == "Hant" or (
            script is None and territory in TRADITIONAL_CHINESE_TERRITORIES)
        return "zh_TW" if traditional else "zh"
    regional = f"{language}_{territory}"
    return regional if regional in REGIONAL_LANGUAGES else language


def merge_fields(mapping: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, Any]:
    """The merge fields that have a value. An empty one is left out, never sent as "": the PUT
    would blank what an existing member has there, and an audience that requires the field
    would refuse the member."""
    fields = {}
    for tag, source in mapping.items():
        if source not in MERGE_FIELD_VALUES and not source.startswith("extra."):
            raise PluginConfigError(
                f"{PLUGIN_NAME}: merge field {tag} takes {source!r}, which is none of "
                f"{', '.join(MERGE_FIELD_VALUES)} or extra.FIELD"
            )
        value = values.get(source)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        fields[tag] = value
    return fields


def member_body(
    petition: Petition, signature: Signature, settings: Mapping[str, Any]
) -> dict[str, Any]:
    given, family = split_name(signature.name)
    values: dict[str, Any] = {
        "given_name": given, "family_name": family, "name": signature.name,
        "country": signature.country, "postal_code": signature.postal_code,
        "petition": petition.slug, "source": signature.source,
        **{f"extra.{key}": value for key, value in (signature.extra or {}).items()},
    }
    mapping = settings.get("merge_fields") or DEFAULT_MERGE_FIELDS
    status_if_new = str(settings.get("status_if_new", "pending"))
    if status_if_new not in STATUSES_IF_NEW:
        raise PluginConfigError(f"{PLUGIN_NAME}: status_if_new must be pending or subscribed")
    return {
        "email_address": signature.email,
        "status_if_new": status_if_new,
        "merge_fields": merge_fields(mapping, values),
        "language": mailchimp_language(signature.locale),
    }


def _list_settings(petition: Petition) -> dict[str, Any] | None:
    """The settings when this petition's signers go to a list, else None."""
    settings = plugin_settings(PLUGIN_NAME)
    if not settings.get("list_id"):
        return None
    if not settings.get("api_key"):
        raise PluginConfigError(f"{PLUGIN_NAME}: list_id is set but api_key is not")
    petitions = settings.get("petitions")
    if petitions is not None and petition.slug not in petitions:
        return None
    return settings


def _send(method: str, settings: Mapping[str, Any], email: str, body: dict[str, Any]) -> None:
    url = (f"{api_base(settings)}/3.0/lists/{settings['list_id']}/members/"
           f"{subscriber_hash(email)}")
    response = httpx.request(
        method, url, json=body,
        auth=("petitionkit", str(settings["api_key"])),
        timeout=float(settings.get("timeout", 15)), follow_redirects=False,
        headers={"User-Agent": f"petitionkit-mailchimp/{__version__}"},
    )
    if response.status_code >= 500 or response.status_code == 429:
        raise MailchimpError(response.status_code)  # busy or down: retried with backoff
    if method == "PATCH" and response.status_code == 404:
        return  # never reached the list (or was deleted there): nothing to take back
    if response.status_code >= 300:
        raise MailchimpRefused(response.status_code)


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_signature_confirmed(petition: Petition, signature: Signature) -> None:
    settings = _list_settings(petition)
    if settings is None:
        return
    if not signature.consent_updates:
        return  # consent is the only reason an address may enter a mailing list
    _send("PUT", settings, signature.email, member_body(petition, signature, settings))


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_signature_withdrawn(petition: Petition, signature: Signature, reason: str) -> None:
    settings = _list_settings(petition)
    if settings is None or not signature.consent_updates:
        return  # this signature never put the address on the list
    if still_consenting(db.session(), signature):
        return  # another standing signature of the same person keeps the consent
    _send("PATCH", settings, signature.email, {"status": "unsubscribed"})
