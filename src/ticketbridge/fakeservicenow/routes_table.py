"""The Table API: ``/api/now[/v1|/v2]/table/{table}[/{sys_id}]``.

Lists answer ``X-Total-Count`` (unless ``sysparm_no_count=true``) and a ``Link`` header with
``first``/``prev``/``next``/``last`` (unless ``sysparm_suppress_pagination_header=true``); the
explicit ``/v1`` form answers 404 for a list with no records, the default and ``/v2`` forms an
empty ``result``. ``task`` is readable as the union of the task tables. Access: reading is
open to every authenticated user except task records, which need ``itil`` or ``admin`` (other
users see the tasks they opened or are the caller of); writing task records needs ``itil`` or
``admin``, deleting them and writing any other table needs ``admin``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from .context import Answer, Ctx, SnowRoute
from .errors import acl_denied, invalid_table, no_record
from .fields import column_at, resolver
from .query import from_pairs, parse, select
from .render import RenderOptions, render
from .schema import TASK_TABLES
from .state import Instance
from .writes import column_values, parse_body

DEFAULT_LIMIT = 10000


def _table_name(ctx: Ctx) -> str:
    name = ctx.path_params["table"]
    if name != "task" and name not in ctx.instance.tables:
        raise invalid_table(name)
    return name


def _rows(instance: Instance, table: str) -> Iterable[dict[str, str]]:
    if table == "task":
        return [r for name in TASK_TABLES for r in instance.rows(name)]
    return list(instance.rows(table))


def _sees_all_tasks(ctx: Ctx) -> bool:
    return ctx.user is None or ctx.instance.can_write(ctx.user)


def _visible(ctx: Ctx, table: str, record: dict[str, str]) -> bool:
    if table != "task" and not ctx.instance.tables[table].task:
        return True
    if _sees_all_tasks(ctx):
        return True
    return _own(ctx, record)


def _own(ctx: Ctx, record: dict[str, str]) -> bool:
    me = ctx.user["sys_id"] if ctx.user else ""
    return me in (record.get("caller_id"), record.get("opened_by"))


def _int_param(ctx: Ctx, name: str, default: int) -> int:
    raw = (ctx.params.get(name) or "").strip()
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value >= 0 else default


def _options(ctx: Ctx) -> RenderOptions:
    return RenderOptions.from_params(ctx.base, ctx.params)


def _encoded_query(ctx: Ctx, table: str) -> str:
    text = ctx.params.get("sysparm_query")
    if text is not None:
        return text
    pairs = [
        (name, value)
        for name, value in ctx.params.multi_items()
        if not name.startswith("sysparm_") and column_at(ctx.instance, table, name) is not None
    ]
    return from_pairs(pairs)


def list_records(ctx: Ctx) -> Answer:
    instance = ctx.instance
    table = _table_name(ctx)
    query = parse(
        _encoded_query(ctx, table), lambda path: column_at(instance, table, path) is not None
    )
    no_rows = instance.properties.get("glide.invalid_query.returns_no_rows") == "true"
    if query.invalid and no_rows:
        found: list[dict[str, str]] = []
    else:
        rows = list(_rows(instance, table))
        is_task = table == "task" or instance.tables[table].task
        if is_task and not _sees_all_tasks(ctx):  # roles are read once, not per record
            rows = [r for r in rows if _own(ctx, r)]
        found = select(query, rows, resolver(instance, table))
    limit = _int_param(ctx, "sysparm_limit", DEFAULT_LIMIT)
    offset = _int_param(ctx, "sysparm_offset", 0)
    page = found[offset : offset + limit] if limit else []
    if not page and ctx.version == "v1":
        raise no_record()
    options = _options(ctx)
    body = {"result": [render(instance, table, r, options) for r in page]}
    headers: dict[str, str] = {}
    counted = not ctx.flag("sysparm_no_count")
    if counted:
        headers["X-Total-Count"] = str(len(found))
    if not ctx.flag("sysparm_suppress_pagination_header") and not ctx.in_batch:
        link = _link_header(ctx, offset, limit, len(found) if counted else None, len(page))
        if link:
            headers["Link"] = link
    return Answer(200, body, headers)


def _link_header(ctx: Ctx, offset: int, limit: int, total: int | None, got: int) -> str:
    if limit <= 0:
        return ""
    kept = [
        (k, v) for k, v in ctx.params.multi_items() if k not in ("sysparm_offset", "sysparm_limit")
    ]

    def url(at: int) -> str:
        query = urlencode([*kept, ("sysparm_limit", str(limit)), ("sysparm_offset", str(at))])
        return f"<{ctx.base}{ctx.path}?{query}>"

    links = [f'{url(0)};rel="first"']
    if offset > 0:
        links.append(f'{url(max(0, offset - limit))};rel="prev"')
    more = offset + got < total if total is not None else got == limit
    if more:
        links.append(f'{url(offset + limit)};rel="next"')
    if total is not None:
        last = max(0, (total - 1) // limit * limit) if total else 0
        links.append(f'{url(last)};rel="last"')
    return ",".join(links)


def get_record(ctx: Ctx) -> Answer:
    table = _table_name(ctx)
    record = ctx.instance.get(table, ctx.path_params["sys_id"])
    if record is None or not _visible(ctx, table, record):
        raise no_record()
    return Answer(200, {"result": render(ctx.instance, table, record, _options(ctx))})


def _writable(ctx: Ctx, table: str, operation: str) -> None:
    user = ctx.user
    if user is None:
        return
    instance = ctx.instance
    if table == "task":
        raise acl_denied(operation)
    is_task = instance.tables[table].task
    allowed = (
        instance.is_admin(user)
        if (operation == "Delete" or not is_task)
        else instance.can_write(user)
    )
    if not allowed:
        raise acl_denied(operation)


def create_record(ctx: Ctx) -> Answer:
    table = _table_name(ctx)
    body = parse_body(ctx.body)
    _writable(ctx, table, "Insert")
    definition = ctx.instance.table(table)
    values = column_values(
        ctx.instance,
        definition,
        body,
        input_display=ctx.flag("sysparm_input_display_value"),
        insert=True,
    )
    record = ctx.instance.insert(table, values, user=ctx.user_name)
    location = f"{ctx.base}/api/now/table/{table}/{record['sys_id']}"
    return Answer(
        201,
        {"result": render(ctx.instance, table, record, _options(ctx))},
        {"Location": location},
    )


def update_record(ctx: Ctx) -> Answer:
    table = _table_name(ctx)
    sys_id = ctx.path_params["sys_id"]
    if table == "task" or ctx.instance.get(table, sys_id) is None:
        raise no_record()
    body = parse_body(ctx.body)
    _writable(ctx, table, "Update")
    values = column_values(
        ctx.instance,
        ctx.instance.table(table),
        body,
        input_display=ctx.flag("sysparm_input_display_value"),
        insert=False,
    )
    record = ctx.instance.update(table, sys_id, values, user=ctx.user_name)
    return Answer(200, {"result": render(ctx.instance, table, record, _options(ctx))})


def delete_record(ctx: Ctx) -> Answer:
    table = _table_name(ctx)
    sys_id = ctx.path_params["sys_id"]
    if table == "task" or ctx.instance.get(table, sys_id) is None:
        raise no_record()
    _writable(ctx, table, "Delete")
    ctx.instance.delete(table, sys_id, user=ctx.user_name)
    return Answer(204)


TABLE = "/api/now{version}/table/{table}"
ROUTES = (
    SnowRoute(("GET",), TABLE, list_records),
    SnowRoute(("POST",), TABLE, create_record),
    SnowRoute(("GET",), TABLE + "/{sys_id}", get_record),
    SnowRoute(("PUT", "PATCH"), TABLE + "/{sys_id}", update_record),
    SnowRoute(("DELETE",), TABLE + "/{sys_id}", delete_record),
)
