"""The domains whose work runs as jobs or worker tasks, listed once.

The API process (app.py) and ``ticketbridge worker`` both build the job engine's registry
from :data:`DOMAIN_TASKS`; a domain with a new job type or worker task adds its ``tasks``
module's ``register`` here.
"""

from __future__ import annotations

from ticketbridge.bulk import tasks as bulk_tasks
from ticketbridge.jobs.registry import Handlers
from ticketbridge.sync import tasks as sync_tasks

DOMAIN_TASKS = (bulk_tasks.register, sync_tasks.register)


def job_handlers() -> Handlers:
    return Handlers.of(*DOMAIN_TASKS)
