"""ticketbridge: a self-hosted, normalized ITSM API over Jira Cloud."""

__version__ = "0.1.0"
