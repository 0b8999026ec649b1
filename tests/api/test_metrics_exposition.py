"""The /metrics writers against prometheus_client's own: ``metrics_text`` writes exactly what
``generate_latest`` writes, and the multiprocess reader merges the files exactly as
``MultiProcessCollector`` does, on files written by real processes; both outputs parse."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.parser import text_string_to_metric_families

from ticketbridge import metrics
from ticketbridge.metrics_text import TextWriter

Samples = dict[tuple[str, str, str, tuple[tuple[str, str], ...]], float]
AWKWARD = 'quote " backslash \\ newline \n end'


def samples(text: str) -> Samples:
    """Every sample as (family, type, sample name, labels) -> value; NaN as a string."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (family.name, family.type, s.name, tuple(sorted(s.labels.items())))
            assert key not in out, f"duplicate sample {key}"
            out[key] = s.value
    return out


def same(a: Samples, b: Samples) -> bool:
    """The same samples; sums of floats may differ in the last digit (files added in another
    order)."""
    differ = {
        k: (a.get(k), b.get(k))
        for k in a.keys() | b.keys()
        if k not in a or k not in b or not _equal(a[k], b[k])
    }
    assert not differ, differ
    return True


def _equal(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=1e-12) or (math.isnan(x) and math.isnan(y))


def test_text_writer_writes_what_generate_latest_writes() -> None:
    registry = CollectorRegistry()
    calls = Counter("t_calls", "Calls.\nSecond \\ line.", ["endpoint", "status"], registry=registry)
    level = Gauge("t_level", "Level.", ["cid"], registry=registry)
    latency = Histogram("t_latency_seconds", "Latency.", ["route"], registry=registry)
    signed = Histogram(
        "t_signed", "Negative first bucket: no _sum.", buckets=(-1, 0, 1e7), registry=registry
    )
    plain = Counter("t_plain", "Without labels.", registry=registry)
    empty = Gauge("t_empty", "No series yet.", ["cid"], registry=registry)
    calls.labels(AWKWARD, "200").inc(3)
    calls.labels("/rest/api/3/issue/{id}", "429").inc(1_234_567)
    for cid, value in [("a", 0.0), ("b", 1e6), ("c", 1e-7), ("d", -3.5), ("e", math.nan)]:
        level.labels(cid).set(value)
    level.labels("f").set(math.inf)
    level.labels("g").set(-math.inf)
    for seconds in (0.001, 0.3, 7.0, 99.0):
        latency.labels("/v1/itsm/tickets/{ticket_id}").observe(seconds)
    signed.observe(-5)
    signed.observe(2e7)
    plain.inc()
    writer = TextWriter([calls, level, latency, signed, plain, empty])

    first = writer.render()
    assert first == generate_latest(registry)
    assert ("t_level", "gauge", "t_level", (("cid", "b"),)) in samples(first.decode())

    # Series come and go between scrapes; values move.
    level.remove("a")
    level.labels("h").set(2)
    calls.labels(AWKWARD, "200").inc()
    latency.labels("/other").observe(0.02)
    second = writer.render()
    assert second == generate_latest(registry)
    parsed = samples(second.decode())
    assert ("t_level", "gauge", "t_level", (("cid", "a"),)) not in parsed
    assert (
        parsed["t_calls", "counter", "t_calls_total", (("endpoint", AWKWARD), ("status", "200"))]
        == 4
    )


def test_app_scrape_is_our_series_then_the_process_collectors() -> None:
    metrics.observe_request("/v1/itsm/tickets/{ticket_id}", "GET", 200, 0.01)
    metrics.observe_job("bulk.create", "SUCCESS", 3.0)
    text = metrics.scrape().decode()
    ours = generate_latest(metrics.REGISTRY).decode()
    assert text.startswith(ours)
    names = {family.name for family in text_string_to_metric_families(text)}
    assert "ticketbridge_http_request_duration_seconds" in names
    assert "process_cpu_seconds" in names  # the library's process collector is still served


# Each process records every kind of series the library writes to files, some in a second
# phase (its file grows while the scraper keeps its parsed state).
WRITER = r"""
import sys
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary

k = int(sys.argv[1])
r = CollectorRegistry()
calls = Counter("mp_calls", "Calls.\nSecond line.", ["endpoint", "status"], registry=r)
latency = Histogram("mp_latency_seconds", "Latency.", ["route"], buckets=(0.1, 1, 1e7), registry=r)
size = Summary("mp_size", "Sizes.", ["kind"], registry=r)
modes = ("all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent",
         "livemostrecent")
gauges = {m: Gauge(f"mp_{m}", m, ["cid"], multiprocess_mode=m, registry=r) for m in modes}

def record(phase):
    for i in range(3 + k):
        calls.labels(f'/e{i} "q" \\', str(200 + phase)).inc(i * k + 0.5)
        latency.labels(f"/r/{i}").observe(0.05 * i * k + phase)
        latency.labels(f"/r/{i}").observe(2e7)
        size.labels("s").observe(k)
    for m, gauge in gauges.items():
        for i in range(3):
            if m.endswith("mostrecent") and (i + k) % 2 == 0:
                gauge.labels(str(i))  # created, never set: timestamp 0, not exposed
            else:
                gauge.labels(str(i)).set(k * 10 + i - phase)

record(0)
print("ready", flush=True)
if sys.stdin.readline().strip() == "more":
    record(1)
    gauges["livemax"].labels("new").set(k)
print("done", flush=True)
"""


def _library(path: Path) -> Samples:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    return samples(generate_latest(registry).decode())


def test_multiprocess_scrape_merges_the_files_as_the_library_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**os.environ, metrics.MULTIPROC_ENV: str(tmp_path)}
    for k in (1, 2):
        done = subprocess.run(
            [sys.executable, "-c", WRITER, str(k)], env=env, input="stop\n", text=True, check=True
        )
        assert done.returncode == 0
    live = subprocess.Popen(
        [sys.executable, "-c", WRITER, "3"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert live.stdin is not None and live.stdout is not None
    try:
        assert live.stdout.readline().strip() == "ready"
        monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))

        first = samples(metrics.scrape().decode())
        assert same(first, _library(tmp_path))
        assert ("mp_all", "gauge", "mp_all", (("cid", "0"), ("pid", str(live.pid)))) in first

        # The live process adds series (its file grows) and changes values.
        live.stdin.write("more\n")
        live.stdin.flush()
        assert live.stdout.readline().strip() == "done"
        second = samples(metrics.scrape().decode())
        assert same(second, _library(tmp_path))
        assert second != first
        assert ("mp_livemax", "gauge", "mp_livemax", (("cid", "new"),)) in second
    finally:
        live.stdin.close()
        live.wait(timeout=30)
        live.stdout.close()

    # A dead process's live gauges are removed: its values leave the scrape.
    mark_process_dead(live.pid, str(tmp_path))  # type: ignore[no-untyped-call]
    third = samples(metrics.scrape().decode())
    assert same(third, _library(tmp_path))
    assert ("mp_livemax", "gauge", "mp_livemax", (("cid", "new"),)) not in third
