"""The synced catalog of a connection: projects, issue types and users."""
