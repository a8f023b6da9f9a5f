"""Prometheus metrics; counters only count, they never carry personal data in labels."""

from __future__ import annotations

from prometheus_client import Counter

SIGNINGS = Counter("petitionkit_signings_total", "Signing requests accepted", ["channel"])
CONFIRMATIONS = Counter("petitionkit_confirmations_total", "Signatures confirmed")
CANCELLATIONS = Counter("petitionkit_cancellations_total", "Signatures withdrawn")
RATE_LIMITED = Counter("petitionkit_rate_limited_total", "Requests refused with 429")
RATE_LIMIT_STORAGE_ERRORS = Counter(
    "petitionkit_rate_limit_storage_errors_total",
    "Times the rate-limit storage failed (then left alone for a while)",
)
RATE_LIMIT_FALLBACK = Counter(
    "petitionkit_rate_limit_fallback_total",
    "Signing attempts the rate-limit storage could not count: counted in memory or refused",
    ["outcome"],
)
DATABASE_UNAVAILABLE = Counter(
    "petitionkit_database_unavailable_total",
    "Requests answered 503 because the database could not be reached",
)
REJECTED = Counter("petitionkit_rejected_total", "Signing requests refused as invalid", ["reason"])
ACTION_REPORTS = Counter(
    "petitionkit_action_reports_total",
    "Reported actions recorded: counted (a signer's own link) or anonymous", ["kind"],
)
JOBS_DONE = Counter("petitionkit_outbox_jobs_done_total", "Outbox jobs delivered", ["kind"])
DELIVERY_FAILURES = Counter(
    "petitionkit_outbox_failures_total", "Outbox delivery attempts that failed", ["kind"]
)


def job_kind_label(kind: str) -> str:
    """The ``kind`` label of an outbox job: every e-mail to a signer counts under ``email``.

    A confirmation request and an "already signed" notice counted apart would let anyone who can
    read /metrics sign with someone's address and see which of the two went out.
    """
    return "email" if kind.startswith("email.") else kind
