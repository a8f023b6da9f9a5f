"""Refuse signatures from throw-away inboxes, whose owners cannot be asked again later.

The list of domains is the community-kept ``disposable-email-domains`` package; an operator adds
domains (``extra_domains``) or lets a listed one through (``allowed_domains``). Subdomains of a
listed domain are refused too.
"""

from __future__ import annotations

from collections.abc import Iterable

from disposable_email_domains import blocklist
from flask_babel import gettext

from petitionkit import hookimpl
from petitionkit.petitions.models import Petition
from petitionkit.plugins import plugin_settings
from petitionkit.signatures.services import SignatureInput

__version__ = "0.1.0"

PLUGIN_NAME = "petitionkit-disposable-email"


def _lowered(domains: Iterable[str]) -> set[str]:
    return {domain.strip().lower().rstrip(".") for domain in domains}


def is_disposable(email: str, extra: Iterable[str] = (), allowed: Iterable[str] = ()) -> bool:
    domain = email.rsplit("@", 1)[-1].strip().lower().rstrip(".")
    labels = domain.split(".")
    candidates = {".".join(labels[index:]) for index in range(len(labels) - 1)}
    if candidates & _lowered(allowed):
        return False
    return bool(candidates & blocklist or candidates & _lowered(extra))


@hookimpl
def petitionkit_validate_signature(
    petition: Petition, signature: SignatureInput
) -> dict[str, str] | None:
    settings = plugin_settings(PLUGIN_NAME)
    if is_disposable(signature.email, settings.get("extra_domains", ()),
                     settings.get("allowed_domains", ())):
        return {"email": gettext(
            "Please use an address you will keep: temporary inboxes cannot sign this petition."
        )}
    return None
