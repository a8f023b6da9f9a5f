"""``petitionkit users``: staff accounts of the workspace from the command line."""

from __future__ import annotations

import getpass
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect

from petitionkit.admin import access, accounts, audit, passkeys
from petitionkit.admin.accounts import AccountError
from petitionkit.admin.models import ROLES, StaffUser
from petitionkit.extensions import db
from petitionkit.keys import KEYS


def _actor() -> str:
    return audit.command_line_actor(getpass.getuser())


def _require_tables() -> None:
    """Stop with the fix, not a traceback, when the database was never migrated this far."""
    if "staff_users" not in inspect(db.engine).get_table_names():
        raise click.ClickException(
            "the database has no staff accounts table yet; run `petitionkit db upgrade` first"
        )


@click.group("users")
def users_group() -> None:
    """Staff accounts of the workspace at /admin."""


@users_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input instead of printing a link.")
@with_appcontext
def users_add(email: str, role: str, password_stdin: bool) -> None:
    """Add an account and print a one-time link that sets its password.

    The link works once and expires after ADMIN_SETUP_LINK_MAX_AGE seconds. With
    --password-stdin the password is read from the first line of standard input (for
    automation); the second factor is still set up at the first sign-in.
    """
    _require_tables()
    session = db.session()
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        if password is not None:
            accounts.check_password_rules(
                password, int(current_app.config["ADMIN_PASSWORD_MIN_LENGTH"]))
        user = accounts.add_user(session, email, role, _actor())
        if password is not None:
            accounts.set_password(session, user, password,
                                  int(current_app.config["ADMIN_PASSWORD_MIN_LENGTH"]), _actor())
            click.echo(f"added {user.email} ({role}) with the password given")
            return
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    token = accounts.issue_setup_token(session, KEYS.of(), user)
    seconds = int(current_app.config["ADMIN_SETUP_LINK_MAX_AGE"])
    valid = f"{seconds // 3600} h" if seconds >= 3600 else f"{max(1, seconds // 60)} min"
    click.echo(f"added {user.email} ({role})")
    click.echo(f"one-time link to set the password (valid {valid}, works once):")
    click.echo(accounts.setup_link(str(current_app.config["PUBLIC_URL"]), token))


@users_group.command("list")
@with_appcontext
def users_list() -> None:
    """E-mail address, role, state, second factor (passkey, totp, passkey+totp or none),
    creation time and petitions (when limited) of every account, one per line, separated by
    tabs."""
    _require_tables()
    users = accounts.list_users(db.session())
    for user in users:
        if user.disabled:
            state = "disabled"
        elif user.password_hash is None:
            state = "no password yet"
        else:
            state = "active"
        kinds = (["passkey"] if user.passkeys else []) + (["totp"] if user.has_totp else [])
        second = "+".join(kinds) or "no second factor"
        created = user.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        petitions = ",".join(access.slugs_of(db.session(), user)) or "every petition"
        click.echo(f"{user.email}\t{user.role}\t{state}\t{second}\t{created}\t{petitions}")
    click.echo(f"{len(users)} account(s)", err=True)


@users_group.command("remove")
@click.argument("email")
@with_appcontext
def users_remove(email: str) -> None:
    """Remove an account; its sign-ins end at once. The last owner cannot be removed."""
    _require_tables()
    session = db.session()
    user = accounts.find_user(session, email)
    if user is None:
        raise click.ClickException(f"there is no account for {email!r}")
    try:
        accounts.remove_user(session, user, _actor())
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"removed {user.email}")


@users_group.command("limit")
@click.argument("email")
@click.argument("slugs", nargs=-1)
@click.option("--every-petition", is_flag=True, help="Lift the limit: every petition again.")
@with_appcontext
def users_limit(email: str, slugs: tuple[str, ...], every_petition: bool) -> None:
    """Limit an account to the petitions SLUGS (or lift the limit with --every-petition).

    A limited account sees only those petitions in the workspace; owners cannot be limited.
    """
    _require_tables()
    if bool(slugs) == every_petition:
        raise click.UsageError("name the petitions, or pass --every-petition (not both)")
    session = db.session()
    user = accounts.find_user(session, email)
    if user is None:
        raise click.ClickException(f"there is no account for {email!r}")
    try:
        chosen = access.limit(session, user, slugs, _actor())
    except AccountError as error:
        session.rollback()
        raise click.ClickException(str(error)) from error
    session.commit()
    if chosen:
        click.echo(f"{user.email} now sees only: {', '.join(chosen)}")
    else:
        click.echo(f"{user.email} now sees every petition its role reaches")


def _account(email: str) -> StaffUser:
    _require_tables()
    user = accounts.find_user(db.session(), email)
    if user is None:
        raise click.ClickException(f"there is no account for {email!r}")
    return user


@users_group.command("reset-second-factor")
@click.argument("email")
@with_appcontext
def users_reset_second_factor(email: str) -> None:
    """Remove an account's passkeys, authenticator app and recovery codes, and end its
    sign-ins. At the next sign-in, after the password, it sets up a second factor again.

    For someone who lost every device; make sure first that the request is theirs.
    """
    user = _account(email)
    passkeys.reset_second_factor(db.session(), user, _actor())
    click.echo(f"{user.email} sets up a second factor at the next sign-in")


@users_group.command("disable")
@click.argument("email")
@with_appcontext
def users_disable(email: str) -> None:
    """Stop an account from signing in; its sign-ins end at once. Nothing of it is deleted,
    and `users enable` undoes it. The last owner cannot be disabled."""
    user = _account(email)
    try:
        accounts.disable_user(db.session(), user, _actor())
    except AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"disabled {user.email}")


@users_group.command("enable")
@click.argument("email")
@with_appcontext
def users_enable(email: str) -> None:
    """Let a disabled account sign in again, with its password and second factor."""
    user = _account(email)
    accounts.enable_user(db.session(), user, _actor())
    click.echo(f"enabled {user.email}")
