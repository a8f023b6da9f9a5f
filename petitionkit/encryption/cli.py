"""``petitionkit keys``: the key pairs personal data and stories are sealed to."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from petitionkit.encryption import (
    DATA,
    DATA_SEALER,
    STORIES,
    KeyUnavailable,
    Sealer,
    generate_key_pair,
    services,
)
from petitionkit.extensions import db


@click.group("keys")
def keys_group() -> None:
    """Key pairs that signers' personal data and confidential stories are sealed to."""


@keys_group.command("generate")
@click.option("--stories", is_flag=True, help="The confidential stories' key pair.")
@click.option("--dir", "directory", type=click.Path(file_okay=False),
              help="Where to write the files (default: the instance folder).")
@with_appcontext
def keys_generate(stories: bool, directory: str | None) -> None:
    """Write a new key pair: NAME.pub (public) and NAME.key (private, readable by you only)."""
    which = STORIES if stories else DATA
    try:
        public, private = generate_key_pair(directory or current_app.instance_path, which)
    except KeyUnavailable as error:
        raise click.ClickException(str(error)) from error
    prefix = which.upper()
    click.echo(f"public key:  {public}")
    click.echo(f"private key: {private}")
    click.echo(f"Give every process {prefix}_PUBLIC_KEY_FILE; keep the private key off the "
               "web hosts" + (" and the server entirely (it opens the stories)." if stories else
                              f": only the processes that read personal data get "
                              f"{prefix}_PRIVATE_KEY_FILE."))


def _run_batches(batches: Iterator[int], total: int, label: str) -> int:
    done = 0
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        for count in batches:
            bar.update(count)
            done += count
    return done


def _stop_on_key_errors(run: Callable[[], int]) -> int:
    try:
        return run()
    except KeyUnavailable as error:
        raise click.ClickException(str(error)) from error


@keys_group.command("encrypt-existing")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def keys_encrypt_existing(batch_size: int) -> None:
    """Seal the personal data of signatures stored before sealing, and erase its plaintext.

    Needs only the public key. Safe to interrupt: a new run goes on where this one stopped.
    """
    sealer = DATA_SEALER.of()
    total = services.unsealed_count(db.engine)
    sealed = _stop_on_key_errors(lambda: _run_batches(
        services.encrypt_existing(db.engine, sealer, batch_size), total, "sealing"))
    click.echo(f"sealed {sealed} signature(s); none hold plaintext any more")


@keys_group.command("rotate")
@click.option("--new-public", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The new public key (from `petitionkit keys generate --dir DIR`).")
@click.option("--new-private", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The new private key.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def keys_rotate(new_public: str, new_private: str, batch_size: int) -> None:
    """Re-seal all personal data from the configured key pair to a new one: the signatures'
    and the copies that queued jobs carry.

    Needs the current private key (DATA_PRIVATE_KEY_FILE) and both new files. Safe to
    interrupt and run again. Afterwards point DATA_PUBLIC_KEY_FILE and DATA_PRIVATE_KEY_FILE
    at the new files, restart every process, and destroy the old private key.
    """
    old = DATA_SEALER.of()
    new = Sealer(public_key_file=Path(new_public), private_key_file=Path(new_private))
    total = services.sealed_count(db.engine)
    checked = _stop_on_key_errors(lambda: _run_batches(
        services.rotate(db.engine, old, new, batch_size), total, "re-sealing"))
    jobs = _stop_on_key_errors(lambda: sum(
        services.rotate_job_copies(db.engine, old, new, batch_size)))
    click.echo(f"{checked} signature(s) and {jobs} queued job(s) now sealed to {new_public}; "
               "configure the new key pair in every process, then destroy the old private key")
