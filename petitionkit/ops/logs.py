"""One line per event, no personal data: messages name petitions and outcomes, never people."""

from __future__ import annotations

import logging
import sys

from flask import Flask


def configure_logging(app: Flask) -> None:
    logger = logging.getLogger("petitionkit")
    logger.setLevel(app.config["LOG_LEVEL"])
    if not any(getattr(h, "_petitionkit", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        )
        handler._petitionkit = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    # Werkzeug's request log carries the client address; keep it out of the logs.
    logging.getLogger("werkzeug").addFilter(_drop_client_address)


def _drop_client_address(record: logging.LogRecord) -> bool:
    if record.args and isinstance(record.args, tuple) and len(record.args) >= 1:
        message = record.getMessage()
        # "127.0.0.1 - - [date] "GET / HTTP/1.1" 200 -" -> keep from the request line on.
        if '"' in message and " - - [" in message:
            record.msg = message[message.index('"'):]
            record.args = ()
    return True
