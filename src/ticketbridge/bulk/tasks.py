"""The bulk domain's job types, registered with the job engine by ``register``."""

from __future__ import annotations

from ticketbridge.bulk import jobs
from ticketbridge.bulk.schemas import JOB_BULK_CREATE, JOB_BULK_UPDATE
from ticketbridge.jobs.registry import Handlers, JobType


def register(handlers: Handlers) -> None:
    handlers.add_job_type(
        JOB_BULK_CREATE, JobType(run=jobs.run_create, give_up=jobs.give_up_create)
    )
    handlers.add_job_type(
        JOB_BULK_UPDATE, JobType(run=jobs.run_update, give_up=jobs.give_up_update)
    )
