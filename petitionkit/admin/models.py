"""Staff accounts, their signed-in sessions and the audit log of what they did.

Nothing here holds signer data: the audit log names petitions and staff accounts, never a
signer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from petitionkit.extensions import UTCDateTime, db
from petitionkit.petitions.models import utcnow

# Each role may do what the ones before it may, and more (petitionkit/admin/roles.py).
ROLES = ("viewer", "moderator", "editor", "owner")
EMAIL_MAX = 320


class StaffUser(db.Model):  # type: ignore[name-defined]
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    # Argon2id (argon2-cffi); None until the one-time link is used or --password-stdin set it.
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Random per issued one-time link; the link carries it and setting the password clears it,
    # so each link works once and an older link dies when a newer one is issued.
    setup_nonce: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The TOTP secret, encrypted with a key derived from SECRET_KEY (never stored in the clear).
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # The last time step whose code was accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Keyed hashes (hex) of the recovery codes not used yet.
    recovery_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    passkeys: Mapped[list[StaffPasskey]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True,
        order_by="StaffPasskey.id",
    )

    # What Flask-Login asks of a user object. get_id() names the signed-in session, not the
    # account: the session cookie carries that session's token, which the server can revoke.
    @property
    def session_token(self) -> str | None:
        token: str | None = self.__dict__.get("_session_token")
        return token

    @session_token.setter
    def session_token(self, token: str) -> None:
        self.__dict__["_session_token"] = token

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return not self.disabled

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        if self.session_token is None:
            raise RuntimeError("a staff user is signed in through a StaffSession only")
        return self.session_token

    @property
    def has_totp(self) -> bool:
        return self.totp_secret is not None

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret is not None or bool(self.passkeys)

    def may(self, role: str) -> bool:
        """Whether this account's role is ``role`` or above."""
        return ROLES.index(self.role) >= ROLES.index(role)


# The longest credential ID WebAuthn allows (Level 3, section 5.1.1), and a name's length.
CREDENTIAL_ID_MAX = 1023
PASSKEY_NAME_MAX = 100


class StaffPasskey(db.Model):  # type: ignore[name-defined]
    """A passkey (WebAuthn credential) of a staff account: its ID and public key as the
    authenticator gave them at registration, and the signature counter it last reported."""

    __tablename__ = "staff_passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    # COSE-encoded, as webauthn's verify_registration_response returns it.
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    # What the browser said the authenticator speaks ("internal", "usb", "hybrid", ...):
    # handed back at sign-in so the browser offers the right one.
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str] = mapped_column(String(PASSKEY_NAME_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[StaffUser] = relationship(back_populates="passkeys")


class WebAuthnChallenge(db.Model):  # type: ignore[name-defined]
    """A WebAuthn challenge handed to a browser and not answered yet. The browser's session
    holds the challenge; this row makes it single-use for every process (answering deletes it,
    and only the one request that deletes it may go on)."""

    __tablename__ = "staff_webauthn_challenges"

    # SHA-256 of the challenge, hex: the table never holds a challenge that could be answered.
    challenge_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StaffPetitionAccess(db.Model):  # type: ignore[name-defined]
    """A petition an account is limited to. An account with no rows here sees every petition;
    with rows, only those (petitionkit/admin/access.py). Owners are never limited."""

    __tablename__ = "staff_petition_access"

    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    petition_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("petitions.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class StaffSession(db.Model):  # type: ignore[name-defined]
    """One sign-in: the cookie holds a random token, the table only its hash."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffAudit(db.Model):  # type: ignore[name-defined]
    """Who did what to what, and when. ``actor`` is the account's e-mail address as it was (or
    the command line's user), so the entry outlives the account."""

    __tablename__ = "staff_audit"
    __table_args__ = (Index("ix_staff_audit_created", "created_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(EMAIL_MAX + 40), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(400), default="")
