"""What the engine keeps of signers, and what a signer can ask of it: erasure (the command, the
"delete my data" link and "it wasn't me"), the report an operator gives for a data-access
request, retention of personal data after a petition closes, and the record of the consent
wording each signer was shown."""

from __future__ import annotations

from sqlalchemy.engine import Engine


def truncate_sqlite_log(engine: Engine) -> None:
    """On SQLite, copy the write-ahead log into the database file and empty it: the log keeps the
    pages as they were before, names and addresses included, until then. ``secure_delete`` zeroes
    what is freed in the database file itself (see ``app.sqlite_pragmas``). With readers still
    busy it does what it can; the next checkpoint finishes the job. Nothing to do elsewhere."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
