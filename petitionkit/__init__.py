"""petitionkit: a self-hosted petition engine."""

from __future__ import annotations

from typing import Any

from flask import Flask

from petitionkit.plugins.specs import hookimpl

__version__ = "0.1.0"
__all__ = ["create_app", "hookimpl", "__version__"]


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    # Imported here, not above: the app imports the plugin layer and every feature, while plugin
    # authors import ``hookimpl`` from this package, which must stay light and cycle-free.
    from petitionkit.app import build_app

    return build_app(test_config)
