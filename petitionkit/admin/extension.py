"""The workspace put into an app: sessions for /admin only, Flask-Login, the blueprint and the
``petitionkit users`` command. Apart from the package's ``__init__`` so that the workspace's
modules can import one another without importing all of it."""
from __future__ import annotations

from flask import Flask

from petitionkit.admin import (  # noqa: F401 (their views join the blueprint)
    account,
    downloads,
    figures,
    moderation,
    outbox,
    petitions,
    tokens,
)
from petitionkit.admin.cli import users_group
from petitionkit.admin.sessions import StaffSessionInterface
from petitionkit.admin.views import bp, login_manager


def init_app(app: Flask) -> None:
    """Sessions for /admin only, Flask-Login, the blueprint and ``petitionkit users``."""
    app.session_interface = StaffSessionInterface()
    login_manager.init_app(app)
    _drop_remember_cookie_hook(app)
    app.register_blueprint(bp)
    app.cli.add_command(users_group)


def _drop_remember_cookie_hook(app: Flask) -> None:
    """The workspace never sets Flask-Login's "remember me" cookie, so its after-request hook
    has nothing to do; without this it would run on every public request too."""
    hooks = app.after_request_funcs.get(None, [])
    kept = [hook for hook in hooks if getattr(hook, "__self__", None) is not login_manager]
    if len(kept) == len(hooks):
        raise RuntimeError("Flask-Login's remember-cookie hook was not found")
    hooks[:] = kept
