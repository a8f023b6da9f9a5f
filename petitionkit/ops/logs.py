"""One line per event, no personal data: messages name petitions and outcomes, never people."""

from __future__ import annotations

import logging
import re
import sys

from flask import Flask

# Links in e-mails carry a token that confirms or withdraws a signature: keep it out of logs.
_TOKEN_IN_PATH = re.compile(r"(/(?:confirm|cancel)/)[^/\s?\"]+")


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
    # Werkzeug's request log carries the client address and the tokens of e-mailed links.
    werkzeug = logging.getLogger("werkzeug")
    if _redact_request_line not in werkzeug.filters:
        werkzeug.addFilter(_redact_request_line)


def _redact_request_line(record: logging.LogRecord) -> bool:
    if record.args and isinstance(record.args, tuple) and len(record.args) >= 1:
        message = record.getMessage()
        # "127.0.0.1 - - [date] "GET / HTTP/1.1" 200 -" -> keep from the request line on.
        if '"' in message and " - - [" in message:
            record.msg = _TOKEN_IN_PATH.sub(r"\1…", message[message.index('"'):])
            record.args = ()
    return True
