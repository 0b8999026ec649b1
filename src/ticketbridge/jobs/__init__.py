"""The job engine: jobs are rows (``jobs``, ``job_chunks``); runners only execute them.

One interface (:class:`~ticketbridge.jobs.runner.JobRunner`: ``enqueue(job_id)``), two runners:
the embedded runner (in the API process, any database) and procrastinate workers
(``ticketbridge worker``, PostgreSQL). Either way :func:`~ticketbridge.jobs.runner.execute_job`
claims the row with a lease, heartbeats it and runs the handler registered for the job's type.
See docs/architecture.md, "Jobs".
"""
