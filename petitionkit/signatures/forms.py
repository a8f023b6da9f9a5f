"""The signing form, shared by the hosted page, the embedded widget and the JSON API.

A post is read and checked by ``read_signing_post``: plain functions over the submitted values,
the same rules for a web form and a JSON object. ``SignatureForm`` (WTForms) declares the fields
with their labels and renders them; a page built after a refused post shows the post's values
and its errors through it. Checking a post does not go through WTForms, which binds, processes
and validates every field anew on each request: on the signing path, the busiest of all, that
cost a fifth of a signing's instructions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from babel import Locale
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from flask import current_app, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField

from petitionkit.i18n import current_locale_name
from petitionkit.petitions.models import Petition
from petitionkit.plugins import calls
from petitionkit.plugins.fields import read_extra_fields
from petitionkit.privacy.consent import DEFAULT_CONSENT
from petitionkit.signatures.models import (
    ORGANIZATION,
    ORGANIZATION_NAME_MAX,
    ORGANIZATION_URL_MAX,
    PERSON,
)
from petitionkit.signatures.normalize import shown_name
from petitionkit.signatures.rules import (
    embedding_site,
    published_text_problem,
    text_problem,
    website_problem,
)
from petitionkit.signatures.services import SignatureInput

MAX_EMAIL_LENGTH = 254
MAX_POSTAL_CODE_LENGTH = 20
MAX_SOURCE_LENGTH = 100
# What a checkbox sends when it is not ticked (WTForms' BooleanField reads the same).
_UNTICKED = (False, "false", "")


def country_codes() -> frozenset[str]:
    return frozenset(
        code for code in Locale("en").territories
        if isinstance(code, str) and len(code) == 2 and code.isalpha()
    )


_COUNTRY_CODES = country_codes()


def country_choices(locale: str) -> list[tuple[str, str]]:
    names = Locale.parse(locale).territories
    return sorted(
        ((code, names.get(code, code)) for code in _COUNTRY_CODES), key=lambda item: item[1]
    )




@dataclass
class SigningPost:
    """A signing post, read and checked.

    ``values`` are the core fields as they will be stored (stripped, the address normalised),
    ``errors`` the problems by field name (core fields first, then the plugins' fields); no
    errors means it may be signed. ``page_lang`` (the language the page spoke), ``embedded``
    (sent from the widget's iframe), ``is_bot`` (the honeypot ``website`` was filled) and
    ``challenge`` (the proof-of-work solution ``altcha``, checked by the signing views when the
    petition asks for one) come from inputs that are not the signer's data: read as sent, never
    stored or shown back.
    """

    values: dict[str, Any]
    extra_values: dict[str, Any]
    errors: dict[str, list[str]]
    # Names of the extra fields marked personal (FormField.personal): stored sealed.
    personal_fields: frozenset[str]
    page_lang: str | None
    embedded: bool
    is_bot: bool
    challenge: object = field(default=None)
    signature: SignatureInput | None = field(default=None)

    def signed(self) -> SignatureInput:
        """What is signed; only a post without errors has it."""
        if self.signature is None:
            raise ValueError("a refused post has nothing to sign")
        return self.signature


class _Submitted:
    """The posted values (a form's or a JSON object's), read without exceptions."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def raw(self, key: str) -> Any:
        # ``in`` first: Werkzeug's ``get`` of an absent key raises and catches an exception.
        return self.values[key] if key in self.values else None

    def text(self, key: str) -> str | None:
        value = self.raw(key)
        return value if isinstance(value, str) else None

    def stripped(self, key: str) -> str | None:
        value = self.text(key)
        return value.strip() if value is not None else None

    def ticked(self, key: str) -> bool:
        return key in self.values and self.raw(key) not in _UNTICKED


def submitted_values() -> Mapping[str, Any]:
    """The post's values, from a web form or a JSON object alike."""
    if request.is_json:
        payload = request.get_json(silent=True)
        return payload if isinstance(payload, dict) else {}
    return request.form


def read_signing_post(petition: Petition) -> SigningPost:
    """Read the current request's signing post (form or JSON) and check it: the core's rules,
    then the plugins' fields and, when all is well so far, their validation hooks."""
    submitted = _Submitted(submitted_values())
    embedded = submitted.text("embed") == "1"
    values: dict[str, Any] = {
        "signer": submitted.stripped("signer") or None,
        "organization": submitted.stripped("organization") or None,
        "organization_url": submitted.stripped("organization_url") or None,
        "name": submitted.stripped("name"),
        "email": submitted.stripped("email"),
        "country": (submitted.stripped("country") or "").upper() or None,
        "postal_code": submitted.stripped("postal_code") or None,
        "consent_updates": submitted.ticked("consent_updates"),
        "show_name": submitted.ticked("show_name"),
        "source": submitted.text("source"),
        # Cleaned, never refused: the signer did not type it (rules.embedding_site).
        "site": embedding_site(submitted.text("site")) if embedded else None,
    }
    errors = _core_errors(petition, values)
    fields = calls.form_fields(petition)
    extra_values, extra_errors = read_extra_fields(fields, submitted.values)
    post = SigningPost(
        values=values,
        extra_values=extra_values,
        personal_fields=frozenset(field.name for field in fields if field.personal),
        errors=errors,
        page_lang=submitted.text("lang") or None,
        embedded=embedded,
        is_bot=bool(submitted.text("website")),
        challenge=submitted.raw("altcha"),
    )
    if errors or extra_errors:
        post.errors = {**errors, **extra_errors}
        return post
    post.signature = _signature_input(post)
    if post.is_bot:
        return post  # answered like a person and then dropped; plugins never see it
    refused = calls.validation_errors(petition, post.signature)
    if refused:
        # The core fields first, in the form's order, as for the core's own errors.
        post.errors = {name: refused[name] for name in values if name in refused}
        post.errors.update(refused)
        post.signature = None
    return post


def _signer_problems(petition: Petition, values: dict[str, Any]) -> dict[str, list[str]]:
    """Who signs: sets ``values["signer"]`` to ``PERSON`` or ``ORGANIZATION`` as the petition
    and the post say, and checks the organisation's fields when it is one.

    A petition of people refuses an organisation's fields; one of organisations takes only
    those; with both, ``signer`` chooses, or without it (the JSON API) whether an
    ``organization`` is given. A person's post from a form with both may carry the
    organisation's fields the signer filled before choosing: they are not read."""
    chosen = values["signer"]
    if chosen not in (None, PERSON, ORGANIZATION):
        values["signer"] = PERSON if petition.takes_people else ORGANIZATION
        return {"signer": [gettext(
            "Please choose whether you sign as a person or for an organisation."
        )]}
    if not petition.takes_organizations:
        values["signer"] = PERSON
        if chosen == ORGANIZATION or values["organization"] or values["organization_url"]:
            return {"organization": [gettext(
                "This petition is signed by people only, not by organisations."
            )]}
        return {}
    if not petition.takes_people:
        if chosen == PERSON:
            values["signer"] = ORGANIZATION
            return {"signer": [gettext("This petition is signed by organisations only.")]}
        values["signer"] = ORGANIZATION
    elif chosen is None:
        values["signer"] = ORGANIZATION if values["organization"] else PERSON
    if values["signer"] == PERSON:
        values["organization"] = values["organization_url"] = None
        return {}
    values["show_name"] = False  # the contact person is never shown
    problems: dict[str, list[str]] = {}
    organization = values["organization"]
    if not organization or not shown_name(organization):
        problems["organization"] = [gettext("Please enter the organisation's name.")]
    elif len(organization) > ORGANIZATION_NAME_MAX:
        problems["organization"] = [gettext(
            "Please shorten the organisation's name to %(limit)d characters.",
            limit=ORGANIZATION_NAME_MAX,
        )]
    else:
        problems["organization"] = published_text_problem(organization)
    if values["organization_url"]:
        problems["organization_url"] = website_problem(values["organization_url"],
                                                       ORGANIZATION_URL_MAX)
    return problems


def _core_errors(petition: Petition, values: dict[str, Any]) -> dict[str, list[str]]:
    """The core fields' problems, in the form's order; cleans ``values`` in place."""
    problems: dict[str, list[str]] = _signer_problems(petition, values)
    as_person = values["signer"] == PERSON
    name = values["name"]
    if not name or not shown_name(name):
        # A name of characters that draw nothing would show as a blank wherever it is shown.
        problems["name"] = [gettext("Please enter your name.")]
    else:
        limit = int(current_app.config["MAX_NAME_LENGTH"])
        problems["name"] = text_problem(name) + (
            [gettext("Please shorten your name to %(limit)d characters.", limit=limit)]
            if len(name) > limit else []
        )
    email = values["email"]
    if not email:
        problems["email"] = [gettext("Please enter your email address.")]
    else:
        problems["email"] = text_problem(email) + _email_problem(values)
    country = values["country"]
    if not country:
        if petition.asks_country and as_person:
            problems["country"] = [gettext("Please choose your country.")]
    elif country not in _COUNTRY_CODES:
        problems["country"] = [gettext("Please choose a country from the list.")]
    postal_code = values["postal_code"]
    problems["postal_code"] = (
        [gettext("A postal code has at most 20 characters.")]
        if postal_code and len(postal_code) > MAX_POSTAL_CODE_LENGTH else []
    ) + text_problem(postal_code) + (
        [gettext("Please enter your postal code.")]
        if petition.asks_postal_code and as_person and not postal_code else []
    )
    source = values["source"]
    problems["source"] = (
        [gettext("The source has at most 100 characters.")]
        if source and len(source) > MAX_SOURCE_LENGTH else []
    ) + text_problem(source)
    return {name: messages for name, messages in problems.items() if messages}


def _email_problem(values: dict[str, Any]) -> list[str]:
    """Checks the address with email-validator; stores its normalised form in ``values``."""
    email: str = values["email"]
    if len(email) > MAX_EMAIL_LENGTH:
        return [gettext("An email address has at most 254 characters.")]
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        # email-validator's reason is English whatever the page's language: our own words.
        if _domain_takes_no_mail(email):
            return [gettext("The domain of this email address does not accept mail.")]
        return [gettext("This email address is not valid.")]
    values["email"] = result.normalized
    return []


def _domain_takes_no_mail(email: str) -> bool:
    """Whether an address email-validator refused is refused for its domain alone: a name set
    aside from the Internet's mail (``localhost``, ``.invalid``, ``.test``…), or one that is fine
    but for lacking a top-level domain (``ana@gmail``). No DNS is asked."""
    if "@" not in email:
        return False
    domain = email.rpartition("@")[2].lower().rstrip(".")
    if any(domain == name or domain.endswith("." + name) for name in SPECIAL_USE_DOMAIN_NAMES):
        return True
    try:
        validate_email(email, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError:
        return False
    return True


def _signature_input(post: SigningPost) -> SignatureInput:
    values = post.values
    return SignatureInput(
        name=values["name"],
        email=values["email"],
        country=values["country"],
        postal_code=values["postal_code"],
        consent_updates=values["consent_updates"],
        show_name=values["show_name"],
        locale=current_locale_name(),
        source=values["source"] or None,
        site=values["site"],
        extra={key: value for key, value in post.extra_values.items()
               if key not in post.personal_fields},
        personal_extra={key: value for key, value in post.extra_values.items()
                        if key in post.personal_fields},
        kind=values["signer"],
        organization=values["organization"],
        organization_url=values["organization_url"],
    )


class SignatureForm(FlaskForm):
    """The fields as the pages render them: labels, values and, after a refused post, errors."""

    class Meta:
        # Cross-site posts are refused by origin (petitionkit.security), which keeps working
        # inside a third-party iframe where the session cookie a CSRF token needs is blocked.
        csrf = False

        def get_translations(self, form: Any) -> None:
            # Every label of this form is our own, translated by Flask-Babel.
            return None

    # A pair of radio buttons, rendered by the template from ``signer_choices``.
    signer = StringField(_l("I sign"))
    signer_choices = ((PERSON, _l("as a person")), (ORGANIZATION, _l("for an organisation")))
    organization = StringField(_l("Organisation"))
    organization_url = StringField(_l("Organisation's website (optional)"))
    name = StringField(_l("Your name"))
    email = StringField(_l("Email address"))
    country = StringField(_l("Country"))
    postal_code = StringField(_l("Postal code"))
    consent_updates = BooleanField(DEFAULT_CONSENT)
    show_name = BooleanField(_l("Show my name publicly among the signers"))
    source = HiddenField()
    # The embedding page's host, in the widget's form only (embed.views.show).
    site = HiddenField()
    # Besides these, every post carries ``lang``, ``embed`` and the honeypot ``website``
    # (hidden from people by CSS and aria-hidden; bots fill every field they find), and, while
    # the petition asks for the proof-of-work check, ``altcha``: see ``SigningPost``.

    def __init__(self, petition: Petition, post: SigningPost | None = None) -> None:
        super().__init__(formdata=None)
        self.petition = petition
        self.extra_values: dict[str, Any] = {}
        self.extra_errors: dict[str, list[str]] = {}
        # A solution the post was not refused for goes back into the page, to be sent again.
        self.challenge = ""
        if post is not None:
            self.show(post)

    def show(self, post: SigningPost) -> None:
        """Fill the fields with a refused post's values and errors."""
        for name, form_field in self._fields.items():
            form_field.data = post.values.get(name)
            form_field.errors = list(post.errors.get(name, ()))
        self.extra_values = dict(post.extra_values)
        self.extra_errors = {name: messages for name, messages in post.errors.items()
                             if name not in self._fields}
        if isinstance(post.challenge, str) and "altcha" not in post.errors:
            self.challenge = post.challenge

    @property
    def errors(self) -> dict[str, Any]:
        merged: dict[str, Any] = dict(super().errors)
        merged.update(self.extra_errors)
        return merged
