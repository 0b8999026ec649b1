"""Where Jira keeps the reconciliation marker (``connectors/markers.py``): a label.

The label ``tb-<16 hex digits>`` lets JQL find an identifier's issue (the uniqueness check
before a create).
The identifier itself is written too, as the issue entity property ``ticketbridge``
(``{"identifier": ...}``), which the sync reads back (``properties`` in the search) so a
ticket keeps its identifier through the round trip.

Creating is not idempotent in Jira, so after an ambiguous failure we also search
``labels = "<marker>"`` to learn whether the create was applied. A label (not an entity
property) because labels are searchable with JQL in Jira Cloud and the emulator, while entity
properties are only searchable when an app declares them.

Markers are ours, not the user's: the normalized ``tags`` never show them (``visible_tags``),
and replacing the tags keeps them. This module imports only the marker grammar, so ``mapping``
(reads) and ``payloads`` (writes) can both use it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ticketbridge.connectors.markers import is_marker_label, marker_label

__all__ = [
    "MARKER_PROPERTY_KEY",
    "identifier_from",
    "is_marker_label",
    "marker_label",
    "visible_tags",
]

MARKER_PROPERTY_KEY = "ticketbridge"


def identifier_from(scope: str, prop: object, labels: Iterable[str]) -> str | None:
    """The identifier recorded on an issue created through ``scope``: the entity property's
    ``identifier``, trusted only when the issue also carries its marker for ``scope`` (another
    connection's issue, or a property copied by hand, keeps the vendor key instead)."""
    identifier = prop.get("identifier") if isinstance(prop, dict) else None
    if not scope or not isinstance(identifier, str) or not identifier:
        return None
    return identifier if marker_label(scope, identifier) in set(labels) else None


def visible_tags(labels: Iterable[str]) -> tuple[str, ...]:
    """Jira labels without our markers: what the normalized ``tags`` show."""
    return tuple(label for label in labels if not is_marker_label(label))
