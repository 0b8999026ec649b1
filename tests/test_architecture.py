"""The architecture rules of docs/architecture.md hold: the import-linter contracts in
pyproject.toml (layers, connectors and store import no domain, only ``connectors/jira``
imports Jira code, domains use ``ticketbridge.connectors`` only, the emulators and their kit
import nothing of the service, the kit neither emulator, neither emulator the other)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
