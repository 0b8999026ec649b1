"""All tables; importing this package registers every model on ``Base.metadata``."""

from ticketbridge.store.models.account import Account, ApiKey
from ticketbridge.store.models.catalog import IssueType, Project, ProjectUser, User
from ticketbridge.store.models.connection import Connection, Organization
from ticketbridge.store.models.group import Group
from ticketbridge.store.models.idempotency import IdempotencyKey
from ticketbridge.store.models.job import Job, JobChunk
from ticketbridge.store.models.sync_state import SyncState
from ticketbridge.store.models.ticket import Ticket

__all__ = [
    "Account",
    "ApiKey",
    "Connection",
    "Group",
    "IdempotencyKey",
    "IssueType",
    "Job",
    "JobChunk",
    "Organization",
    "Project",
    "ProjectUser",
    "SyncState",
    "Ticket",
    "User",
]
