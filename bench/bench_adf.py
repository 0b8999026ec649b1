"""ADF -> Markdown throughput over the emulator's seed descriptions.

The corpus is deterministic: every issue description of ``FakeJiraState(seed=2000)``'s
``acme`` site. Converts all of them with :func:`adf_to_markdown` five times and prints JSON
with the median wall time and the time per document. ``--dump PATH`` also writes the
outputs (a JSON list, in corpus order) so that a change can be checked for identical output.

    .venv/bin/python bench/bench_adf.py [--runs 5] [--dump /tmp/adf_golden.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from ticketbridge.connectors.jira.adf import adf_to_markdown
from ticketbridge.fakejira import FakeJiraState


def corpus() -> list[dict[str, Any]]:
    site = FakeJiraState(seed=2000).site("acme.atlassian.net")
    return [issue.description for _, issue in sorted(site.issues.items()) if issue.description]


def convert_all(docs: list[dict[str, Any]]) -> list[str | None]:
    return [adf_to_markdown(doc) for doc in docs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dump", help="write the outputs to this JSON file")
    args = parser.parse_args()
    docs = corpus()
    convert_all(docs)  # warm-up: imports, regex caches
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        convert_all(docs)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as fh:
            json.dump(convert_all(docs), fh, ensure_ascii=False)
    result = {"docs": len(docs), "median_s": round(median, 4)}
    result["per_doc_us"] = round(median / len(docs) * 1e6, 1) if docs else 0.0
    print(json.dumps(result))


if __name__ == "__main__":
    main()
