"""Sessions for the workspace only.

The public pages keep no session at all (signers get no cookie). Requests under ``/admin`` get
Flask's signed cookie session, sent back only to ``/admin``, HttpOnly, SameSite=Strict and
Secure when the public address is https. A sign-in is also a row of ``staff_sessions``: the
cookie carries a random token that Flask-Login hands to ``load_session_user``, so a sign-in
ends for good on signing out, after ``ADMIN_IDLE_MINUTES`` without a request, or when the
account is removed, and every sign-in starts a new token (no session fixation).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import Flask, Request, Response
from flask.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionMixin,
)
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from petitionkit.admin.models import StaffSession, StaffUser
from petitionkit.petitions.models import utcnow

ADMIN_PREFIX = "/admin"
COOKIE_NAME = "petitionkit_admin"
# A request refreshes its session's last-seen time at most this often: one write per minute of
# use, not one per page.
_TOUCH_EVERY = timedelta(seconds=60)


def is_admin_path(path: str) -> bool:
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


class StaffSessionInterface(SecureCookieSessionInterface):
    """No session outside ``/admin``; inside it, Flask's signed cookie with strict flags."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not is_admin_path(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if isinstance(session, NullSession):
            return None
        return super().save_session(app, session, response)

    def get_cookie_name(self, app: Flask) -> str:
        return COOKIE_NAME

    def get_cookie_path(self, app: Flask) -> str:
        return ADMIN_PREFIX

    def get_cookie_domain(self, app: Flask) -> str | None:
        return None

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True

    def get_cookie_secure(self, app: Flask) -> bool:
        return str(app.config["PUBLIC_URL"]).lower().startswith("https://")

    def get_cookie_samesite(self, app: Flask) -> str:
        return "Strict"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: StaffUser) -> str:
    """A new sign-in of ``user``; returns its token (kept only hashed)."""
    token = secrets.token_urlsafe(32)
    session.add(StaffSession(token_hash=_token_hash(token), user_id=user.id))
    session.commit()
    user.session_token = token
    return token


def load_session_user(session: Session, token: str, idle: timedelta) -> StaffUser | None:
    """The account signed in with ``token``, or None if that sign-in ended or idled out."""
    if not token or len(token) > 100:
        return None
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == _token_hash(token)))
    if row is None:
        return None
    now = utcnow()
    if now - row.last_seen_at > idle:
        session.delete(row)
        session.commit()
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or user.disabled:
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()
    user.session_token = token
    return user


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))
        session.commit()


def end_idle_sessions(session: Session, idle: timedelta) -> int:
    """Delete the sign-ins that idled out (those never seen again stay otherwise)."""
    result = session.execute(
        delete(StaffSession).where(StaffSession.last_seen_at < utcnow() - idle)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
