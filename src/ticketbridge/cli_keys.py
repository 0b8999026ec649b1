"""``ticketbridge api-keys ...`` and ``ticketbridge secret-key ...`` (registered by cli.py).

Configuration and lookup failures print one ``error: ...`` line on stderr and exit non-zero
(1: refused, 2: bad configuration or arguments); never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from ticketbridge.config import Settings
from ticketbridge.crypto import OLD_SECRET_KEYS_ENV, SECRET_KEY_ENV, SecretKeyError, load_keys
from ticketbridge.errors import TicketbridgeError

if TYPE_CHECKING:
    from ticketbridge.provisioning.firstrun import SetupToken

T = TypeVar("T")

keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
secret_app = typer.Typer(help="The key encrypting vendor credentials.", no_args_is_help=True)
console = Console(soft_wrap=True)  # messages stay on one line (greppable)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def check_secret_key(settings: Settings) -> None:
    """Fail start-up with one line when the secret key is missing, malformed or exposed."""
    try:
        load_keys(settings)
    except SecretKeyError as exc:
        fail(str(exc), 2)


def warn_unreadable_credentials(settings: Settings) -> None:
    """One warning line at start when stored credentials do not match the configured key (a
    wrong key after a restore): their vendor routes would answer 503."""
    from ticketbridge.provisioning.secret_rotation import count_unreadable

    try:
        n = asyncio.run(count_unreadable(settings))
    except Exception as exc:  # a warning only: never block start-up (e.g. schema not migrated)
        typer.echo(f"warning: stored credentials not checked ({type(exc).__name__})", err=True)
        return
    if n:
        typer.echo(
            f"warning: {n} connection(s) have credentials the configured secret key "
            f"({SECRET_KEY_ENV}, or the key file) cannot decrypt; their vendor routes answer 503",
            err=True,
        )


def first_run_token(settings: Settings, host: str, port: int) -> SetupToken | None:
    """On a database without accounts: a one-time setup token, announced by one printed line
    (the only place its plain text ever appears; it sits in the URL fragment, which browsers
    never send, so access logs cannot see it)."""
    from ticketbridge.provisioning.firstrun import SetupToken, needs_setup

    async def work(session: AsyncSession) -> bool:
        return await needs_setup(session)

    try:
        if not _run(settings, work):
            return None
    except Exception as exc:  # never block start-up; keys can still be made with the CLI
        typer.echo(f"warning: first-run check failed ({type(exc).__name__})", err=True)
        return None
    token, plain = SetupToken.issue(settings.setup_token_ttl_secs)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    minutes = round(settings.setup_token_ttl_secs / 60)
    url = f"http://{shown}:{port}/console/#setup={plain}"
    message = (
        f"First run: open {url} to create the first API key (one use, expires in {minutes} min)"
    )
    if settings.log_json:  # one JSON stream: the link is an event of its own (printed once)
        message = json.dumps({"event": "first_run_setup_link", "level": "warning", "url": url})
    typer.echo(message, err=True)
    return token


def _run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``work`` in one committed unit of work, on the service's existing database."""
    from ticketbridge.cli_common import require_database
    from ticketbridge.store.session import create_engine, create_sessionmaker

    require_database(settings)

    async def _go() -> T:
        engine = create_engine(settings.resolved_database_url, pool_size=2)
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(_go())
    except TicketbridgeError as exc:
        fail(exc.message)


def _key_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"not a key id: {value!r} (ids are UUIDs; see `ticketbridge api-keys list`)", 2)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _short(value: str | None) -> str:
    return value[:19].replace("T", " ") if value else "-"


@keys_app.command("create")
def api_keys_create(
    name: str = typer.Option(..., help="A label for the key"),
    account: str = typer.Option("default", help="Account name (created if missing)"),
) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    from ticketbridge.provisioning.service import create_api_key

    async def work(session: AsyncSession) -> str:
        return (await create_api_key(session, name=name, account_name=account))[1]

    plain = _run(Settings(), work)
    console.print(f"[bold]API key for account {account!r}[/bold] (shown once, store it now):")
    print(plain)


@keys_app.command("list")
def api_keys_list(
    account: str | None = typer.Option(None, help="Only this account's keys"),
    as_json: bool = typer.Option(False, "--json", help="One JSON list instead of a table"),
) -> None:
    """List keys (never the keys themselves): id, account, name, prefix, times."""
    from ticketbridge.provisioning.repository import ApiKeyRepository

    async def work(session: AsyncSession) -> list[dict[str, str | None]]:
        return [
            {
                "id": str(k.id),
                "account": acct,
                "name": k.name,
                "prefix": k.prefix,
                "created_at": _iso(k.created_at),
                "last_used_at": _iso(k.last_used_at),
                "revoked_at": _iso(k.revoked_at),
            }
            for k, acct in await ApiKeyRepository(session).list_all(account)
        ]

    rows = _run(Settings(), work)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("id", "account", "name", "prefix", "created", "last used", "revoked")
    for r in rows:
        table.add_row(
            r["id"],
            r["account"],
            r["name"],
            f"{r['prefix']}…",
            *(_short(r[f]) for f in ("created_at", "last_used_at", "revoked_at")),
        )
    Console(width=200).print(table)


@keys_app.command("revoke")
def api_keys_revoke(key_id: str = typer.Argument(..., help="Key id (see list)")) -> None:
    """Revoke a key; it is refused from the next request on (even an account's last key)."""
    from ticketbridge.provisioning import keys
    from ticketbridge.provisioning.repository import ApiKeyRepository
    from ticketbridge.store.base import utcnow

    kid = _key_id(key_id)

    async def work(session: AsyncSession) -> int:
        row = await keys.revoke(session, None, kid, utcnow(), allow_last=True)
        return await ApiKeyRepository(session).count_active(row.account_id)

    left = _run(Settings(), work)
    console.print(f"revoked {kid}; the account has {left} active key(s) left")


@keys_app.command("rotate")
def api_keys_rotate(key_id: str = typer.Argument(..., help="Key id (see list)")) -> None:
    """Replace a key: prints the new key once; the old one is revoked at once."""
    from ticketbridge.provisioning import keys
    from ticketbridge.store.base import utcnow

    kid = _key_id(key_id)

    async def work(session: AsyncSession) -> tuple[uuid.UUID, str]:
        row, plain = await keys.rotate(session, None, kid, utcnow())
        return row.id, plain

    new_id, plain = _run(Settings(), work)
    console.print(f"[bold]{kid} revoked; new key {new_id}[/bold] (shown once, store it now):")
    print(plain)


@secret_app.command("generate")
def secret_key_generate() -> None:
    """Print a new Fernet key (for TICKETBRIDGE_SECRET_KEY in distributed mode)."""
    from ticketbridge.crypto import generate_key

    print(generate_key())


@secret_app.command("rotate")
def secret_key_rotate(
    batch_size: int = typer.Option(200, min=1, help="Credentials re-encrypted per transaction"),
) -> None:
    """Re-encrypt every stored credential with the new key (see docs/operations.md)."""
    from ticketbridge.cli_common import require_database
    from ticketbridge.provisioning.secret_rotation import key_file_lock, rotate_secret_key

    settings = Settings()
    require_database(settings)  # before the key check: that may create a key file
    check_secret_key(settings)
    file_mode = settings.secret_key is None
    try:
        if file_mode:
            with key_file_lock(settings, exclusive=True):
                report = asyncio.run(rotate_secret_key(settings, batch_size=batch_size))
        else:
            report = asyncio.run(rotate_secret_key(settings, batch_size=batch_size))
    except SecretKeyError as exc:
        fail(str(exc), 2)
    where = "the key file" if file_mode else SECRET_KEY_ENV
    if report.unreadable:
        ids = ", ".join(str(i) for i in report.unreadable[:10])
        fail(
            f"{len(report.unreadable)} connection(s) decrypt with none of the configured keys "
            f"({ids}); old keys kept. Add their key to {OLD_SECRET_KEYS_ENV} and run again"
        )
    if not report.verified:
        fail("credentials kept changing during the rotation; old keys kept, run it again")
    if report.generated:
        console.print("generated a new key into the key file; back it up with the database")
    console.print(
        f"{report.rotated} of {report.checked} credential(s) re-encrypted; all now use {where}"
    )
    if file_mode:
        console.print("the old key was removed from the key file")
    elif report.ring is not None and report.ring.old:
        console.print(f"remove {OLD_SECRET_KEYS_ENV} from every process now")
