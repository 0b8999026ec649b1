"""The processes of one scenario: a ``fake-jira``, a ``serve`` on SQLite, and a tenant."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .clients import FakeJiraAdmin, provision
from .plan import Ctx
from .procs import Proc, Procs, create_api_key, service_env, wait_ready


@dataclass
class Stack:
    jira: Proc
    admin: FakeJiraAdmin
    api: Proc
    env: dict[str, str]
    data_dir: Path
    key: str
    headers: dict[str, str]

    @property
    def api_url(self) -> str:
        return str(self.api.url)

    @property
    def jira_url(self) -> str:
        return str(self.jira.url)

    @property
    def db(self) -> Path:
        return self.data_dir / "ticketbridge.db"

    @property
    def connection_id(self) -> str:
        return self.headers["X-CONNECTION-ID"]


def sqlite_stack(
    procs: Procs, ctx: Ctx, name: str, seed: dict[str, Any] | None = None, **settings: str
) -> Stack:
    """Start both processes at once (the emulator is seeded while ``serve`` starts), then
    create an API key and a tenant whose Jira connection points at the emulator."""
    with ctx.step(f"{name}: start fake-jira and serve" + (f", seed {seed}" if seed else "")):
        data_dir = ctx.tmp / name
        env = service_env(data_dir, **settings)
        jira = procs.fake_jira(f"{name}-fakejira", wait=False)
        api = procs.serve(f"{name}-serve", env, wait=False)
        wait_ready(jira)
        admin = FakeJiraAdmin(str(jira.url))
        if seed:
            admin.seed(seed)
        wait_ready(api)
        key = create_api_key(env)
        headers = provision(str(api.url), key, str(jira.url))
    return Stack(jira, admin, api, env, data_dir, key, headers)
