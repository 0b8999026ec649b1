"""Grow a connection's stored tickets to N rows with plain SQL, before ``serve`` starts.

The rows are clones of the tickets a real sync stored (so sizes, descriptions and JSON are
what the service writes), with fresh ids, vendor ids, keys and identifiers. The column list
comes from the ``Ticket`` model, the schema from the migrations ``serve`` applied. Ids are
UUIDv7-shaped and increase with the clone number, as the service's own ids increase with
time, so the keyset index grows at its right end as it does in production.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ticketbridge.store.models import Ticket

BATCH = 100_000
# Clone ids sort after the real ones (a millisecond prefix in the future); vendor ids are
# numeric like Jira's and far from the emulator's.
ID_MS_BASE = 0xF00000000000
VENDOR_ID_BASE = 900_000_000


def _expr(column: str) -> str:
    return {
        "id": "printf('%012x7%03x8%015x', :ms + (seq.k >> 12), seq.k & 4095, seq.k)",
        "vendor_id": "CAST(:vid + seq.k AS TEXT)",
        "vendor_key": "'BENCH-' || seq.k",
        "identifier": "'bench-' || seq.k",
    }.get(column, f"tpl.{column}")


def grow_tickets(db: Path, connection_id: str, total: int) -> dict[str, float | int]:
    """Insert clones until the connection has ``total`` tickets; returns counts and time."""
    columns = [c.name for c in Ticket.__table__.columns]
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn_hex = connection_id.replace("-", "")
        have = conn.execute(
            "SELECT count(*) FROM tickets WHERE connection_id = ?", (conn_hex,)
        ).fetchone()[0]
        if have == 0:
            raise RuntimeError("no stored tickets to clone: sync the connection first")
        conn.execute("DROP TABLE IF EXISTS temp.tpl")
        conn.execute(
            "CREATE TEMP TABLE tpl AS SELECT row_number() OVER (ORDER BY id) - 1 AS rn, * "
            "FROM tickets WHERE connection_id = ?",
            (conn_hex,),
        )
        conn.execute("CREATE UNIQUE INDEX temp.tpl_rn ON tpl (rn)")
        start = time.perf_counter()
        insert = (
            f"INSERT INTO tickets ({', '.join(columns)}) "
            "WITH RECURSIVE seq(k) AS "
            "(SELECT :lo UNION ALL SELECT k + 1 FROM seq WHERE k + 1 < :hi) "
            f"SELECT {', '.join(_expr(c) for c in columns)} "
            "FROM seq JOIN tpl ON tpl.rn = seq.k % :templates"
        )
        # Clone numbers continue from the row count, so a second growth never reuses one.
        for lo in range(have, total, BATCH):
            hi = min(total, lo + BATCH)
            conn.execute("BEGIN")
            conn.execute(
                insert,
                {"lo": lo, "hi": hi, "ms": ID_MS_BASE, "vid": VENDOR_ID_BASE, "templates": have},
            )
            conn.execute("COMMIT")
        # No ANALYZE: the service never runs it, so its planner works without statistics.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        seconds = time.perf_counter() - start
        count = conn.execute(
            "SELECT count(*) FROM tickets WHERE connection_id = ?", (conn_hex,)
        ).fetchone()[0]
    finally:
        conn.close()
    return {"templates": have, "tickets": count, "seconds": round(seconds, 1)}


def ticket_id_at(db: Path, connection_id: str, position: int) -> str:
    """The id of the connection's ticket at ``position`` in id order (keyset order)."""
    conn = sqlite3.connect(db)
    try:
        row = conn.execute(
            "SELECT id FROM tickets WHERE connection_id = ? ORDER BY id LIMIT 1 OFFSET ?",
            (connection_id.replace("-", ""), position),
        ).fetchone()
    finally:
        conn.close()
    value = str(row[0])
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
