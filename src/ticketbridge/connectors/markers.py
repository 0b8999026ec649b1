"""The reconciliation marker put on every issue created through ticketbridge.

``tb-<16 hex digits>``: the first 64 bits of SHA-256 over the connection id and the ticket's
identifier. Creating is not idempotent at the vendors, so after an ambiguous failure (and
before a create with a caller's identifier) the marker is searched for to learn whether the
issue exists. The grammar is ours and the same for every vendor; where a vendor keeps it (a
Jira label) and how it is searched is the vendor package's business (``CreateSpec.marker``,
``find_by_marker``, ``find_markers``). Markers are not the user's: tags may not look like one.
"""

from __future__ import annotations

import hashlib
import re

MARKER_PREFIX = "tb-"
_MARKER_RE = re.compile(r"^tb-[0-9a-f]{16}$")


def marker_label(scope: str, identifier: str) -> str:
    """The marker of ``identifier`` within ``scope`` (the connection id), so that two
    connections to one vendor site never mistake each other's issues."""
    digest = hashlib.sha256(f"{scope}\n{identifier}".encode()).hexdigest()
    return f"{MARKER_PREFIX}{digest[:16]}"


def is_marker_label(label: str) -> bool:
    return bool(_MARKER_RE.match(label))
