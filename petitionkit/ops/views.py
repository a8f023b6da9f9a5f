"""Liveness, readiness and metrics for whoever runs the instance."""

from __future__ import annotations

import os
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from petitionkit.extensions import db
from petitionkit.ops.access import OPS_ACCESS, OpsAccess
from petitionkit.outbox import services as outbox
from petitionkit.registry import Slot

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


def _operator_allowed() -> bool:
    """Whether this request may see the figures; see petitionkit/ops/access.py."""
    access: OpsAccess = OPS_ACCESS.of()
    return access.allows(request.environ)


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    try:
        db.session.execute(text("SELECT 1"))
        stats = outbox.stats(db.session())
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    limit = current_app.config["READY_MAX_OUTBOX_AGE"]
    ready = stats.oldest_due_age <= limit
    body: dict[str, object] = {"status": "ok" if ready else "degraded", "database": "ok"}
    if _operator_allowed():
        body.update(
            outbox_pending=stats.pending,
            outbox_due=stats.due,
            outbox_oldest_age_seconds=round(stats.oldest_due_age, 1),
            outbox_dead=stats.dead,
        )
    return jsonify(body), 200 if ready else 503


class OutboxCollector:
    """Outbox depth and age read from the database at scrape time, so every worker agrees."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        with self.app.app_context():
            try:
                stats = outbox.stats(db.session())
            except SQLAlchemyError:
                db.session.rollback()
                return
            finally:
                db.session.remove()
        yield GaugeMetricFamily(
            "petitionkit_outbox_pending", "Jobs waiting, due or scheduled for later",
            value=stats.pending,
        )
        yield GaugeMetricFamily(
            "petitionkit_outbox_due", "Jobs whose time has come", value=stats.due
        )
        yield GaugeMetricFamily(
            "petitionkit_outbox_oldest_age_seconds",
            "Seconds since the oldest due job became due",
            value=stats.oldest_due_age,
        )
        yield GaugeMetricFamily("petitionkit_outbox_dead", "Jobs that gave up", value=stats.dead)


def process_counters() -> bytes:
    """This process's counters, or every process's when prometheus-client runs multiprocess.

    Under gunicorn each worker counts on its own; with PROMETHEUS_MULTIPROC_DIR set (before the
    workers start) they write their counters to files there and any worker can sum them all.
    """
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@bp.get("/metrics")
def metrics() -> Response:
    if not _operator_allowed():
        return _refusal()
    outbox_registry = METRICS_REGISTRY.of()
    output = process_counters() + generate_latest(outbox_registry)
    return Response(output, mimetype=CONTENT_TYPE_LATEST)


def _refusal() -> Response:
    access: OpsAccess = OPS_ACCESS.of()
    if access.token is None:
        return Response(
            "Forbidden: /metrics answers connections from OPS_ALLOW_NETWORKS (loopback unless "
            "set) that no proxy forwarded; set OPS_TOKEN to scrape from elsewhere.\n",
            status=403, mimetype="text/plain",
        )
    return Response("Unauthorized: send the OPS_TOKEN as a bearer token.\n", status=401,
                    headers={"WWW-Authenticate": "Bearer"}, mimetype="text/plain")


# The registry of the outbox gauges, read at scrape time (see petitionkit/registry.py).
METRICS_REGISTRY: Slot[CollectorRegistry] = Slot("petitionkit.metrics_registry", CollectorRegistry)
