"""``petitionkit stories``: how many stories arrived, and opening them with their key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from nacl.exceptions import CryptoError
from nacl.exceptions import ValueError as NaClValueError
from nacl.public import SealedBox
from sqlalchemy import select

from petitionkit.encryption import (
    STORIES,
    KeyUnavailable,
    Sealer,
    read_private_key,
    read_public_key,
)
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition
from petitionkit_stories.models import StoryReceived
from petitionkit_stories.notice import story_count


def _petition(slug: str) -> Petition:
    petition = db.session.scalar(select(Petition).where(Petition.slug == slug))
    if petition is None:
        raise click.ClickException(f"there is no petition {slug!r}")
    return petition


@click.group("stories")
def stories_group() -> None:
    """Confidential stories: how many arrived, and opening them with their private key."""


@stories_group.command("count")
@click.argument("slug")
@with_appcontext
def count_command(slug: str) -> None:
    """How many stories arrived for SLUG (no key needed: nothing is opened)."""
    click.echo(story_count(_petition(slug).id))


@stories_group.command("export")
@click.argument("slug")
@click.option("--key", "key_file", required=True, type=click.Path(dir_okay=False),
              help="The stories' private key file (stories.key).")
@click.option("--output", type=click.Path(dir_okay=False),
              help="Write to this file (readable by you only) instead of standard output.")
@with_appcontext
def export_command(slug: str, key_file: str, output: str | None) -> None:
    """Open the stories of SLUG with the private key: JSON lines of id, created_at, story,
    fields and contact. Nothing is written unless every story opens."""
    petition = _petition(slug)
    try:
        private_key = read_private_key(key_file, "--key")
    except KeyUnavailable as error:
        raise click.ClickException(str(error)) from error
    refusal = (f"the key in {key_file} does not open the stories: it is not the stories' "
               "private key (`petitionkit keys generate --stories` made the pair)")
    sealer = Sealer.from_config(current_app._get_current_object(), STORIES)  # type: ignore[attr-defined]
    if sealer.public_key_file.exists():
        try:
            public_key = read_public_key(sealer.public_key_file, sealer.public_setting)
        except KeyUnavailable as error:
            raise click.ClickException(str(error)) from error
        if private_key.public_key != public_key:
            raise click.ClickException(refusal)
    box = SealedBox(private_key)
    lines = []
    rows = db.session.scalars(
        select(StoryReceived).where(StoryReceived.petition_id == petition.id)
        .order_by(StoryReceived.id)
    )
    for row in rows:
        try:
            story = json.loads(box.decrypt(bytes(row.sealed)))
        except (CryptoError, NaClValueError) as error:
            raise click.ClickException(f"story {row.id}: {refusal}") from error
        lines.append(json.dumps({
            "id": row.id, "created_at": row.created_at.isoformat(), "story": story["story"],
            "fields": story.get("fields") or {}, "contact": story.get("contact"),
        }, ensure_ascii=False))
    text = "".join(line + "\n" for line in lines)
    if output is None:
        click.echo(text, nl=False)
        return
    target = Path(output)
    partial = target.with_name(target.name + ".partial")
    # Readable by its owner only from the start, like a private key.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    partial.replace(target)
    click.echo(f"{len(lines)} stories written to {target}", err=True)
