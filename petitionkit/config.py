"""Configuration: defaults, then ``instance/config.py``, then ``PETITIONKIT_*`` environment.

docs/configuration.md describes every setting.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

DEFAULT_SECRET_KEY = "change-me"
# Every placeholder in the example files (instance/config.example.py,
# deploy/petitionkit.env.example) starts with this: a copy left unedited must not start an
# instance whose keys are published.
PLACEHOLDER_PREFIX = "replace-with"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": DEFAULT_SECRET_KEY,
    # Separate key for the blind index of e-mail addresses; derived from SECRET_KEY when unset.
    "BLIND_INDEX_KEY": None,
    # Signers' personal data is sealed to this public key (None: data.pub in the instance
    # folder) and read with the private key, which only the processes that must read hold.
    "DATA_PUBLIC_KEY_FILE": None,
    "DATA_PRIVATE_KEY_FILE": None,
    # Confidential stories are sealed to a key pair of their own (None: instance/stories.pub).
    "STORIES_PUBLIC_KEY_FILE": None,
    "DATABASE_URL": None,  # None: SQLite in the instance folder
    "RATELIMIT_STORAGE_URI": "memory://",
    # Namespace of the limiter's keys, for a Redis shared with other applications.
    "RATELIMIT_KEY_PREFIX": "petitionkit",
    # Per client (a keyed hash of its IPv4 address or IPv6 /64): a burst and a sustained limit.
    # A petition's own ``rate_limit`` replaces it on that petition.
    "RATELIMIT_SIGN": "10/minute;60/hour",
    # Reports of actions taken (POST /p/SLUG/report and the JSON twin), per client, apart from
    # signing's budget.
    "RATELIMIT_REPORT": "5/minute;20/hour",
    # Requests of one API token from one client (the write API, docs/api.md).
    "RATELIMIT_API": "120/minute;3000/hour",
    # When the storage fails (Redis down): "memory" counts in each process's memory,
    # "refuse" answers 503 until it is back.
    "RATELIMIT_ON_STORAGE_ERROR": "memory",
    # The proof-of-work check a signer's browser does before signing (docs/signing.md): "off",
    # "always", or "auto": on for a petition while CHALLENGE_AUTO_THRESHOLD or more of its new
    # signatures, still unconfirmed, arrived within the last CHALLENGE_AUTO_WINDOW seconds.
    "CHALLENGE_MODE": "auto",
    "CHALLENGE_AUTO_THRESHOLD": 100,
    "CHALLENGE_AUTO_WINDOW": 600,
    "CHALLENGE_AUTO_CACHE_SECONDS": 5.0,
    # The most SHA-256 hashes a browser needs to solve a challenge (half as many on average).
    "CHALLENGE_MAX_ITERATIONS": 100_000,
    "CHALLENGE_MAX_AGE": 300,
    "TRUSTED_PROXIES": 0,
    "MAIL_URL": None,  # None: files under instance/mail/
    "MAIL_FROM": "petitionkit <no-reply@localhost>",
    "MAIL_TIMEOUT": 15,
    "PUBLIC_URL": "http://127.0.0.1:5000",
    # None: GET / lists the open petitions; a URL: GET / redirects there (the organization's site).
    "HOME_URL": None,
    # Strict-Transport-Security when PUBLIC_URL is https: how long browsers keep to https, in
    # seconds (0: no header), and whether subdomains are included.
    "HSTS_MAX_AGE": 365 * 24 * 3600,
    "HSTS_INCLUDE_SUBDOMAINS": False,
    "CONFIRM_TOKEN_MAX_AGE": 7 * 24 * 3600,
    "MAX_EMAILS_PER_ADDRESS_PER_DAY": 3,
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "MAX_NAME_LENGTH": 120,
    # Which providers ignore dots and +tags in the local part; see signatures/normalize.py.
    "EMAIL_DOTLESS_DOMAINS": ["gmail.com"],
    "EMAIL_PLUS_TAG_DOMAINS": [
        "gmail.com", "outlook.com", "hotmail.com", "live.com", "icloud.com", "fastmail.com",
        "protonmail.com", "proton.me", "yahoo.com",
    ],
    "EMAIL_DOMAIN_ALIASES": {"googlemail.com": "gmail.com", "pm.me": "proton.me"},
    "OUTBOX_INPROCESS_WORKER": True,
    "OUTBOX_POLL_INTERVAL": 1.0,
    "OUTBOX_BATCH_SIZE": 50,
    "OUTBOX_LEASE_SECONDS": 120,
    "OUTBOX_GIVE_UP_AFTER": 3 * 24 * 3600,
    "OUTBOX_BACKOFF_BASE": 5.0,
    "OUTBOX_BACKOFF_MAX": 300.0,
    "READY_MAX_OUTBOX_AGE": 900,
    # Who may read /metrics and the outbox figures of /readyz (petitionkit/ops/access.py):
    # connections from these networks that no proxy forwarded, and requests with
    # "Authorization: Bearer <OPS_TOKEN>"; OPS_OPEN answers everyone.
    "OPS_ALLOW_NETWORKS": ["127.0.0.0/8", "::1/128"],
    "OPS_TOKEN": None,
    "OPS_OPEN": False,
    "COUNT_CACHE_SECONDS": 1.0,
    "PETITION_CACHE_SECONDS": 2.0,
    "API_MAX_AGE": 5,
    "WIDGET_POLL_SECONDS": 20,  # how often an open widget refreshes its count; 0: never
    # make demo: the "check your email" pages say where the mail files are (never otherwise).
    "DEMO_MODE": False,
    "DEV_MAIL_DIR": None,  # None: instance/mail
    "LOG_LEVEL": "INFO",
    "BABEL_DEFAULT_LOCALE": "en",
    "LANGUAGES": ["en", "es", "fr", "de", "zh_Hans", "zh_Hant", "ar"],
    "PLUGINS_DISABLED": [],
    "PLUGINS": {},
    # None: plugin errors in requests raise under DEBUG/TESTING and are logged otherwise.
    "PLUGINS_RAISE_ERRORS": None,
    # Branding of the hosted pages (docs/branding.md): the organisation's name and site, a logo
    # file in the instance folder, the accent colour (#rrggbb) and the footer's links.
    "ORGANIZATION_NAME": None,
    "ORGANIZATION_URL": None,
    "BRAND_LOGO": None,
    "BRAND_LOGO_ALT": None,
    "BRAND_ACCENT": None,
    "PRIVACY_URL": None,
    "IMPRINT_URL": None,
    "CONTACT_URL": None,
    # Days a closed petition's signers keep their personal data (name, address, postal code,
    # personal plugin fields) before it is removed; a petition's ``retain_days`` replaces it.
    "PERSONAL_DATA_RETAIN_DAYS": 180,
    # The organisers' workspace at /admin (docs/workspace.md): a second factor after the
    # password, minutes without a request before a sign-in ends, how long the one-time link that
    # sets a password works (seconds), the shortest password, and sign-in attempts per client.
    "ADMIN_REQUIRE_SECOND_FACTOR": True,
    "ADMIN_IDLE_MINUTES": 30,
    "ADMIN_SETUP_LINK_MAX_AGE": 48 * 3600,
    "ADMIN_PASSWORD_MIN_LENGTH": 12,
    "RATELIMIT_ADMIN_LOGIN": "10/minute;50/hour",
    # Letters per target per hour when a petition file does not say (letter.max_per_hour).
    "DELIVERY_MAX_PER_HOUR": 12,
}

ENV_PREFIX = "PETITIONKIT_"


def _parse_env_value(key: str, raw: str) -> Any:
    """Environment values are strings; settings whose default is a number, a boolean, a list or a
    mapping are decoded as JSON. Text settings stay text, so a numeric secret stays a string."""
    default = DEFAULTS.get(key)
    if key in DEFAULTS and (default is None or isinstance(default, str)):
        return raw
    try:
        return json.loads(raw)
    except ValueError as error:
        if key in DEFAULTS:
            raise ConfigurationError(
                f"{ENV_PREFIX}{key} must be written as JSON (for example "
                f"{json.dumps(default)}), not {raw!r}"
            ) from error
        return raw


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        for key, raw in os.environ.items():
            if key.startswith(ENV_PREFIX):
                name = key.removeprefix(ENV_PREFIX)
                app.config[name] = _parse_env_value(name, raw)
    else:
        app.config.from_mapping(test_config)

    if app.config["DATABASE_URL"] is None:
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(
            app.instance_path, "petitionkit.db"
        )
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if app.config["DEV_MAIL_DIR"] is None:
        app.config["DEV_MAIL_DIR"] = os.path.join(app.instance_path, "mail")
    _refuse_default_secret(app)
    _check_home_url(app.config.get("HOME_URL"))
    _check_retain_days(app.config.get("PERSONAL_DATA_RETAIN_DAYS"))


class ConfigurationError(RuntimeError):
    pass


def _refuse_default_secret(app: Flask) -> None:
    if app.debug or app.testing:
        return
    secret = app.config.get("SECRET_KEY")
    if not secret or secret == DEFAULT_SECRET_KEY or len(str(secret)) < 16:
        raise ConfigurationError(
            "petitionkit refuses to start without a real SECRET_KEY (16 characters or more). "
            "Set PETITIONKIT_SECRET_KEY (for example to the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`) "
            "or SECRET_KEY in instance/config.py."
        )
    for name in ("SECRET_KEY", "BLIND_INDEX_KEY"):
        if str(app.config.get(name) or "").startswith(PLACEHOLDER_PREFIX):
            raise ConfigurationError(
                f"{name} is still the placeholder of the example configuration; replace it with "
                "the output of `python -c 'import secrets; print(secrets.token_hex(32))'`."
            )


def _check_home_url(home_url: object) -> None:
    """GET / redirects visitors there, so it must be a web address and nothing else."""
    if home_url is None or home_url == "":
        return
    parts = urlsplit(str(home_url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"HOME_URL must be a web address such as https://www.example.org/, not {home_url!r}"
        )


def _check_retain_days(days: object) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ConfigurationError(
            f"PERSONAL_DATA_RETAIN_DAYS must be a whole number of days, 0 or more, not {days!r}"
        )
