"""The letter a target receives, and the e-mail that carries it."""

from __future__ import annotations

from email.utils import formataddr, make_msgid

from babel import Locale
from flask import Flask

from petitionkit.outbox.mail import new_message, open_transport
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import Signature
from petitionkit.signatures.normalize import shown_name
from petitionkit.targets import Delivery, Target

LETTER_FIELD = "letter_text"


def locality(signature: Signature) -> str:
    """Country name and postal code where the signer gave them; nothing finer is ever kept."""
    parts = []
    if signature.country:
        parts.append(Locale("en").territories.get(signature.country, signature.country))
    if signature.postal_code:
        parts.append(signature.postal_code)
    return ", ".join(parts)


def signer_line(signature: Signature) -> str:
    name = shown_name(signature.name)
    place = locality(signature)
    return f"{name} ({place})" if place else name


# A salutation that already ends in punctuation ("Dear Minister,", "尊敬的局长：") keeps it.
_CLOSING_PUNCTUATION = (",", ":", "：", "，", "、", "!", "،")


def salutation(petition: Petition, target: Target) -> str:
    text = target.salutation or str((petition.letter or {}).get("salutation") or "")
    text = text.strip() or f"Dear {target.display_name()}"
    return text if text.endswith(_CLOSING_PUNCTUATION) else text + ","


def render_letter(petition: Petition, target: Target, signatures: list[Signature]) -> str:
    """Plain text: salutation, the petition's words, then who signed.

    Signers appear by name only if they agreed to be shown; the others are counted. A signer's
    own words (where the petition lets them edit the letter) are quoted under their name, or
    under "A signer who asked not to be named" — their words go along, their name does not.
    """
    lines = [salutation(petition, target), "", petition.body.strip(), ""]
    closing = (petition.letter or {}).get("closing")
    if closing:
        lines += [str(closing).strip(), ""]
    named = [s for s in signatures if s.show_name]
    unnamed = len(signatures) - len(named)
    if named:
        lines.append("Signed by:")
        for signature in named:
            lines.append(f"- {signer_line(signature)}")
            lines.extend(_quoted_words(signature))
    if unnamed:
        lines.append(
            f"{'And ' if named else ''}{unnamed} {'person' if unnamed == 1 else 'people'} "
            "who asked not to be named."
        )
        for signature in signatures:
            words = _quoted_words(signature)
            if not signature.show_name and words:
                lines.append("- A signer who asked not to be named:")
                lines.extend(words)
    total = petition.signature_count
    lines += ["", f"In total {total} {'person has' if total == 1 else 'people have'} signed "
                  f"\"{petition.title}\"."]
    return "\n".join(lines) + "\n"


def _quoted_words(signature: Signature) -> list[str]:
    own_words = (signature.extra or {}).get(LETTER_FIELD)
    return [f"    {line}" for line in str(own_words).splitlines()] if own_words else []


def email_delivery(
    app: Flask, petition: Petition, target: Target, signatures: list[Signature]
) -> Delivery:
    letter = petition.letter or {}
    mode = str(letter.get("delivery", "off"))
    subject = f"{petition.title}: {len(signatures)} new signature(s)"
    body = render_letter(petition, target, signatures)
    if mode == "test":
        organizer = letter.get("organizer_email")
        if not organizer:
            raise ValueError(
                f"petition {petition.slug}: test delivery needs letter.organizer_email"
            )
        recipient = formataddr(("Organizer", str(organizer)))
        subject = f"[TEST for {target.display_name()}] {subject}"
        body = (f"Test mode: this letter would go to {target.display_name()} "
                f"<{target.email}>.\n\n" + body)
    elif mode == "live":
        assert target.email
        recipient = formataddr((target.display_name(), target.email))
    else:
        raise ValueError(f"petition {petition.slug}: delivery is {mode}")
    message = new_message()
    message["From"] = app.config["MAIL_FROM"]
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="petitionkit.invalid")
    message.set_content(body)
    config = app.config
    with open_transport(config["MAIL_URL"], config["DEV_MAIL_DIR"], config["MAIL_TIMEOUT"]) as mail:
        mail.send(message)
    return Delivery("email", "to the organizer (test mode)" if mode == "test" else "to the target")
