"""Prometheus text exposition of our own series, without ``generate_latest``'s per-line cost.

``generate_latest`` builds a ``Sample`` per line and re-validates, escapes and sorts its labels
on every scrape: about 8 µs a line, most of a scrape (bench/bench_metrics.py). A series' label
text only changes when the series is created, so here each series' line prefixes (name, sorted
and escaped labels, ``le``) are built once and kept while the series exists; a scrape reads the
values and formats numbers. The output is byte-for-byte what ``generate_latest`` writes for the
same metrics (tests/api/test_metrics_exposition.py), which also guards prometheus_client upgrades:
the children are read through attributes the library does not publish (pinned in
constraints.txt). Values are read without the value's lock (``MutexValue._value``, half the
cost): reading a float attribute is atomic, the lock only serialises read-modify-write, and a
scrape was never a snapshot across a histogram's buckets anyway. Only Counter, Gauge and
Histogram are supported, without ``*_created`` (ticketbridge.metrics disables them) and without
``Gauge.set_function``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.openmetrics.exposition import escape_label_name, escape_metric_name
from prometheus_client.utils import floatToGoString as _untyped_go_float

Metric = Counter | Gauge | Histogram
_NEG_INF = -math.inf
floatToGoString = cast(Callable[[float], str], _untyped_go_float)


def number(value: float) -> str:
    """``floatToGoString`` at a third of its cost for the values a scrape mostly has (finite,
    below 1e6, where Go and Python print the same digits)."""
    if _NEG_INF < value < 1e6:
        return repr(value)
    return floatToGoString(value)


def help_lines(name: str, kind: str, documentation: str) -> str:
    doc = documentation.replace("\\", r"\\").replace("\n", r"\n")
    name = escape_metric_name(name)
    return f"# HELP {name} {doc}\n# TYPE {name} {kind}\n"


def label_text(labels: Iterable[tuple[str, str]]) -> str:
    """``{a="1",b="2"}`` sorted by name, escaped as ``generate_latest`` does ('' if none)."""
    pairs = sorted(labels)
    if not pairs:
        return ""
    inner = ",".join(f'{escape_label_name(k)}="{_escape_value(v)}"' for k, v in pairs)
    return "{" + inner + "}"


def _escape_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class _Family:
    """One metric: its HELP/TYPE text and, per live series, the prefixes of its lines."""

    def __init__(self, metric: Metric, kind: str, exposed: str) -> None:
        self.metric: Any = metric  # its children and values have no typed accessor
        self.header = help_lines(exposed, kind, metric._documentation)
        self.names: tuple[str, ...] = tuple(metric._labelnames)
        self.prefixes: dict[tuple[str, ...], Any] = {}

    def children(self) -> list[tuple[tuple[str, ...], Any]]:
        metric = self.metric
        if not metric._is_parent():
            return [((), metric)]
        with metric._lock:
            return list(metric._metrics.items())

    def render(self, out: list[str]) -> None:
        out.append(self.header)
        children = self.children()
        cache = self.prefixes
        if len(cache) > len(children):  # series were removed: forget their prefixes
            live = {key for key, _ in children}
            self.prefixes = cache = {k: v for k, v in cache.items() if k in live}
        build = self.build
        for key, child in children:
            prefix = cache.get(key)
            if prefix is None:
                prefix = cache[key] = build(tuple(zip(self.names, key, strict=True)))
            self.write(child, prefix, out)

    def build(self, labels: tuple[tuple[str, str], ...]) -> Any:
        raise NotImplementedError

    def write(self, child: Any, prefix: Any, out: list[str]) -> None:
        raise NotImplementedError


class _Scalar(_Family):
    """Counter (``name_total``) or gauge (``name``): one line per series."""

    def __init__(self, metric: Counter | Gauge, kind: str, sample: str) -> None:
        super().__init__(metric, kind, sample)
        self.sample = sample

    def build(self, labels: tuple[tuple[str, str], ...]) -> str:
        return f"{escape_metric_name(self.sample)}{label_text(labels)} "

    def write(self, child: Any, prefix: str, out: list[str]) -> None:
        out.append(f"{prefix}{number(child._value._value)}\n")


class _Histogram(_Family):
    """Cumulative ``_bucket`` lines, then ``_count`` and ``_sum``, per series."""

    def __init__(self, metric: Histogram) -> None:
        super().__init__(metric, "histogram", metric._name)
        self.bounds = [floatToGoString(b) for b in metric._upper_bounds]
        self.with_sum = metric._upper_bounds[0] >= 0

    def build(self, labels: tuple[tuple[str, str], ...]) -> tuple[list[str], str, str]:
        name = escape_metric_name(self.metric._name)
        buckets = [f"{name}_bucket{label_text((*labels, ('le', le)))} " for le in self.bounds]
        plain = label_text(labels)
        return buckets, f"{name}_count{plain} ", f"{name}_sum{plain} "

    def write(self, child: Any, prefix: tuple[list[str], str, str], out: list[str]) -> None:
        buckets, count, total = prefix
        acc = 0.0
        for line, value in zip(buckets, child._buckets, strict=True):
            acc += value._value
            out.append(f"{line}{number(acc)}\n")
        out.append(f"{count}{number(acc)}\n")
        if self.with_sum:
            out.append(f"{total}{number(child._sum._value)}\n")


def _family(metric: Metric) -> _Family:
    if isinstance(metric, Histogram):
        return _Histogram(metric)
    if isinstance(metric, Counter):
        return _Scalar(metric, "counter", metric._name + "_total")
    if isinstance(metric, Gauge):
        return _Scalar(metric, "gauge", metric._name)
    raise TypeError(f"metrics_text cannot write {type(metric).__name__}")


class TextWriter:
    """Writes the given metrics, in order, as ``generate_latest`` would."""

    def __init__(self, metrics: Sequence[Metric], tail: Callable[[], bytes] | None = None) -> None:
        self.families = [_family(m) for m in metrics]
        self.tail = tail

    def render(self) -> bytes:
        out: list[str] = []
        for family in self.families:
            family.render(out)
        body = "".join(out).encode()
        return body + self.tail() if self.tail else body
