"""Prometheus metrics: the series, the recording helpers and the scrape.

Labels carry templates and ids only, never content: routes are FastAPI path templates
(``/v1/tickets/{ticket_id}``), vendor endpoints are the connector's path templates with every
tenant value replaced by ``{id}`` (never the tenant's host), connections are their UUID. Keys,
tokens, summaries and raw paths never become a label: cardinality stays bounded and a scrape
leaks nothing.

Several worker processes: when ``PROMETHEUS_MULTIPROC_DIR`` is set (before the process starts)
prometheus_client writes every sample to memory-mapped files there and a scrape of any process
aggregates all of them; otherwise each process serves its own numbers (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import os
import time

import prometheus_client
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as _mp

from ticketbridge import metrics_multiprocess, metrics_text
from ticketbridge.connectors import http as vendor_http

# ``*_created`` timestamps double the lines of every counter and histogram for a value that
# Prometheus does not need; without them a scrape formats about a third less text.
disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
_SLOW = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
# Our series, apart from the library's process/GC/platform collectors (prometheus_client's
# default registry), so that a scrape writes ours with metrics_text.
REGISTRY = CollectorRegistry()

REQUEST_LATENCY = Histogram(
    "ticketbridge_http_request_duration_seconds",
    "API request latency by route template, method and status.",
    ["route", "method", "status"],
    buckets=_FAST,
    registry=REGISTRY,
)
VENDOR_CALLS = Counter(
    "ticketbridge_vendor_requests",
    "Vendor HTTP attempts by endpoint template, method and status (or transport error).",
    ["vendor", "endpoint", "method", "status"],
    registry=REGISTRY,
)
VENDOR_LATENCY = Histogram(
    "ticketbridge_vendor_request_duration_seconds",
    "Vendor HTTP attempt latency by endpoint template.",
    ["vendor", "endpoint", "method"],
    buckets=_FAST,
    registry=REGISTRY,
)
VENDOR_RATE_LIMITED = Counter(
    "ticketbridge_vendor_rate_limited",
    "Vendor answers with HTTP 429, by endpoint template.",
    ["vendor", "endpoint"],
    registry=REGISTRY,
)
VENDOR_RETRIES = Counter(
    "ticketbridge_vendor_retries",
    "Vendor calls retried, by endpoint template and reason (429, 5xx, transport).",
    ["vendor", "endpoint", "reason"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "ticketbridge_job_duration_seconds",
    "Job attempt durations by type and outcome (SUCCESS, FAILED, RETRY, LEASE_LOST, ...).",
    ["type", "outcome"],
    buckets=_SLOW,
    registry=REGISTRY,
)
SYNC_DURATION = Histogram(
    "ticketbridge_sync_duration_seconds",
    "Sync run durations by mode and outcome (all connections).",
    ["mode", "outcome"],
    buckets=_SLOW,
    registry=REGISTRY,
)
# Per connection one line, not a histogram: ten bucket lines per connection made the sync
# series most of a scrape's text (bench/bench_metrics.py).
SYNC_LAST_DURATION = Gauge(
    "ticketbridge_sync_last_duration_seconds",
    "Duration of the connection's last sync run.",
    ["connection_id", "outcome"],
    multiprocess_mode="mostrecent",
    registry=REGISTRY,
)
# Gauges read from the database at scrape time (all processes see the same rows, so the most
# recent value of any live process is the right one).
JOB_QUEUE = Gauge(
    "ticketbridge_job_queue_depth",
    "Jobs waiting (QUEUED) and running (RUNNING), from the database.",
    ["status"],
    multiprocess_mode="livemostrecent",
    registry=REGISTRY,
)
SYNC_LAG = Gauge(
    "ticketbridge_sync_lag_seconds",
    "Seconds since the connection's last successful sync (absent: never synced).",
    ["connection_id"],
    multiprocess_mode="livemostrecent",
    registry=REGISTRY,
)
TICKETS = Gauge(
    "ticketbridge_tickets",
    "Tickets in the store per connection.",
    ["connection_id"],
    multiprocess_mode="livemostrecent",
    registry=REGISTRY,
)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


_WRITER = metrics_text.TextWriter(
    [
        REQUEST_LATENCY,
        VENDOR_CALLS,
        VENDOR_LATENCY,
        VENDOR_RATE_LIMITED,
        VENDOR_RETRIES,
        JOB_DURATION,
        SYNC_DURATION,
        SYNC_LAST_DURATION,
        JOB_QUEUE,
        SYNC_LAG,
        TICKETS,
    ],
    # The process/GC/platform collectors: a few dozen lines, left to the library.
    tail=lambda: generate_latest(prometheus_client.REGISTRY),
)


_READERS: dict[str, metrics_multiprocess.MultiProcessReader] = {}


def process_exits() -> None:
    """Multiprocess mode: this process's database gauges ("live" modes) leave the scrape with
    it, instead of staying in its file until the directory is emptied."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        _mp.mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]


def scrape() -> bytes:
    """The exposition text: this process's registry, or every process's samples."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        reader = _READERS.get(path)
        if reader is None:
            reader = _READERS[path] = metrics_multiprocess.MultiProcessReader(path)
        return reader.render()
    return _WRITER.render()


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(route, method, str(status)).observe(seconds)


def observe_job(job_type: str, outcome: str, seconds: float) -> None:
    JOB_DURATION.labels(job_type, outcome).observe(seconds)


def observe_sync(connection_id: str, mode: str, outcome: str, seconds: float) -> None:
    SYNC_DURATION.labels(mode, outcome).observe(seconds)
    for other in ("SUCCESS", "FAILED", "DELETED"):
        if other != outcome:
            with contextlib.suppress(KeyError):
                SYNC_LAST_DURATION.remove(connection_id, other)
    SYNC_LAST_DURATION.labels(connection_id, outcome).set(seconds)


class Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


class _VendorMetrics:
    """The listener registered with connectors/http.py."""

    def call(self, event: vendor_http.VendorCall) -> None:
        VENDOR_CALLS.labels(event.vendor, event.endpoint, event.method, event.status).inc()
        VENDOR_LATENCY.labels(event.vendor, event.endpoint, event.method).observe(event.seconds)
        if event.status == "429":
            VENDOR_RATE_LIMITED.labels(event.vendor, event.endpoint).inc()

    def retry(self, event: vendor_http.VendorCall) -> None:
        VENDOR_RETRIES.labels(event.vendor, event.endpoint, _retry_reason(event.status)).inc()


def _retry_reason(status: str) -> str:
    if status == "429":
        return "429"
    return "5xx" if status.isdigit() else "transport"


_listener = _VendorMetrics()


def install() -> None:
    """Record vendor calls from now on (idempotent; create_app and the worker call it)."""
    vendor_http.set_listener(_listener)


def set_db_gauges(
    jobs: dict[str, int], lag: dict[str, float], tickets: dict[str, int], known: set[str]
) -> None:
    for status in ("QUEUED", "RUNNING"):
        JOB_QUEUE.labels(status).set(jobs.get(status, 0))
    # A deleted connection's series go away instead of reporting its last value for ever.
    for gauge in (SYNC_LAG, TICKETS):
        for labels in list(_label_values(gauge)):
            if labels not in known:
                gauge.remove(labels)
    set_sync_lag(lag)
    for cid in known:
        TICKETS.labels(cid).set(tickets.get(cid, 0))


def set_sync_lag(lag: dict[str, float]) -> None:
    for cid, seconds in lag.items():
        SYNC_LAG.labels(cid).set(seconds)


def _label_values(gauge: Gauge) -> set[str]:
    return {key[0] for key in gauge._metrics}  # no public accessor
