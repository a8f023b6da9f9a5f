"""The workspace's forms. Each carries Flask-WTF's CSRF token (the workspace's pages are
first-party cookie pages, unlike the signing form in the iframe)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from petitionkit.admin.accounts import PASSWORD_MAX_LENGTH
from petitionkit.admin.models import EMAIL_MAX, ROLES

ROLE_LABELS = {
    "viewer": _l("Viewer: sees the figures"),
    "moderator": _l("Moderator: also signatures, organisations and public names"),
    "editor": _l("Editor: also petitions"),
    "owner": _l("Owner: also users and settings"),
}


class LoginForm(FlaskForm):
    # A text input (with the e-mail keyboard): password managers fill it as the user name.
    email = StringField(_l("E-mail address"), validators=[DataRequired(), Length(max=EMAIL_MAX)],
                        render_kw={"inputmode": "email", "spellcheck": "false"})
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)])


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64)])


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"),
                             validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)])
    confirm = PasswordField(_l("The same password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ.")),
    ])


class AddUserForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=EMAIL_MAX)])
    role = SelectField(_l("Role"), default="viewer",
                       choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES])



# More petitions than any instance holds, so that a forged post cannot make a huge query.
CHOICES_MAX = 10_000


def chosen_petitions(formdata: MultiDict[str, str]) -> list[str]:
    """The slugs ticked in a choice of petitions (admin/_petition_choice.html): repeated
    ``petition`` checkboxes, which the limiting service checks against the petitions."""
    return formdata.getlist("petition")[:CHOICES_MAX]


class LimitForm(FlaskForm):
    """The petitions an account is limited to come as repeated ``petition`` checkboxes, read
    with ``chosen_petitions``; the form carries the CSRF token."""


class TokenForm(FlaskForm):
    """A token's name and role; the petitions it is limited to come as for ``LimitForm``."""

    name = StringField(_l("What uses it"), validators=[DataRequired(), Length(max=100)],
                       description=_l("A name for the list and the audit log, such as "
                                      "“newsletter sync”."))
    role = SelectField(_l("Role"), default="viewer",
                       choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES])
