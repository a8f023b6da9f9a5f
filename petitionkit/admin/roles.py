"""Who may open which page: a role and every role above it (viewer < moderator < editor < owner).

``require_role`` is written on each view, so what a page needs is read where the page is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import current_app
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from petitionkit.admin.models import ROLES

P = ParamSpec("P")
R = TypeVar("R")


def require_role(role: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Signed in (else to the sign-in page) with ``role`` or a higher one (else 403)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {ROLES}")

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated:
                unauthorized: R = current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
                return unauthorized
            if not current_user.may(role):
                raise Forbidden()
            return view(*args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded

    return decorate
