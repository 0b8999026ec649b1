"""How domain code reaches a vendor: the one public surface of ``ticketbridge.connectors``.

Domains (tickets, bulk, sync, passthrough, provisioning) import from here only, never from a
submodule and never from a vendor package (``connectors/<vendor>/``; an import-linter
contract in pyproject.toml fails the build if one does). A connector comes from
:func:`for_connection`; what it can do is declared by the capability protocols; what it
exchanges is the normalized data below. Errors are ``ticketbridge.errors.Vendor*``.
"""

from ticketbridge.connectors.base import (
    UNSET,
    Capabilities,
    Created,
    CreateSpec,
    Identity,
    IssueRef,
    LiveIssueTypePage,
    LiveProject,
    LiveProjectPage,
    LiveRecord,
    LiveSearchPage,
    LiveTicket,
    LiveUserPage,
    NormalizedGroup,
    NormalizedIssue,
    NormalizedIssueType,
    NormalizedProject,
    NormalizedUser,
    Unset,
    UpdateSpec,
)
from ticketbridge.connectors.http import RetryPolicy
from ticketbridge.connectors.markers import is_marker_label, marker_label
from ticketbridge.connectors.protocols import (
    BulkConnector,
    Connector,
    Credentials,
    GroupsConnector,
    IdentityConnector,
    OffloadedPageReads,
    PassthroughConnector,
    SyncConnector,
    WriteConnector,
)
from ticketbridge.connectors.registry import (
    ConnectorFactory,
    address_fields,
    check_id,
    check_vendor_id,
    for_connection,
    validate_config,
)
from ticketbridge.connectors.url_policy import UrlPolicy, UrlRefused

__all__ = [
    "UNSET",
    "BulkConnector",
    "Capabilities",
    "Connector",
    "ConnectorFactory",
    "Created",
    "CreateSpec",
    "Credentials",
    "GroupsConnector",
    "Identity",
    "IdentityConnector",
    "IssueRef",
    "LiveIssueTypePage",
    "LiveProject",
    "LiveProjectPage",
    "LiveRecord",
    "LiveSearchPage",
    "LiveTicket",
    "LiveUserPage",
    "NormalizedGroup",
    "NormalizedIssue",
    "NormalizedIssueType",
    "NormalizedProject",
    "NormalizedUser",
    "OffloadedPageReads",
    "PassthroughConnector",
    "RetryPolicy",
    "SyncConnector",
    "Unset",
    "UpdateSpec",
    "UrlPolicy",
    "UrlRefused",
    "WriteConnector",
    "address_fields",
    "check_id",
    "check_vendor_id",
    "for_connection",
    "is_marker_label",
    "marker_label",
    "validate_config",
]
