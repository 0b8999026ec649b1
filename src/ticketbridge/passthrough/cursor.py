"""Opaque, signed search cursors.

A cursor carries Jira's ``nextPageToken`` together with what it belongs to: the connection id
and a SHA-256 digest of the query (JQL, fields, limit). The whole is signed with HMAC-SHA256
under a key derived (HKDF) from the service's secret key, so a client can neither forge a
cursor, nor edit one, nor replay one against another connection or another query: the
signature is checked first, then the connection, then the query digest, each failure being a
422 that names ``cursor``.

Format: ``base64url(json payload) "." base64url(hmac)``. The payload is signed, not
encrypted: Jira's page token is not a secret, and it is only usable with the connection's
own credentials anyway. Every replica sharing the secret key accepts every other's cursors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ticketbridge.errors import Unprocessable

VERSION = 1
MAX_CURSOR_LENGTH = 4096
_INFO = b"ticketbridge/passthrough-cursor/v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive_key(secret: str | bytes) -> bytes:
    """A key for cursors only: a leaked cursor key reveals nothing about the credentials key."""
    material = secret.encode() if isinstance(secret, str) else secret
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(material)


def query_digest(jql: str, fields: Sequence[str] | None, limit: int) -> str:
    """What "the same query" means for paging: same JQL, same field list, same page size."""
    canonical = json.dumps([jql, list(fields) if fields is not None else None, limit])
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _invalid(message: str) -> Unprocessable:
    return Unprocessable(message, field="cursor", location="query")


class CursorSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def seal(self, *, connection_id: str, digest: str, token: str) -> str:
        body = json.dumps(
            {"v": VERSION, "c": connection_id, "q": digest, "t": token}, separators=(",", ":")
        )
        payload = _b64(body.encode())
        return f"{payload}.{self._mac(payload)}"

    def open(self, cursor: str, *, connection_id: str, digest: str) -> str:
        """Jira's page token, or a 422 naming ``cursor``."""
        payload, _, mac = cursor.partition(".")
        # Bytes, not str: compare_digest refuses non-ASCII strings, and a cursor is user input.
        expected = self._mac(payload).encode()
        if not payload or not mac or not hmac.compare_digest(mac.encode(), expected):
            raise _invalid("invalid cursor: pass next_cursor from the previous page unchanged")
        try:
            data = json.loads(_unb64(payload))
            version, conn, query, token = data["v"], data["c"], data["q"], data["t"]
        except (ValueError, KeyError, TypeError):  # signed by us yet unreadable: a format change
            raise _invalid("invalid cursor: start the search again without one") from None
        if version != VERSION or not isinstance(token, str):
            raise _invalid("cursor from an older version: start the search again without one")
        if conn != connection_id:
            raise _invalid("cursor belongs to another connection")
        if query != digest:
            raise _invalid(
                "cursor belongs to another query: jql, fields and limit must stay the same "
                "while paging"
            )
        return token
