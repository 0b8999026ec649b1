"""Connector sync into the normalized store (see docs/sync.md)."""
