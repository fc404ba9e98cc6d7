"""Jobs on Redis with RQ: the server enqueues the job id; a ``geoapp worker`` runs it.

RQ carries execution only (queues live in Redis, so a restart of the server or the
workers loses no queued job); the state is the database row, as in-process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

from flask import Flask
from redis import Redis
from rq import Queue

_APP: Flask | None = None  # the app of this worker process, set by `geoapp worker`


@cache
def connection(url: str) -> Redis:
    return Redis.from_url(url)


def queue(app: Flask) -> Queue:
    return Queue(app.config["JOB_QUEUE"], connection=connection(app.config["REDIS_URL"]))


class RQ:
    def __init__(self, app: Flask):
        self.app = app

    def enqueue(self, job_id: str, delay_s: float) -> None:
        q = queue(self.app)
        options = {
            "job_id": job_id,
            "job_timeout": int(self.app.config["JOB_TIMEOUT_S"]),
            "result_ttl": 3600,
            "failure_ttl": 7 * 86400,
            "description": f"geoapp job {job_id}",
        }
        if delay_s > 0:  # the worker's scheduler moves it to the queue when due
            due = datetime.now(UTC) + timedelta(seconds=delay_s)
            # RQ scores scheduled jobs in whole seconds, truncated: round up, or the job may run up to 1 s early.
            if due.microsecond:
                due = due.replace(microsecond=0) + timedelta(seconds=1)
            q.enqueue_at(due, perform, job_id, **options)
        else:
            q.enqueue(perform, job_id, **options)

    def start(self) -> None:
        pass


def set_worker_app(app: Flask) -> None:
    global _APP
    _APP = app


def perform(job_id: str) -> None:
    """The RQ job: run the geoapp job in this worker's app (made from the environment if none was set)."""
    from . import runner

    global _APP
    if _APP is None:
        from .. import create_app

        _APP = create_app()
    runner.run(_APP, job_id)
