"""Job handlers are handed to the engine by the domains, never found by the engine itself."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

from ticketbridge.config import Settings
from ticketbridge.handlers import job_handlers
from ticketbridge.jobs.procrastinate_runner import build_app
from ticketbridge.jobs.registry import Handlers, JobType, WorkerTask

SRC = Path(__file__).parents[2] / "src" / "ticketbridge"
ENGINE_MAY_IMPORT = {"config", "connectors", "errors", "jobs", "logging", "runtime", "store"}


def imported_packages(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            names.add("<a module loaded by its name>")
    return {n.split(".")[1] if n.startswith("ticketbridge.") else n for n in names}


def ours(tasks: Iterable[str]) -> set[str]:
    return {name for name in tasks if "procrastinate" not in name}  # its builtin tasks


def test_the_job_engine_imports_no_domain() -> None:
    found = {
        f"{path.name}: {package}"
        for path in (SRC / "jobs").glob("*.py")
        for package in imported_packages(path)
        if package not in ENGINE_MAY_IMPORT
        and (
            package.startswith("<") or (SRC / package).exists() or (SRC / f"{package}.py").exists()
        )
    }
    assert found == set()


def test_the_domains_register_their_job_types_and_worker_tasks() -> None:
    handlers = job_handlers()
    assert set(handlers.job_types) == {"tickets.bulk_create", "tickets.bulk_update"}
    assert {(t.name, t.cron) for t in handlers.worker_tasks.values()} == {
        ("sync.run", None),
        ("sync.schedule", "* * * * * */30"),
    }


def test_a_worker_serves_the_engine_tasks_and_the_domains_ones(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/unused",  # never connected here
        data_dir=tmp_path,
        mode="distributed",
    )
    worker = build_app(settings, handlers=job_handlers())
    assert ours(worker.tasks) == {"jobs.run", "jobs.recover", "sync.run", "sync.schedule"}
    assert {p.periodic_id for p in worker.periodic_registry.periodic_tasks.values()} == {
        "recover",
        "schedule",
    }
    # An API process only defers jobs.run: it carries no domain task.
    assert ours(build_app(settings).tasks) == {"jobs.run", "jobs.recover"}


def test_a_name_registered_twice_is_refused() -> None:
    async def noop(*_: object) -> None:
        return None

    handlers = job_handlers()
    with pytest.raises(ValueError, match="sync.run"):
        handlers.add_worker_task(WorkerTask("sync.run", noop))
    with pytest.raises(ValueError, match="tickets.bulk_create"):
        handlers.add_job_type("tickets.bulk_create", handlers.job_types["tickets.bulk_create"])
    assert Handlers().job_types == {} and isinstance(
        handlers.job_types["tickets.bulk_update"], JobType
    )
