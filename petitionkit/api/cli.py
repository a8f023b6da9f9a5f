"""``petitionkit tokens``: the write API's bearer tokens from the command line."""

from __future__ import annotations

import getpass

import click
from flask.cli import with_appcontext

from petitionkit.admin import audit
from petitionkit.admin.models import ROLES
from petitionkit.api.tokens import TokenError, create_token, list_tokens, revoke, slugs_of
from petitionkit.extensions import db


def _actor() -> str:
    return audit.command_line_actor(getpass.getuser())


@click.group("tokens")
def tokens_group() -> None:
    """Bearer tokens of the write API (docs/api.md)."""


@tokens_group.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the token may do.")
@click.option("--name", required=True, help="What uses it, for the list and the audit log.")
@click.option("--petition", "petitions", multiple=True, metavar="SLUG",
              help="Limit the token to this petition (repeatable); without it, every petition.")
@with_appcontext
def tokens_create(role: str, name: str, petitions: tuple[str, ...]) -> None:
    """Create a token and print it once: it is stored only as a hash."""
    try:
        token, secret = create_token(db.session(), name, role, _actor(), petitions)
    except TokenError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"token {token.id} ({token.name}, {token.role}); it is shown this once:")
    click.echo(secret)


@tokens_group.command("list")
@with_appcontext
def tokens_list() -> None:
    """Number, name, role, start of the token, state, last use and petitions of every token."""
    session = db.session()
    for token in list_tokens(session):
        state = "revoked" if token.revoked_at else "live"
        used = f"{token.last_used_at:%Y-%m-%dT%H:%M:%SZ}" if token.last_used_at else "never used"
        petitions = ", ".join(slugs_of(session, token)) or "every petition"
        click.echo(f"{token.id}\t{token.name}\t{token.role}\t{token.hint}…\t{state}\t{used}"
                   f"\t{petitions}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """Revoke a token at once."""
    try:
        token = revoke(db.session(), token_id, _actor())
    except TokenError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"revoked token {token.id} ({token.name})")
