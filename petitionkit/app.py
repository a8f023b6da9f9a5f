"""The application factory's work: configuration, extensions, blueprints, commands."""

from __future__ import annotations

import os
from datetime import UTC
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from flask_babel import format_datetime, format_decimal
from prometheus_client import CollectorRegistry
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from petitionkit import i18n
from petitionkit.challenges.services import AutoSwitch, ChallengePolicy, SpentChallenges
from petitionkit.config import load_config
from petitionkit.extensions import babel, db, limiter, migrate
from petitionkit.keys import Keys
from petitionkit.ops.errors import register_error_handlers
from petitionkit.ops.logs import configure_logging
from petitionkit.ops.views import OutboxCollector
from petitionkit.petitions.services import PetitionCache, SummaryCache
from petitionkit.security import PetitionkitRequest, init_rate_limits
from petitionkit.signatures.emails import SIGNER_EMAIL_KINDS, deliver_signer_email, sender_domain
from petitionkit.signatures.normalize import NormalizationRules
from petitionkit.signatures.services import SigningPolicy

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def build_app(test_config: dict[str, Any] | None) -> Flask:
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "PETITIONKIT_INSTANCE_PATH"
    ) or os.path.join(os.getcwd(), "instance")
    app = Flask("petitionkit", instance_path=os.path.abspath(instance_path),
                instance_relative_config=True)
    app.request_class = PetitionkitRequest
    load_config(app, test_config)
    _check_mail_url(app)
    os.makedirs(app.instance_path, exist_ok=True)
    configure_logging(app)

    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    app.session_interface = NoSessionInterface()
    _init_database(app)
    migrate.init_app(app, db, directory=os.path.join(PACKAGE_DIR, "migrations"))
    init_rate_limits(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_babel_locale,
        default_translation_directories=os.path.join(PACKAGE_DIR, "translations"),
    )

    keys = Keys.from_config(app.config)
    app.extensions["petitionkit.keys"] = keys
    app.extensions["petitionkit.signing_policy"] = SigningPolicy(
        rules=NormalizationRules.from_config(app.config),
        index_key=keys.blind_index,
        max_mails_per_day=int(app.config["MAX_EMAILS_PER_ADDRESS_PER_DAY"]),
        message_domain=sender_domain(app.config["MAIL_FROM"]),
    )
    app.extensions["petitionkit.challenge_policy"] = ChallengePolicy.from_config(
        app.config, keys.challenge
    )
    app.extensions["petitionkit.challenge_switch"] = AutoSwitch()
    app.extensions["petitionkit.spent_challenges"] = SpentChallenges()
    app.extensions["petitionkit.summary_cache"] = SummaryCache()
    app.extensions["petitionkit.petition_cache"] = PetitionCache()
    app.extensions["petitionkit.job_handlers"] = dict.fromkeys(
        SIGNER_EMAIL_KINDS, deliver_signer_email
    )
    registry = CollectorRegistry(auto_describe=True)
    registry.register(OutboxCollector(app))
    app.extensions["petitionkit.metrics_registry"] = registry

    _init_plugins(app)
    _register_blueprints(app)
    register_error_handlers(app)
    _register_template_helpers(app)
    _register_commands(app)
    _start_inprocess_delivery(app)
    return app


def _init_plugins(app: Flask) -> None:
    """The plugin manager; its hooks add job handlers, blueprints, commands and form fields."""
    from petitionkit import plugins
    from petitionkit.plugin_jobs import ConfirmationListener

    plugins.init_app(app)
    app.extensions["petitionkit.confirmation_listener"] = ConfirmationListener(app)


def _check_mail_url(app: Flask) -> None:
    from petitionkit.config import ConfigurationError
    from petitionkit.outbox.mail import MailConfigError, parse_mail_url

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
    cursor.close()


class NoSessionInterface(SessionInterface):
    """petitionkit keeps no session: signers get no cookie, and no request pays to open one.

    Any code that tries to store something in ``flask.session`` fails loudly (NullSession).
    """

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None


def _register_blueprints(app: Flask) -> None:
    from petitionkit.challenges.views import bp as challenges_bp
    from petitionkit.embed.views import bp as embed_bp
    from petitionkit.ops.views import bp as ops_bp
    from petitionkit.petitions.views import bp as petitions_bp
    from petitionkit.signatures.views import bp as signatures_bp

    for blueprint in (petitions_bp, signatures_bp, challenges_bp, embed_bp, ops_bp):
        app.register_blueprint(blueprint)
    limiter.exempt(ops_bp)


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["format_count"] = format_decimal
    app.jinja_env.filters["format_moment"] = lambda moment: format_datetime(
        moment if moment.tzinfo else moment.replace(tzinfo=UTC), "medium"
    )
    @app.context_processor
    def inject_locale() -> dict[str, Any]:
        locale = i18n.current_locale_name()
        return {
            "locale_name": locale,
            "html_lang": locale.replace("_", "-"),
            "text_direction": i18n.text_direction(locale),
        }

    @app.after_request
    def security_headers(response: Response) -> Response:
        # No view sets these two, so they are set outright (``setdefault`` costs Werkzeug an
        # exception per absent header, on every answer including the count read).
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        # The embed views set a policy of their own (frame-ancestors of the petition).
        if response.mimetype == "text/html" and "Content-Security-Policy" not in response.headers:
            response.headers["Content-Security-Policy"] = _PAGE_POLICY
        return response


_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "worker-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def _register_commands(app: Flask) -> None:
    from petitionkit.cli import register_commands

    register_commands(app)


def _start_inprocess_delivery(app: Flask) -> None:
    if not app.config["OUTBOX_INPROCESS_WORKER"] or app.testing:
        return
    from petitionkit.outbox.worker import start_inprocess_loop

    @app.before_request
    def ensure_delivery_loop() -> None:
        start_inprocess_loop(app)
