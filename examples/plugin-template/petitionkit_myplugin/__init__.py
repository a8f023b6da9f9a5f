"""Tell another system, by a JSON POST, about each confirmed signature, once.

Replace the body of the hook with what your plugin does; keep the shape: read settings with
``plugin_settings``, do nothing when unconfigured, raise to be retried, raise
``PermanentJobError`` when retrying cannot help. A job can run more than once (a worker killed
after the POST, before it marked the job done), so the plugin keeps a table of what it sent:
a plugin's own tables are models in its package and Alembic revisions in ``migrations/``.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from petitionkit import hookimpl
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit.plugins import PermanentJobError, active_when_configured, plugin_settings
from petitionkit.signatures.models import Signature
from petitionkit_myplugin.models import Sent

__version__ = "0.1.0"

PLUGIN_NAME = "petitionkit-myplugin"


class Refused(PermanentJobError):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"refused with {status_code}")
        self.status_code = status_code


@hookimpl
@active_when_configured(PLUGIN_NAME)
def petitionkit_signature_confirmed(petition: Petition, signature: Signature) -> None:
    # Runs in a worker job, never in the signer's request.
    url = plugin_settings(PLUGIN_NAME).get("url")
    if not url:
        return
    if db.session.get(Sent, signature.id) is not None:
        return  # sent by an earlier run of this job
    response = httpx.post(url, json={"petition": petition.slug, "count": petition.signature_count},
                          timeout=10)
    if response.status_code >= 500:
        response.raise_for_status()  # raises: the outbox retries with backoff
    if response.status_code >= 400:
        raise Refused(response.status_code)
    db.session.add(Sent(signature_id=signature.id))
    db.session.commit()


@hookimpl
def petitionkit_migrations() -> list[str]:
    # Applied by `petitionkit db upgrade`, as a branch of its own beside the core's revisions.
    return [str(Path(__file__).parent / "migrations")]
