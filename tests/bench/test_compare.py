"""``python -m bench.compare``: the harness runs and writes its results (never its speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.compare.rows.ingest import rate_for

ROOT = Path(__file__).resolve().parents[2]
ROW_KEYS = {"id", "what", "target", "now", "passed", "value", "unit", "details", "note"}


@pytest.mark.e2e
class TestQuickRun:
    def test_one_row_writes_json_and_markdown(self, tmp_path: Path) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "bench.compare", "--quick", "--only", "read-floor"]
            + ["--out", str(tmp_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        [json_file] = tmp_path.glob("*.json")
        result = json.loads(json_file.read_text())
        assert {"date", "git", "machine", "scale", "rows", "scenarios", "seconds"} <= set(result)
        assert json_file.name == f"{result['date']}.json" and result["quick"] is True
        [row] = result["rows"]
        assert set(row) == ROW_KEYS and row["id"] == "read-floor"
        assert isinstance(row["value"], float) and row["passed"] in (True, False)
        assert {"ours_p50_ms", "direct_p50_ms", "n"} <= set(row["details"])
        table = (tmp_path / "latest.md").read_text()
        assert table == (tmp_path / f"{result['date']}.md").read_text()
        assert "| `read-floor` |" in table and row["now"] in table


class TestIngestOutput:
    """The ingestion row reads another script's JSON: the shapes it accepts."""

    def test_rate_per_backend(self) -> None:
        flat = {"sqlite": {"tickets_per_s": 5200.5}, "postgres": {"tickets_per_s": 4100}}
        nested = {
            "issues": 10_000,
            "backends": {
                "sqlite": {
                    "median_tickets_per_cpu_s": 9000,
                    "median_tickets_per_s": 6000,
                    "runs": [{"tickets_per_s": 1.0}],
                }
            },
        }
        assert rate_for(flat, "sqlite") == 5200.5 and rate_for(flat, "postgres") == 4100.0
        assert rate_for(nested, "sqlite") == 6000.0 and rate_for(nested, "postgres") is None
