"""What this process counts for ``GET /metrics`` (Prometheus text format).

The core records through the module functions (:func:`inbound`, :func:`sent`,
:func:`tick_job` ...), which write to the :class:`Metrics` installed with
:func:`install`, and do nothing while none is: the console and the command-line
tools never install one, so they never import ``prometheus_client`` nor pay for a
metric. The web server owns the process's :class:`Metrics` (its own
``CollectorRegistry``, not the library's global one), so each test's server starts
from zero. What lives in the database (outbox depth, unprocessed deliveries) is read
at scrape time (:meth:`Metrics.observe_storage`), not counted here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = [
    "CONTENT_TYPE",
    "SEND_RESULTS",
    "Metrics",
    "current",
    "inbound",
    "install",
    "leader",
    "overflowed",
    "processed",
    "rate_limited",
    "retried",
    "sent",
    "tick_job",
    "webhook",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# What the courier reports per send (``sent(platform, result)``).
SEND_RESULTS = ("ok", "failed", "retry", "rate_limited", "unreachable")
# Inbound results: ``stored`` and ``duplicate`` from the inbox; ``refused`` (a 4xx: bad
# signature, malformed body), ``unavailable`` (503) and ``error`` (500) from the web layer.
INBOUND_RESULTS = ("stored", "duplicate", "refused", "unavailable", "error")

_PROCESSING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60)
_WEBHOOK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_TICK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    """One process's metric objects, in their own registry."""

    def __init__(self) -> None:
        from prometheus_client import (
            CollectorRegistry,
            Counter,
            Gauge,
            Histogram,
            disable_created_metrics,
        )

        disable_created_metrics()  # the *_created series only double the page here
        self.registry: CollectorRegistry = CollectorRegistry()
        r = self.registry
        self.inbound = Counter(
            "preboard_inbound_events",
            "Webhook and polled deliveries by platform and result "
            "(stored, duplicate, refused, unavailable, error).",
            ["platform", "result"],
            registry=r,
        )
        self.webhook_seconds = Histogram(
            "preboard_webhook_seconds",
            "Time from a webhook request's arrival to its answer (the acknowledgement).",
            ["platform"],
            buckets=_WEBHOOK_BUCKETS,
            registry=r,
        )
        self.processing_seconds = Histogram(
            "preboard_processing_seconds",
            "Time from a delivery being stored to its processing and direct replies done.",
            ["platform"],
            buckets=_PROCESSING_BUCKETS,
            registry=r,
        )
        self.queue_length = Gauge(
            "preboard_inbox_queue_length",
            "Stored deliveries waiting in this process's worker queue.",
            registry=r,
        )
        self.overflowed = Counter(
            "preboard_inbox_overflowed",
            "Deliveries left to recovery because the worker queue was full.",
            registry=r,
        )
        self.unprocessed = Gauge(
            "preboard_inbox_unprocessed_rows",
            "Inbox rows not processed yet, in the database (every process), at scrape time.",
            registry=r,
        )
        self.outbox = Gauge(
            "preboard_outbox_rows",
            "Outbox rows not sent (pending, sending, failed) by status and category "
            "(a reply or notice without a category is labelled by its kind), at scrape time.",
            ["status", "category"],
            registry=r,
        )
        self.database_up = Gauge(
            "preboard_database_up",
            "1 when the last scrape could read the database, else 0.",
            registry=r,
        )
        self.sends = Counter(
            "preboard_sends",
            "Outbox rows sent by platform and result (ok, failed, retry, rate_limited, "
            "unreachable).",
            ["platform", "result"],
            registry=r,
        )
        self.rate_limits = Counter(
            "preboard_rate_limited",
            "Rate-limited answers (HTTP 429 or the platform's own code) from a platform.",
            ["platform"],
            registry=r,
        )
        self.retries = Counter(
            "preboard_send_retries",
            "Sends rescheduled for another try, by platform.",
            ["platform"],
            registry=r,
        )
        self.leader = Gauge(
            "preboard_leader", "1 while this process is the scheduler's leader.", registry=r
        )
        self.tick_seconds = Histogram(
            "preboard_tick_job_seconds",
            "Duration of each scheduled tick job.",
            ["job"],
            buckets=_TICK_BUCKETS,
            registry=r,
        )
        self.tick_failures = Counter(
            "preboard_tick_job_failures", "Tick jobs that raised, by job.", ["job"], registry=r
        )
        self._queue: Callable[[], int] | None = None

    def watch_queue(self, length: Callable[[], int]) -> None:
        """Read the workers' queue length from ``length`` at every scrape."""
        self._queue = length

    def observe_storage(
        self, outbox: Mapping[tuple[str, str], int] | None, unprocessed: int | None
    ) -> None:
        """Set the gauges read from the database; None: it could not be read."""
        self.database_up.set(0 if outbox is None else 1)
        self.outbox.clear()  # a status that emptied must not keep its last count
        for (status, category), count in (outbox or {}).items():
            self.outbox.labels(status=status, category=category).set(count)
        if unprocessed is not None:
            self.unprocessed.set(unprocessed)

    def render(self) -> bytes:
        """The text exposition of every metric."""
        from prometheus_client import generate_latest

        if self._queue is not None:
            self.queue_length.set(self._queue())
        return generate_latest(self.registry)


_active: Metrics | None = None


def install(metrics: Metrics | None) -> Metrics | None:
    """Make ``metrics`` the process's (None: stop recording); returns the previous one."""
    global _active
    previous, _active = _active, metrics
    return previous


def current() -> Metrics | None:
    return _active


# ---- what the core records (each a no-op while no Metrics is installed) ------------------


def inbound(platform: str, result: str) -> None:
    """A delivery arrived: ``stored``, ``duplicate``, ``refused``, ``unavailable``, ``error``."""
    if _active is not None:
        _active.inbound.labels(platform=platform, result=result).inc()


def webhook(platform: str, seconds: float) -> None:
    """A webhook request was answered after ``seconds``."""
    if _active is not None:
        _active.webhook_seconds.labels(platform=platform).observe(seconds)


def processed(platform: str, seconds: float) -> None:
    """A delivery was processed (and its direct replies sent) ``seconds`` after storing."""
    if _active is not None:
        _active.processing_seconds.labels(platform=platform).observe(seconds)


def overflowed() -> None:
    """The worker queue was full; the delivery waits in the inbox for recovery."""
    if _active is not None:
        _active.overflowed.inc()


def sent(platform: str, result: str) -> None:
    """One send attempt of an outbox row: one of :data:`SEND_RESULTS`."""
    if _active is not None:
        _active.sends.labels(platform=platform, result=result).inc()


def rate_limited(platform: str) -> None:
    """A platform answered "too many requests" (HTTP 429 or its own code)."""
    if _active is not None:
        _active.rate_limits.labels(platform=platform).inc()


def retried(platform: str) -> None:
    """A send was rescheduled for another try."""
    if _active is not None:
        _active.retries.labels(platform=platform).inc()


def leader(leading: bool) -> None:
    """This process became (True) or stopped being (False) the leader."""
    if _active is not None:
        _active.leader.set(1 if leading else 0)


def tick_job(job: str, seconds: float, *, failed: bool = False) -> None:
    """A tick job ran for ``seconds`` (and raised, when ``failed``)."""
    if _active is not None:
        _active.tick_seconds.labels(job=job).observe(seconds)
        if failed:
            _active.tick_failures.labels(job=job).inc()
