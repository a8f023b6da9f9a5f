"""The confidential stories plugin on PostgreSQL: stories sealed on arrival, nothing of them in a
dump, exported with the stories' key, removed by retention. (The plugin's own tests run on
SQLite; this one uses the core suite's PostgreSQL database.)"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from flask import Flask
from petitionkit_stories.models import StoryReceived
from petitionkit_stories.section import read_stories
from sqlalchemy import func, select

from petitionkit.encryption import generate_key_pair
from petitionkit.extensions import db
from petitionkit.petitions.models import Petition

from .conftest import add_petition

STORY = "Two officers waited outside the school gate marker-pg-51d2 and asked about my brother."
SLUG = "diaspora-stories"


def _stored(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count(StoryReceived.id))) or 0)


def test_stories_on_postgresql_are_sealed_exported_and_removed_by_retention(
    pg_app: Flask, pg_dump: str
) -> None:
    public, private = generate_key_pair(Path(pg_app.instance_path), "stories")
    add_petition(pg_app, slug=SLUG, retain_days=0, sections={"stories": read_stories({
        "prompt": "Have you been approached by the police?", "fields": ["name"]})})
    client = pg_app.test_client()
    answer = client.post(f"/p/{SLUG}/story", data={"story": STORY, "name": "Mina pg-name-8c"})
    assert answer.status_code == 303, answer.text
    assert _stored(pg_app) == 1

    with pg_app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
        db.session.remove()
    command = [pg_dump, "--dbname", url.replace("postgresql+psycopg://", "postgresql://")]
    dump = subprocess.run(command, check=True, capture_output=True, timeout=60).stdout
    assert b"COPY public.stories_received" in dump, "the dump holds the stories' table"
    assert b"marker-pg-51d2" not in dump and b"pg-name-8c" not in dump

    exported = pg_app.test_cli_runner().invoke(
        args=["stories", "export", SLUG, "--key", str(private)])
    assert exported.exit_code == 0, exported.output
    [record] = [json.loads(line) for line in exported.output.splitlines() if line.startswith("{")]
    assert record["story"] == STORY

    with pg_app.app_context():
        petition = db.session.scalar(select(Petition).where(Petition.slug == SLUG))
        assert petition is not None
        petition.status = "closed"
        db.session.commit()
    purged = pg_app.test_cli_runner().invoke(args=["privacy", "purge"])
    assert purged.exit_code == 0, purged.output
    assert _stored(pg_app) == 0
    assert public.exists()
