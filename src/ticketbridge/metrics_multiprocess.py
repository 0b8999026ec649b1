"""Multiprocess scrape (``PROMETHEUS_MULTIPROC_DIR``) that parses each file's keys once.

prometheus_client's ``MultiProcessCollector`` re-reads every process's file on each scrape,
JSON-decodes every entry's key (metric, labels and help text), builds a ``Sample`` per entry,
merges them in nested dicts and hands them to ``generate_latest``: about 70 ms for five
processes' 2,000 series (bench/bench_metrics.py). The files' layout makes most of that
repeatable work: a file is ``used`` (4 bytes), padding, then entries appended one after the
other (key length, key, padding, value, timestamp) and never moved or rewritten except for their
value and timestamp. So each file's entries are parsed once (and only the new ones when it
grows), each mapped to an accumulator slot with its line prefix built once; the file stays
memory-mapped read-only, and a scrape unpacks every value of a file with one precompiled
``struct`` call and adds them up.

Nothing is served from a cache: every scrape reads every file's current values (file
modification times are no help: writes through a shared mapping do not reliably update
them). The merge rules are the library's (counters, summaries and histograms summed across
processes, histogram buckets made cumulative, gauges by their ``multiprocess_mode``), and a
test compares the parsed output with ``MultiProcessCollector``'s on the same files
(tests/api/test_metrics_exposition.py). When a file disappears (``mark_process_dead``, a cleaned
directory) everything is parsed again, so series of removed files do not linger.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from ticketbridge.metrics_text import help_lines, label_text, number

_INT = struct.Struct("i")
_HEADER = 8  # ``used`` and padding
Labels = tuple[tuple[str, str], ...]


@dataclass
class _Series:
    labels: Labels
    samples: dict[str, int] = field(default_factory=dict)  # sample name -> slot
    buckets: dict[float, int] = field(default_factory=dict)  # histogram upper bound -> slot
    ordered: list[int] = field(default_factory=list)  # bucket slots by upper bound
    count_prefix: str = ""


@dataclass
class _Family:
    name: str
    kind: str  # counter, gauge, histogram, summary
    header: str
    series: dict[Labels, _Series] = field(default_factory=dict)


@dataclass
class _File:
    """One process file: what of it is parsed, and where each parsed entry's value goes."""

    ident: tuple[int, int]
    kind: str  # counter, gauge, histogram, summary
    reducer: str  # sum, all, min, max, recent
    pid: str
    parsed: int = _HEADER
    slots: list[int] = field(default_factory=list)
    layout: list[str] = field(default_factory=lambda: [f"={_HEADER}x"])
    values: struct.Struct = field(default_factory=lambda: struct.Struct(f"={_HEADER}x"))
    # Kept mapped between scrapes: reading a value is then a memory read, no copy, no syscall.
    data: mmap.mmap | None = None

    def mapped(self, path: str, remap: bool = False) -> mmap.mmap | None:
        if self.data is None or remap:
            self.close()
            with open(path, "rb") as fh:
                if os.fstat(fh.fileno()).st_size < _HEADER:
                    return None  # created, not sized yet
                self.data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        return self.data

    def close(self) -> None:
        if self.data is not None:
            self.data.close()
            self.data = None

    @classmethod
    def named(cls, name: str, ident: tuple[int, int]) -> _File:
        """``counter_<pid>.db``, ``histogram_<pid>.db``, ``gauge_<mode>_<pid>.db``..."""
        parts = name.split("_")
        kind = parts[0]
        if kind != "gauge":
            return cls(ident, kind, "sum", "")
        mode = parts[1].removeprefix("live")
        reducer = {"mostrecent": "recent"}.get(mode, mode)  # all, min, max, sum, recent
        return cls(ident, kind, reducer, parts[2][:-3] if len(parts) > 2 else "")


class MultiProcessReader:
    """Renders the merged samples of every ``*.db`` file under ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.files: dict[str, _File] = {}
        self.families: dict[str, _Family] = {}
        self.prefixes: list[str] = []  # slot -> line prefix

    def render(self) -> bytes:
        with self.lock:
            return self._render()

    def _render(self) -> bytes:
        names = sorted(n for n in os.listdir(self.path) if n.endswith(".db"))
        if not self.files.keys() <= set(names):
            for state in self.files.values():
                state.close()
            self._reset()  # a process's files were removed: its series must go too
        total = [0.0] * len(self.prefixes)  # grown below when files gained entries
        stamps: list[float] = []
        present: set[int] = set()
        for name in names:
            read = self._read(name)
            if read is None:
                continue
            state, data = read
            if len(self.prefixes) > len(total):
                total.extend([0.0] * (len(self.prefixes) - len(total)))
            self._merge(state, data, total, stamps, present)
        return self._write(total, present)

    def _read(self, name: str) -> tuple[_File, mmap.mmap] | None:
        path = os.path.join(self.path, name)
        try:
            stat = os.stat(path)
            state = self.files.get(name)
            if state is None or state.ident != (stat.st_dev, stat.st_ino):
                if state is not None:
                    state.close()
                state = self.files[name] = _File.named(name, (stat.st_dev, stat.st_ino))
            data = state.mapped(path)
        except FileNotFoundError:  # removed since the listing (mark_process_dead)
            return None
        if data is None:
            return None
        used = _INT.unpack_from(data, 0)[0]
        if used > len(data):  # the writer grew the file: map it again
            data = state.mapped(path, remap=True)
            if data is None:
                return None
        if used > state.parsed:
            self._parse(state, data, used)
        return state, data

    def _parse(self, state: _File, data: mmap.mmap, used: int) -> None:
        for value_pos, key in _entries(data, state.parsed, used):
            state.slots.append(self._slot(state, key))
            # Timestamps matter to the most-recent gauges only: elsewhere they are skipped.
            stamp = "d" if state.reducer == "recent" else "8x"
            state.layout.append(f"{value_pos - state.parsed}xd{stamp}")
            state.parsed = value_pos + 16
        state.values = struct.Struct("".join(state.layout))

    def _slot(self, state: _File, key: str) -> int:
        kind = state.kind
        metric_name, name, labels, help_text = json.loads(key)
        family = self.families.get(metric_name)
        if family is None:
            exposed = metric_name + "_total" if kind == "counter" else metric_name
            header = help_lines(exposed, kind, help_text)
            family = self.families[metric_name] = _Family(metric_name, kind, header)
        pairs = dict(labels)
        le = pairs.pop("le", None) if kind == "histogram" and name.endswith("_bucket") else None
        if state.reducer == "all":
            pairs["pid"] = state.pid
        series_key: Labels = tuple(sorted(pairs.items()))
        series = family.series.get(series_key)
        if series is None:
            series = family.series[series_key] = _Series(series_key)
            series.count_prefix = f"{metric_name}_count{label_text(series_key)} "
        if le is not None:
            bound = float(le)
            slot = series.buckets.get(bound)
            if slot is None:
                slot = series.buckets[bound] = self._new_slot(
                    f"{name}{label_text((*series_key, ('le', number(bound))))} "
                )
                series.ordered = [s for _, s in sorted(series.buckets.items())]
            return slot
        slot = series.samples.get(name)
        if slot is None:
            slot = series.samples[name] = self._new_slot(f"{name}{label_text(series_key)} ")
        return slot

    def _new_slot(self, prefix: str) -> int:
        self.prefixes.append(prefix)
        return len(self.prefixes) - 1

    @staticmethod
    def _merge(
        state: _File, data: mmap.mmap, total: list[float], stamps: list[float], present: set[int]
    ) -> None:
        values = state.values.unpack_from(data, 0)
        slots = state.slots
        reducer = state.reducer
        if reducer == "sum":
            for slot, value in zip(slots, values, strict=True):
                total[slot] += value
            present.update(slots)
        elif reducer == "all":
            for slot, value in zip(slots, values, strict=True):
                total[slot] = value
            present.update(slots)
        elif reducer in ("min", "max"):
            lower = reducer == "min"
            for slot, value in zip(slots, values, strict=True):
                if slot not in present:
                    total[slot] = value
                    present.add(slot)
                elif (value < total[slot]) if lower else (value > total[slot]):
                    total[slot] = value
        else:  # the value with the latest timestamp; never-set values (timestamp 0) are absent
            if len(stamps) < len(total):
                stamps.extend([0.0] * (len(total) - len(stamps)))
            for slot, value, stamp in zip(slots, values[0::2], values[1::2], strict=True):
                if stamp > stamps[slot]:
                    stamps[slot] = stamp
                    total[slot] = value
                    present.add(slot)

    def _write(self, total: list[float], present: set[int]) -> bytes:
        prefixes = self.prefixes
        out: list[str] = []
        for family in self.families.values():
            out.append(family.header)
            for series in family.series.values():
                if series.buckets:
                    acc = 0.0
                    seen = False
                    for slot in series.ordered:
                        if slot in present:
                            acc += total[slot]
                            seen = True
                            out.append(f"{prefixes[slot]}{number(acc)}\n")
                    if seen:
                        out.append(f"{series.count_prefix}{number(acc)}\n")
                for slot in series.samples.values():
                    if slot in present:
                        out.append(f"{prefixes[slot]}{number(total[slot])}\n")
        return "".join(out).encode()


def _entries(data: mmap.mmap, pos: int, used: int) -> Iterator[tuple[int, str]]:
    """(position of the value, key) of each entry between ``pos`` and ``used``."""
    while pos < used:
        length = _INT.unpack_from(data, pos)[0]
        if length + pos > used:
            raise RuntimeError("Read beyond file size detected, file is corrupted.")
        pos += 4
        key = data[pos : pos + length].decode("utf-8")
        pos += length + (8 - (length + 4) % 8)
        yield pos, key
        pos += 16
