"""Rows of the comparison and how they are written: JSON, a Markdown table, the console."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Row:
    """One line of the issue's table: what was measured now, the target, pass or fail.

    ``passed`` is ``None`` when the row was not measured (``now`` says why)."""

    id: str
    what: str
    target: str
    now: str = "not measured"
    passed: bool | None = None
    value: float | None = None
    unit: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def verdict(self) -> str:
        return "—" if self.passed is None else "pass" if self.passed else "FAIL"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git_info() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "src")),
    }


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"# `make bench` — {result['date']}",
        "",
        f"Commit `{result['git']['commit'][:10]}` ({result['git']['branch']}"
        f"{', src modified' if result['git']['dirty'] else ''}), options "
        f"`{' '.join(result['argv']) or '(none)'}`, {result['seconds']:.0f} s in all. "
        f"{m['cpus']} CPUs, load average {m['loadavg']} at the start and "
        f"{result['machine_end']['loadavg']} at the end: the machine is shared, so every "
        "figure is indicative; ratios compare sides measured in the same run.",
        "",
        "| row | what | now | target | result |",
        "|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        now = row["now"] + (f" ({row['note']})" if row["note"] else "")
        verdict = "—" if row["passed"] is None else "pass" if row["passed"] else "**FAIL**"
        lines.append(
            f"| `{row['id']}` | {row['what']} | {_cell(now)} | {_cell(row['target'])} | {verdict} |"
        )
    lines += ["", "Details of every row (raw figures, vendor calls) are in the JSON file.", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write(result: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    date = result["date"]
    json_path, md_path = out_dir / f"{date}.json", out_dir / f"{date}.md"
    json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    text = markdown(result)
    md_path.write_text(text)
    (out_dir / "latest.md").write_text(text)
    return [json_path, md_path, out_dir / "latest.md"]


def row_json(row: Row) -> dict[str, Any]:
    return asdict(row)


def console_line(row: Row) -> str:
    return f"{row.verdict():>5}  {row.id:<22} now: {row.now}   target: {row.target}"
