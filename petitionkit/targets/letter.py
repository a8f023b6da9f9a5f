"""The letter a target receives, and the e-mail that carries it."""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import formataddr, make_msgid
from urllib.parse import quote, urlencode

from babel import Locale, UnknownLocaleError
from flask import Flask
from flask_babel import force_locale, gettext, ngettext

from petitionkit.outbox.mail import new_message, open_transport
from petitionkit.petitions.models import Petition
from petitionkit.signatures.models import ORGANIZATION, Signature
from petitionkit.signatures.normalize import shown_name
from petitionkit.targets import Delivery, Target

LETTER_FIELD = "letter_text"


def locality(signature: Signature, locale: str = "en") -> str:
    """Country name and postal code where the signer gave them; nothing finer is ever kept."""
    parts = []
    if signature.country:
        parts.append(country_name(signature.country, locale))
    if signature.postal_code:
        parts.append(signature.postal_code)
    return ", ".join(parts)


def country_name(code: str, locale: str = "en") -> str:
    """The country's name in ``locale``, or the code itself where Babel knows no name for it."""
    return _territories(locale).get(code.upper(), code)


def _territories(locale: str) -> Mapping[str, str]:
    try:
        return Locale.parse(locale.replace("-", "_")).territories
    except (ValueError, UnknownLocaleError):
        return Locale("en").territories


def is_organization(signature: Signature) -> bool:
    return signature.kind == ORGANIZATION


def sendable(signature: Signature) -> bool:
    """Whether a signature may reach a target: a person's once confirmed, an organisation's
    only once an organiser approved it (anyone can type an organisation's name)."""
    return not is_organization(signature) or signature.approved_at is not None


def named(signature: Signature) -> bool:
    """Named in a letter: a person who agreed to be shown, or an approved organisation (its
    contact person is never named)."""
    return signature.approved_at is not None if is_organization(signature) \
        else bool(signature.show_name)


def signer_line(signature: Signature, locale: str = "en") -> str:
    """A person's name and locality, or an organisation's name and country."""
    if is_organization(signature):
        name = shown_name(signature.organization or "")
        place = country_name(signature.country, locale) if signature.country else ""
    else:
        name = shown_name(signature.name)
        place = locality(signature, locale)
    return f"{name} ({place})" if place else name


# A salutation that already ends in punctuation ("Dear Minister,", "尊敬的局长：") keeps it.
_CLOSING_PUNCTUATION = (",", ":", "：", "，", "、", "!", "،")


def salutation(petition: Petition, target: Target) -> str:
    """Called with the petition's language in force (see ``render_letter``)."""
    text = target.salutation or str((petition.letter or {}).get("salutation") or "")
    text = text.strip() or gettext("Dear %(name)s", name=target.display_name())
    return text if text.endswith(_CLOSING_PUNCTUATION) else text + ","


def letter_words(petition: Petition) -> str:
    """The letter every signer starts from: ``letter.sample``, or the petition's own text."""
    return str((petition.letter or {}).get("sample") or petition.body).strip()


def sends_by_engine(petition: Petition) -> bool:
    return str((petition.letter or {}).get("via", "engine")) in ("engine", "both")


def engine_delivers(petition: Petition) -> bool:
    """Whether the engine sends letters: ``via`` engine or both, and ``delivery`` test or live.

    With delivery off nothing is sent, so the letter box is not offered either: a signer's
    words would be kept and reach nobody."""
    return sends_by_engine(petition) and \
        str((petition.letter or {}).get("delivery", "off")) in ("test", "live")


def sends_by_signer(petition: Petition) -> bool:
    return str((petition.letter or {}).get("via", "engine")) in ("signer", "both")


def letter_subject(petition: Petition) -> str:
    return str((petition.letter or {}).get("subject") or petition.title)


def render_letter(petition: Petition, target: Target, signatures: list[Signature]) -> str:
    """Plain text in the petition's language: salutation, the letter, then who signed.

    Signers appear by name only if they agreed to be shown; the others are counted. Approved
    organisations are named with their country; one not approved is left out altogether. A signer's
    own words (where the petition lets them edit the letter) are quoted under their name, or
    under "A signer who asked not to be named" — their words go along, their name does not.
    """
    with force_locale(petition.locale):
        return _render_letter(petition, target, signatures)


def _render_letter(petition: Petition, target: Target, signatures: list[Signature]) -> str:
    locale = petition.locale
    signatures = [s for s in signatures if sendable(s)]
    lines = [salutation(petition, target), ""]
    if len(signatures) == 1 and not batched(petition):
        # One letter per signer: their own words are the letter, signed by them.
        signature = signatures[0]
        own_words = (signature.extra or {}).get(LETTER_FIELD)
        lines += [str(own_words).strip() if own_words else letter_words(petition), ""]
        lines += _closing(petition)
        lines.append(signer_line(signature, locale) if named(signature)
                     else gettext("A signer who asked not to be named"))
    else:
        lines += [letter_words(petition), ""]
        lines += _closing(petition)
        lines += _signers(signatures, locale)
    # Paper signatures count too: the total is what the officials are told.
    total = (petition.signature_count or 0) + (petition.offline_count or 0)
    if petition.takes_people:
        lines += ["", ngettext('In total %(num)d person has signed "%(title)s".',
                               'In total %(num)d people have signed "%(title)s".',
                               total, title=petition.title)]
    else:
        lines += ["", ngettext('In total %(num)d organisation has signed "%(title)s".',
                               'In total %(num)d organisations have signed "%(title)s".',
                               total, title=petition.title)]
    return "\n".join(lines) + "\n"


def _closing(petition: Petition) -> list[str]:
    closing = (petition.letter or {}).get("closing")
    return [str(closing).strip(), ""] if closing else []


def _signers(signatures: list[Signature], locale: str) -> list[str]:
    lines = []
    organizations = [s for s in signatures if is_organization(s)]
    people = [s for s in signatures if not is_organization(s) and s.show_name]
    unnamed = len(signatures) - len(organizations) - len(people)
    if organizations:
        lines.append(gettext("Signed by these organisations:"))
        for signature in organizations:
            lines.append(f"- {signer_line(signature, locale)}")
            lines.extend(_quoted_words(signature))
    if people:
        lines.append(gettext("Signed by:"))
        for signature in people:
            lines.append(f"- {signer_line(signature, locale)}")
            lines.extend(_quoted_words(signature))
    if unnamed and (people or organizations):
        lines.append(ngettext("And %(num)d person who asked not to be named.",
                              "And %(num)d people who asked not to be named.", unnamed))
    elif unnamed:
        lines.append(ngettext("%(num)d person who asked not to be named.",
                              "%(num)d people who asked not to be named.", unnamed))
    for signature in signatures:
        words = _quoted_words(signature)
        if not named(signature) and words:
            lines.append("- " + gettext("A signer who asked not to be named:"))
            lines.extend(words)
    return lines


def batched(petition: Petition) -> bool:
    """Letters list many signers (the default), or each signer's letter goes on its own."""
    return bool((petition.letter or {}).get("batch", True))


def _quoted_words(signature: Signature) -> list[str]:
    own_words = (signature.extra or {}).get(LETTER_FIELD)
    return [f"    {line}" for line in str(own_words).splitlines()] if own_words else []


def mailto_link(petition: Petition, target: Target) -> str:
    """A ``mailto:`` link that opens the signer's own mail program with the letter to edit.

    Nothing of the letter passes through the engine: the page only carries the sample.
    """
    assert target.email
    with force_locale(petition.locale):
        greeting = salutation(petition, target)
    body = "\n\n".join(
        part for part in (greeting, letter_words(petition),
                          str((petition.letter or {}).get("closing") or "").strip()) if part
    )
    # RFC 6068: the address stays readable; subject and body are percent-encoded UTF-8, with
    # line breaks as CRLF.
    query = urlencode({"subject": letter_subject(petition),
                       "body": body.replace("\r\n", "\n").replace("\n", "\r\n")},
                      quote_via=quote)
    return f"mailto:{quote(target.email, safe='@')}?{query}"


def mailto_links(petition: Petition) -> list[tuple[Target, str]]:
    """The targets a signer can write to from their own mail program, with their links."""
    if not sends_by_signer(petition):
        return []
    targets = [Target.from_mapping(values) for values in petition.targets or []]
    return [(target, mailto_link(petition, target)) for target in targets if target.email]


def email_delivery(
    app: Flask, petition: Petition, target: Target, signatures: list[Signature]
) -> Delivery:
    letter = petition.letter or {}
    mode = str(letter.get("delivery", "off"))
    body = render_letter(petition, target, signatures)
    if mode not in ("test", "live"):
        raise ValueError(f"petition {petition.slug}: delivery is {mode}")
    with force_locale(petition.locale):
        subject = letter_subject(petition) if not batched(petition) else ngettext(
            "%(title)s: %(num)d new signature", "%(title)s: %(num)d new signatures",
            len(signatures), title=letter_subject(petition))
        if mode == "test":
            organizer = letter.get("organizer_email")
            if not organizer:
                raise ValueError(
                    f"petition {petition.slug}: test delivery needs letter.organizer_email"
                )
            recipient = formataddr(("Organizer", str(organizer)))
            subject = gettext("[TEST for %(target)s] %(subject)s",
                              target=target.display_name(), subject=subject)
            body = gettext("Test mode: this letter would go to %(target)s <%(address)s>.",
                           target=target.display_name(), address=target.email or "") \
                + "\n\n" + body
        else:
            assert target.email
            recipient = formataddr((target.display_name(), target.email))
    message = new_message()
    message["From"] = app.config["MAIL_FROM"]
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="petitionkit.invalid")
    message.set_content(body)
    message["Content-Language"] = petition.locale.replace("_", "-")  # after set_content
    config = app.config
    with open_transport(config["MAIL_URL"], config["DEV_MAIL_DIR"], config["MAIL_TIMEOUT"]) as mail:
        mail.send(message)
    return Delivery("email", "to the organizer (test mode)" if mode == "test" else "to the target")
