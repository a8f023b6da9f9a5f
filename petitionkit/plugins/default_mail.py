"""Built-in: the e-mails to signers (confirmation requests, "you have already signed")."""

from __future__ import annotations

from collections.abc import Mapping

from petitionkit.outbox.worker import JobHandler
from petitionkit.plugins.specs import hookimpl
from petitionkit.signatures.emails import SIGNER_EMAIL_KINDS, deliver_signer_email


@hookimpl(trylast=True)
def petitionkit_job_handlers() -> Mapping[str, JobHandler]:
    return dict.fromkeys(SIGNER_EMAIL_KINDS, deliver_signer_email)
