"""The e-mails a signer receives, rendered at delivery time in the signer's language."""

from __future__ import annotations

import unicodedata
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

from flask import Flask, render_template
from flask_babel import force_locale, gettext

from petitionkit.extensions import db
from petitionkit.outbox.mail import new_message
from petitionkit.outbox.models import OutboxJob
from petitionkit.outbox.worker import DeliveryContext
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import PENDING, Signature
from petitionkit.signatures.normalize import shown_name
from petitionkit.signatures.services import ALREADY_SIGNED_EMAIL, CONFIRM_EMAIL
from petitionkit.signatures.tokens import Purpose, make_token


def public_url(app: Flask, path: str) -> str:
    return app.config["PUBLIC_URL"].rstrip("/") + path


def header_safe(value: str) -> str:
    """One line of text for a header: control characters (CR, LF, tab, ...) become spaces.

    Names and titles come from outside; a line break in one must never start a header of its own.
    """
    cleaned = "".join(
        " " if unicodedata.category(char) in ("Cc", "Zl", "Zp") else char for char in value
    )
    return " ".join(cleaned.split())


def build_message(
    app: Flask, kind: str, signature: Signature, petition: Petition, message_id: str | None
) -> EmailMessage:
    secret = app.config["SECRET_KEY"]
    links = {
        "confirm_url": public_url(
            app,
            "/confirm/" + make_token(secret, Purpose.CONFIRM, signature.id, signature.token_nonce),
        ),
        "cancel_url": public_url(
            app,
            "/cancel/" + make_token(secret, Purpose.CANCEL, signature.id, signature.token_nonce),
        ),
        # "Delete my data": every mail to a signer carries it.
        "erase_url": public_url(
            app,
            "/erase/" + make_token(secret, Purpose.ERASE, signature.id, signature.token_nonce),
        ),
        "petition_url": public_url(app, f"/p/{petition.slug}"),
        # The signer's own link for reporting actions taken: counted once per signer and action.
        "report_url": public_url(
            app,
            f"/p/{petition.slug}/report?token="
            + make_token(secret, Purpose.REPORT, signature.id, signature.token_nonce),
        ) if petition.report_actions else None,
    }
    template = "confirm" if kind == CONFIRM_EMAIL else "already_signed"
    locale = signature.locale or petition.locale
    title = header_safe(petition.title)
    with force_locale(locale):
        context = {
            "petition": petition,
            "signature": signature,
            "valid_days": max(1, int(app.config["CONFIRM_TOKEN_MAX_AGE"]) // 86400),
            **links,
        }
        if kind == CONFIRM_EMAIL:
            subject = gettext("Please confirm your signature: %(title)s", title=title)
        else:
            subject = gettext("You have already signed: %(title)s", title=title)
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", subject=subject, **context)
    message = new_message()
    message["Subject"] = header_safe(subject)
    message["From"] = app.config["MAIL_FROM"]
    # An Address object, not formataddr(): a name that mixes non-ASCII letters with commas or
    # angle brackets would otherwise be refolded into extra, bogus addresses in the To header.
    message["To"] = Address(display_name=header_safe(shown_name(signature.name)),
                            addr_spec=signature.email)
    if message_id:
        # Kept on the outbox row: a retried send carries the same Message-ID.
        message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    # The "it wasn't me" link: a POST to it withdraws the signature and stops all mail (RFC 8058).
    message["List-Unsubscribe"] = f"<{links['cancel_url']}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # After the body: setting content clears every Content-* header.
    message["Content-Language"] = locale.replace("_", "-")
    return message


def deliver_signer_email(job: OutboxJob, context: DeliveryContext) -> None:
    signature = db.session.get(Signature, job.payload["signature_id"])
    if (signature is None or signature.mail_suppressed or signature.erased_at is not None
            or signature.anonymised_at is not None):
        return
    if job.kind == CONFIRM_EMAIL and signature.status != PENDING:
        return
    petition = db.session.get(Petition, signature.petition_id)
    assert petition is not None
    message = build_message(context.app, job.kind, signature, petition, job.message_id)
    context.mail().send(message)


def sender_domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2] or "petitionkit.invalid"


SIGNER_EMAIL_KINDS = (CONFIRM_EMAIL, ALREADY_SIGNED_EMAIL)
