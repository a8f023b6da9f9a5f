"""petitionkit: a self-hosted petition engine."""

from __future__ import annotations

from typing import Any

from flask import Flask

from petitionkit.plugins.specs import hookimpl

__version__ = "0.1.0"
__all__ = ["create_app", "hookimpl", "__version__"]


def create_app(test_config: dict[str, Any] | None = None, *, serving: bool = True) -> Flask:
    """The application. ``serving=False`` is for the ``petitionkit`` command, whose commands
    serve no requests (``petitionkit run`` checks what serving needs itself): a process that
    serves and delivers its mail from inside (``OUTBOX_INPROCESS_WORKER``) refuses to start
    without the private key, while ``keys generate`` must run before any key exists."""
    # Imported here, not above: the app imports the plugin layer and every feature, while plugin
    # authors import ``hookimpl`` from this package, which must stay light and cycle-free.
    from petitionkit.app import build_app

    return build_app(test_config, serving=serving)
