"""Bulk ticket writes: synchronous bulk create and the async bulk create/update jobs."""
