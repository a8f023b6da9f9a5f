"""The bare baselines the engine is measured against, served by the same gunicorn settings.

Each signing endpoint reads the same request the engine reads and INSERTs the same row (the same
columns of ``signatures``, into a database of the same kind migrated with the same schema), and
nothing else: no validation, no rate limit, no outbox row, no templates. The read endpoint
answers the exact bytes the engine's read API answered. Configured by environment variables:

``BASELINE_DATABASE_URL``  SQLAlchemy URL of the baseline's own database
``BASELINE_PETITION_ID``   the petition row the signatures belong to
``BASELINE_SUMMARY_FILE``  the bytes the read endpoint returns
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, redirect, request
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from petitionkit.app import sqlite_pragmas

INSERT_SIGNATURE = text(
    "INSERT INTO signatures (petition_id, email_hash, email, name, country, postal_code,"
    " consent_updates, consent_version, show_name, locale, source, status, token_nonce,"
    " mail_suppressed, mails_day, mails_sent_today, created_at)"
    " VALUES (:petition_id, :email_hash, :email, :name, :country, :postal_code,"
    " :consent_updates, :consent_version, :show_name, :locale, :source, :status, :token_nonce,"
    " :mail_suppressed, :mails_day, :mails_sent_today, :created_at)"
)


def make_engine(url: str) -> Engine:
    engine = create_engine(url)
    if url.startswith("sqlite"):
        # The engine's own SQLite settings, so both sides pay the same price per commit.
        event.listen(engine, "connect", sqlite_pragmas)
    return engine


def create_app() -> Flask:
    app = Flask("baseline")
    engine = make_engine(os.environ["BASELINE_DATABASE_URL"])
    petition_id = int(os.environ["BASELINE_PETITION_ID"])
    summary = Path(os.environ["BASELINE_SUMMARY_FILE"]).read_bytes()

    def insert(name: str, email: str) -> None:
        now = datetime.now(UTC)
        row = {
            "petition_id": petition_id,
            "email_hash": hashlib.sha256(email.lower().encode()).digest(),
            "email": email,
            "name": name,
            "country": None,
            "postal_code": None,
            "consent_updates": False,
            "consent_version": None,
            "show_name": False,
            "locale": "en",
            "source": None,
            "status": "pending",
            "token_nonce": secrets.token_urlsafe(12),
            "mail_suppressed": False,
            "mails_day": now.date(),
            "mails_sent_today": 1,
            "created_at": now,
        }
        with engine.begin() as connection:
            connection.execute(INSERT_SIGNATURE, row)

    @app.post("/p/<slug>/sign")
    def sign_form(slug: str) -> Any:
        insert(request.form["name"], request.form["email"])
        return redirect(f"/p/{slug}/check-email", code=303)

    @app.post("/api/v1/petitions/<slug>/signatures")
    def sign_api(slug: str) -> Any:
        payload = request.get_json()
        insert(payload["name"], payload["email"])
        response = jsonify({"status": "pending_confirmation"})
        response.status_code = 202
        return response

    @app.get("/api/v1/petitions/<slug>")
    def show(slug: str) -> Response:
        return Response(summary, mimetype="application/json")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response(b'{"status":"ok"}', mimetype="application/json")

    return app
