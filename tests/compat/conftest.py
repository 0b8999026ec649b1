"""The e2e process fixtures (a fakejira process, process cleanup), shared with this package."""

from tests.e2e.conftest import fake_jira_server, processes

__all__ = ["fake_jira_server", "processes"]
