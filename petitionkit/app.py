"""The application factory's work: configuration, extensions, blueprints, commands."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from alembic.config import Config as AlembicConfig
from flask import Flask, Response, g
from flask_babel import format_datetime, format_decimal
from jinja2 import ChoiceLoader, FileSystemLoader
from prometheus_client import CollectorRegistry
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from petitionkit import i18n
from petitionkit.actions.views import bp as actions_bp
from petitionkit.admin.extension import init_app as init_workspace
from petitionkit.api import downloads, figures, outbox  # noqa: F401 (routes of the API)
from petitionkit.api.views import bp as api_bp
from petitionkit.branding import BRANDING, Branding, BrandingError
from petitionkit.branding.views import bp as branding_bp
from petitionkit.challenges.services import (
    CHALLENGE_POLICY,
    CHALLENGE_SWITCH,
    SPENT_CHALLENGES,
    AutoSwitch,
    ChallengePolicy,
    SpentChallenges,
)
from petitionkit.challenges.views import bp as challenges_bp
from petitionkit.cli import register_commands
from petitionkit.config import ConfigurationError, load_config
from petitionkit.embed.views import bp as embed_bp
from petitionkit.encryption import DATA_SEALER, Sealer
from petitionkit.extensions import RowNumberConverter, babel, db, limiter, migrate
from petitionkit.keys import KEYS, Keys
from petitionkit.ops.access import OPS_ACCESS, OpsAccess
from petitionkit.ops.errors import register_error_handlers
from petitionkit.ops.logs import configure_logging
from petitionkit.ops.views import METRICS_REGISTRY, OutboxCollector
from petitionkit.ops.views import bp as ops_bp
from petitionkit.outbox.mail import MailConfigError, parse_mail_url
from petitionkit.outbox.worker import (
    PrivateKeyMissing,
    require_inprocess_key,
    start_inprocess_loop,
)
from petitionkit.petitions.services import (
    PETITION_CACHE,
    SUMMARY_CACHE,
    PetitionCache,
    SummaryCache,
)
from petitionkit.petitions.steps import ordered_steps
from petitionkit.petitions.views import bp as petitions_bp
from petitionkit.plugins import manager as plugin_manager
from petitionkit.plugins.calls import MIGRATION_FOLDERS
from petitionkit.plugins.events import LIFECYCLE, Lifecycle
from petitionkit.privacy.consent import CONSENT_TEXTS, ConsentTexts
from petitionkit.privacy.retention import RETENTION_CLOCK, RetentionClock
from petitionkit.security import PetitionkitRequest
from petitionkit.signatures.emails import sender_domain
from petitionkit.signatures.limits import RATE_LIMIT_FALLBACK, StorageFallback, init_rate_limits
from petitionkit.signatures.normalize import NormalizationRules, shown_name
from petitionkit.signatures.services import SIGNING_POLICY, SigningPolicy
from petitionkit.signatures.views import bp as signatures_bp
from petitionkit.targets.letter import mailto_links

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
MIGRATIONS_DIR = os.path.join(PACKAGE_DIR, "migrations")


@migrate.configure
def _plugin_migrations(config: AlembicConfig) -> AlembicConfig:
    """The core's revisions and those of plugins with tables of their own, each plugin's a
    branch of its own (``petitionkit db upgrade`` applies every branch)."""
    folders = MIGRATION_FOLDERS.of()
    config.set_main_option("path_separator", "os")
    config.set_main_option(
        "version_locations", os.pathsep.join([os.path.join(MIGRATIONS_DIR, "versions"), *folders])
    )
    return config


def build_app(test_config: dict[str, Any] | None, *, serving: bool = True) -> Flask:
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "PETITIONKIT_INSTANCE_PATH"
    ) or os.path.join(os.getcwd(), "instance")
    app = Flask("petitionkit", instance_path=os.path.abspath(instance_path),
                instance_relative_config=True)
    app.request_class = PetitionkitRequest
    # Before any route is added: the routes' converters are bound as they are added.
    app.url_map.converters["int"] = RowNumberConverter
    load_config(app, test_config)
    _check_mail_url(app)
    os.makedirs(app.instance_path, exist_ok=True)
    configure_logging(app)

    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    _init_database(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    init_rate_limits(app)
    RATE_LIMIT_FALLBACK.put(app, StorageFallback.from_config(app.config))
    babel.init_app(
        app,
        locale_selector=i18n.select_babel_locale,
        default_translation_directories=os.path.join(PACKAGE_DIR, "translations"),
    )

    keys = Keys.from_config(app.config)
    KEYS.put(app, keys)
    sealer = DATA_SEALER.put(app, Sealer.from_config(app))
    SIGNING_POLICY.put(app, SigningPolicy(
        sealer=sealer,
        rules=NormalizationRules.from_config(app.config),
        index_key=keys.blind_index,
        max_mails_per_day=int(app.config["MAX_EMAILS_PER_ADDRESS_PER_DAY"]),
        message_domain=sender_domain(app.config["MAIL_FROM"]),
    ))
    CHALLENGE_POLICY.put(app, ChallengePolicy.from_config(app.config, keys.challenge))
    CHALLENGE_SWITCH.put(app, AutoSwitch())
    SPENT_CHALLENGES.put(app, SpentChallenges())
    summaries = SummaryCache()
    SUMMARY_CACHE.put(app, summaries)
    PETITION_CACHE.put(app, PetitionCache())
    CONSENT_TEXTS.put(app, ConsentTexts())
    RETENTION_CLOCK.put(app, RetentionClock())
    OPS_ACCESS.put(app, OpsAccess.from_config(app.config))
    try:
        BRANDING.put(app, Branding.from_config(app.config, app.instance_path))
    except BrandingError as error:
        raise ConfigurationError(str(error)) from error
    registry = CollectorRegistry(auto_describe=True)
    registry.register(OutboxCollector(app))
    METRICS_REGISTRY.put(app, registry)

    # The hooks add job handlers (signer mail included), blueprints, commands and form fields.
    plugin_manager.init_app(app)
    LIFECYCLE.put(app, Lifecycle(app, summaries))
    _register_blueprints(app)
    register_error_handlers(app)
    _register_template_helpers(app)
    _register_commands(app)
    _start_inprocess_delivery(app, serving)
    return app


def _check_mail_url(app: Flask) -> None:

    try:
        parse_mail_url(app.config["MAIL_URL"], app.config["DEV_MAIL_DIR"])
    except MailConfigError as error:
        raise ConfigurationError(str(error)) from error


def _init_database(app: Flask) -> None:
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    # Exceptions must never carry addresses or names into the logs.
    options.setdefault("hide_parameters", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", sqlite_pragmas)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # What is erased or deleted is overwritten with zeros, not left in the file's free space
    # (see petitionkit.privacy): the cost is writing those bytes, on deletes and shrinking rows.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _register_blueprints(app: Flask) -> None:

    for blueprint in (petitions_bp, signatures_bp, actions_bp, challenges_bp, embed_bp, ops_bp,
                      branding_bp, api_bp):
        app.register_blueprint(blueprint)
    # Also the session interface: none for the public pages, one for /admin alone.
    init_workspace(app)
    limiter.exempt(ops_bp)


def _register_template_helpers(app: Flask) -> None:
    # Templates in instance/templates/ replace the engine's own of the same name (docs/branding.md).
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(os.path.join(app.instance_path, "templates")),
        app.jinja_loader,  # type: ignore[list-item]
    ])
    app.jinja_env.filters["format_count"] = format_decimal
    app.jinja_env.filters["shown_name"] = shown_name
    app.jinja_env.globals["letter_mailto_links"] = mailto_links
    app.jinja_env.globals["ordered_steps"] = ordered_steps
    app.jinja_env.filters["format_moment"] = lambda moment: format_datetime(
        moment, "medium"
    )
    @app.context_processor
    def inject_locale() -> dict[str, Any]:
        locale = i18n.current_locale_name()
        return {
            "locale_name": locale,
            "html_lang": locale.replace("_", "-"),
            "text_direction": i18n.text_direction(locale),
            "language_switch": i18n.language_switch,
            "brand": BRANDING.of(),
        }

    app.wsgi_app = AlwaysHeaders(app.wsgi_app, _always_headers(app.config))  # type: ignore[method-assign]

    @app.after_request
    def security_headers(response: Response) -> Response:
        # The iframe's pages (and errors shown in it) take the petition's policy later, from
        # the embed blueprint; every other page may not be framed at all.
        if (response.mimetype == "text/html" and g.get("embed_policy") is None
                and "Content-Security-Policy" not in response.headers):
            response.headers["Content-Security-Policy"] = _PAGE_POLICY
            # For browsers that predate frame-ancestors; newer ones let the policy decide.
            response.headers["X-Frame-Options"] = "DENY"
        return response


_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "worker-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
# Powerful features no page of the engine uses, refused to its pages and to anything they embed.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "browsing-topics", "camera", "display-capture", "geolocation",
    "gyroscope", "hid", "magnetometer", "microphone", "midi", "payment", "serial", "usb",
))


class AlwaysHeaders:
    """WSGI middleware that adds the same headers to every answer.

    No view sets these, so they are appended to the status line's headers as they are: on the
    count read, which viral petitions are polled with, Werkzeug's header object would check and
    copy each of them again on every answer.
    """

    def __init__(self, wsgi_app: WSGIApplication, headers: list[tuple[str, str]]) -> None:
        self.wsgi_app = wsgi_app
        self.headers = headers

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.extend(self.headers)
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def _always_headers(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
    ]
    max_age = int(config["HSTS_MAX_AGE"])
    if str(config["PUBLIC_URL"]).lower().startswith("https://") and max_age > 0:
        hsts = f"max-age={max_age}"
        if config["HSTS_INCLUDE_SUBDOMAINS"]:
            hsts += "; includeSubDomains"
        headers.append(("Strict-Transport-Security", hsts))
    return headers


def _register_commands(app: Flask) -> None:

    register_commands(app)


def _start_inprocess_delivery(app: Flask, serving: bool) -> None:
    if not app.config["OUTBOX_INPROCESS_WORKER"] or app.testing:
        return
    if serving:
        # Refused now, not at the first request: a web process that cannot deliver must not
        # start and then answer every request with an error.
        try:
            require_inprocess_key(app)
        except PrivateKeyMissing as error:
            raise ConfigurationError(str(error)) from error

    @app.before_request
    def ensure_delivery_loop() -> None:
        start_inprocess_loop(app)
