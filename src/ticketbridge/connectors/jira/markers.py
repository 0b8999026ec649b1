"""The reconciliation marker put on every issue created through ticketbridge.

A label ``tb-<16 hex digits>``: the first 64 bits of SHA-256 over the connection id and the
ticket's identifier (so JQL finds an identifier's issue: the uniqueness check before a create).
The identifier itself is written too, as the issue entity property ``ticketbridge``
(``{"identifier": ...}``), which the sync reads back (``properties`` in the search) so a
ticket keeps its identifier through the round trip.

Creating is not idempotent in Jira, so after an ambiguous failure we also search
``labels = "<marker>"`` to learn whether the create was applied. A label (not an entity
property) because labels are searchable with JQL in Jira Cloud and the emulator, while entity
properties are only searchable when an app declares them.

Markers are ours, not the user's: the normalized ``tags`` never show them (``visible_tags``),
and replacing the tags keeps them. This module imports nothing, so ``mapping`` (reads) and
``payloads`` (writes) can both use it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

MARKER_LABEL_PREFIX = "tb-"
MARKER_PROPERTY_KEY = "ticketbridge"
_MARKER_RE = re.compile(r"^tb-[0-9a-f]{16}$")


def marker_label(scope: str, identifier: str) -> str:
    """The marker of ``identifier`` within ``scope`` (the connection id), so that two
    connections to one Jira site never mistake each other's issues."""
    digest = hashlib.sha256(f"{scope}\n{identifier}".encode()).hexdigest()
    return f"{MARKER_LABEL_PREFIX}{digest[:16]}"


def identifier_from(scope: str, prop: object, labels: Iterable[str]) -> str | None:
    """The identifier recorded on an issue created through ``scope``: the entity property's
    ``identifier``, trusted only when the issue also carries its marker for ``scope`` (another
    connection's issue, or a property copied by hand, keeps the vendor key instead)."""
    identifier = prop.get("identifier") if isinstance(prop, dict) else None
    if not scope or not isinstance(identifier, str) or not identifier:
        return None
    return identifier if marker_label(scope, identifier) in set(labels) else None


def is_marker_label(label: str) -> bool:
    return bool(_MARKER_RE.match(label))


def visible_tags(labels: Iterable[str]) -> tuple[str, ...]:
    """Jira labels without our markers: what the normalized ``tags`` show."""
    return tuple(label for label in labels if not is_marker_label(label))
