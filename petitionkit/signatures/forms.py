"""The signing form, shared by the hosted page, the embedded widget and the JSON API."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from babel import Locale
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from petitionkit.petitions.models import Petition

# Cc and Cs cover NUL and friends (which PostgreSQL refuses to store) and lone surrogates;
# U+FFFD is what the form parser leaves where the body was not valid UTF-8.
_FORBIDDEN_CATEGORIES = {"Cc", "Cs", "Co", "Zl", "Zp"}
_REPLACEMENT_CHARACTER = "\ufffd"


def _check_plain_text(value: str) -> None:
    if _REPLACEMENT_CHARACTER in value:
        raise ValidationError(
            _l("This contains characters that could not be read. Please retype it.")
        )
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in value):
        raise ValidationError(_l("This contains invisible control characters. Please retype it."))


def plain_text(form: FlaskForm, field: StringField) -> None:
    if field.data:
        _check_plain_text(field.data)


def country_codes() -> frozenset[str]:
    return frozenset(
        code for code in Locale("en").territories
        if isinstance(code, str) and len(code) == 2 and code.isalpha()
    )


_COUNTRY_CODES = country_codes()


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class SignatureForm(FlaskForm):
    class Meta:
        # Cross-site posts are refused by origin (petitionkit.security), which keeps working
        # inside a third-party iframe where the session cookie a CSRF token needs is blocked.
        csrf = False

        def get_translations(self, form: Any) -> None:
            # Every label and message of this form is our own, translated by Flask-Babel.
            # Flask-WTF would otherwise look up WTForms' catalogue on disk for every request
            # (to title the unlabelled hidden fields), a cost the signing hot path need not pay.
            return None

    name = StringField(
        _l("Your name"),
        # DataRequired looks at the value after the strip filter: blanks are no name.
        validators=[DataRequired(_l("Please enter your name.")), plain_text],
        filters=[_stripped],
    )
    email = StringField(
        _l("Email address"),
        validators=[DataRequired(_l("Please enter your email address.")), plain_text],
        filters=[_stripped],
    )
    country = StringField(_l("Country"), filters=[lambda v: v.strip().upper() if v else None])
    postal_code = StringField(
        _l("Postal code"),
        validators=[Length(max=20, message=_l("A postal code has at most 20 characters.")),
                    plain_text],
        filters=[lambda value: value.strip() if value else None],
    )
    consent_updates = BooleanField(_l("Keep me updated about this campaign"))
    show_name = BooleanField(_l("Show my name publicly among the signers"))
    source = HiddenField(validators=[
        Length(max=100, message=_l("The source has at most 100 characters.")), plain_text,
    ])
    # Three more inputs come with every post, none of them the signer's data: ``lang`` (the
    # language the page spoke), ``embed`` (sent from the widget's iframe) and the honeypot
    # ``website`` (hidden from people by CSS and aria-hidden; bots fill every field they find).
    # They are read as sent (``page_lang``, ``embedded``, ``is_bot``) rather than declared as
    # fields: nothing about them is validated, stored or shown back, and every WTForms field is
    # bound, processed and validated again on each signing.

    def __init__(self, petition: Petition, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.petition = petition
        self.extra_values: dict[str, Any] = {}
        self.extra_errors: dict[str, list[str]] = {}
        self._signature_input: Any = None

    def validate(self, extra_validators: Any = None) -> bool:
        """The core's checks, then the plugins' fields and validation hooks."""
        from petitionkit.plugin_forms import plugin_validation_errors, read_extra_fields

        self._signature_input = None
        valid = super().validate(extra_validators)
        self.extra_values, self.extra_errors = read_extra_fields(self.petition, self._submitted)
        if not valid or self.extra_errors:
            return False
        if self.is_bot():
            return True  # answered like a person and then dropped; plugins never see it
        problems = plugin_validation_errors(self.petition, self.signature_input())
        for name, messages in problems.items():
            if name in self._fields:
                self._fields[name].errors = [*self._fields[name].errors, *messages]
            else:
                self.extra_errors.setdefault(name, []).extend(messages)
            valid = False
        return valid

    @property
    def errors(self) -> dict[str, Any]:
        merged: dict[str, Any] = dict(super().errors)
        merged.update(self.extra_errors)
        return merged

    def signature_input(self) -> Any:
        """What was signed, once the form has validated; built once per form."""
        if self._signature_input is None:
            self._signature_input = self._build_signature_input()
        return self._signature_input

    def _build_signature_input(self) -> Any:
        from petitionkit.i18n import current_locale_name
        from petitionkit.signatures.services import SignatureInput

        return SignatureInput(
            name=self.name.data,
            email=self.email.data,
            country=self.country.data or None,
            postal_code=self.postal_code.data or None,
            consent_updates=bool(self.consent_updates.data),
            show_name=bool(self.show_name.data),
            locale=current_locale_name(),
            source=self.source.data or None,
            extra=dict(self.extra_values),
        )

    def validate_name(self, field: StringField) -> None:
        limit = current_app.config["MAX_NAME_LENGTH"]
        if len(field.data) > limit:
            raise ValidationError(
                _l("Please shorten your name to %(limit)d characters.", limit=limit)
            )

    def validate_email(self, field: StringField) -> None:
        if len(field.data) > 254:
            raise ValidationError(_l("An email address has at most 254 characters."))
        try:
            result = validate_email(field.data, check_deliverability=False)
        except EmailNotValidError as error:
            raise ValidationError(
                _l("This does not look like an email address (%(reason)s).", reason=str(error))
            ) from error
        field.data = result.normalized

    def validate_country(self, field: StringField) -> None:
        if not field.data:
            if self.petition.asks_country:
                raise ValidationError(_l("Please choose your country."))
            field.data = None
            return
        if field.data not in _COUNTRY_CODES:
            raise ValidationError(_l("Please choose a country from the list."))

    def validate_postal_code(self, field: StringField) -> None:
        if self.petition.asks_postal_code and not field.data:
            raise ValidationError(_l("Please enter your postal code."))

    @cached_property
    def _submitted(self) -> Mapping[str, Any]:
        from petitionkit.plugin_forms import submitted_values

        return submitted_values()

    def _sent(self, key: str) -> str:
        submitted = self._submitted
        # ``in`` first: Werkzeug's ``get`` of an absent key raises and catches an exception.
        value = submitted[key] if key in submitted else None
        return value if isinstance(value, str) else ""

    @property
    def page_lang(self) -> str | None:
        return self._sent("lang") or None

    @property
    def embedded(self) -> bool:
        return self._sent("embed") == "1"

    def is_bot(self) -> bool:
        return bool(self._sent("website"))


def country_choices(locale: str) -> list[tuple[str, str]]:
    names = Locale.parse(locale).territories
    return sorted(
        ((code, names.get(code, code)) for code in _COUNTRY_CODES), key=lambda item: item[1]
    )
