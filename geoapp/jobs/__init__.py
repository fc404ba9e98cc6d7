"""Background jobs: builds, exports, big imports, later messaging.

::

    from geoapp import jobs

    @jobs.task("build")                     # fn runs inside a Flask app context
    def run_build(payload: dict, progress: jobs.Progress) -> dict: ...

    job_id = jobs.submit("build", {"area": "jakarta"}, owner=None, lock="build:jakarta")
    jobs.get(job_id)                        # JobState(status=queued|running|finished|failed, progress, ...)

With ``REDIS_URL`` set, jobs go to an RQ queue (``JOB_QUEUE``) and ``geoapp worker``
processes run them; without it, a thread pool in each server process runs them.
Either way the state is a row in the ``jobs`` table, so every process answers a
poll and it survives restarts. ``lock``: two jobs with the same lock never run at
once. ``dedupe_key``: while a job with that key is still queued, ``submit`` returns
it instead of queueing another (debounce; combine with ``delay_s``). A job whose
worker dies stops beating and is marked failed after ``JOB_STALE_S``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from flask import Flask, current_app

from . import store
from .progress import Progress
from .registry import TASK_MODULES, task
from .store import JobState

__all__ = ["TASK_MODULES", "JobState", "Progress", "get", "init_app", "recent", "retry", "start", "submit", "task"]

DEFAULTS: dict[str, object] = {
    "REDIS_URL": None,  # redis://host:6379/0: jobs on RQ, shared rate limits; None: in-process
    "JOB_QUEUE": "geoapp",  # RQ queue name, also the prefix of geoapp's Redis keys
    "JOB_THREADS": 2,  # in-process: jobs run at once per server process
    "JOB_HEARTBEAT_S": 5.0,  # a running job writes its heartbeat this often
    "JOB_STALE_S": 30.0,  # silent this long: its worker is dead, the job failed and its lock lapses
    "JOB_TIMEOUT_S": 6 * 3600,  # RQ kills a job running longer
    "JOBS_SYNC": False,  # tests only: in-process jobs run in the submitting thread
    "JOB_TASK_MODULES": "",  # more modules with tasks, comma-separated (TASK_MODULES lists geoapp's own)
}


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    extra = app.config["JOB_TASK_MODULES"]
    for name in extra.split(",") if isinstance(extra, str) else extra:
        if name.strip():
            importlib.import_module(name.strip())
    if app.config.get("REDIS_URL"):
        from .rqueue import RQ

        app.extensions["geoapp.jobs"] = RQ(app)
    else:
        from .inprocess import InProcess

        app.extensions["geoapp.jobs"] = InProcess(app)


def _engine():
    return current_app.extensions["geoapp.db"]


def submit(
    kind: str,
    payload: dict,
    *,
    owner: int | None = None,
    lock: str | None = None,
    dedupe_key: str | None = None,
    delay_s: float = 0.0,
    retry_of: str | None = None,
    admit: Callable[[], None] | None = None,
) -> str:
    """Queue a job of ``kind`` (a registered task); its id. Needs an app context.

    ``admit`` (e.g. a cap on jobs per client) runs once the job's row exists, so it counts this job
    too: checks made at once by several processes cannot all slip under a cap. If it raises, the job
    is dropped before it is queued and the error propagates.
    """
    from .registry import lookup

    lookup(kind)  # an unknown kind fails here, not in a worker
    job_id, new = store.create(
        _engine(), kind, payload, owner=owner, lock=lock, dedupe_key=dedupe_key, delay_s=delay_s, retry_of=retry_of
    )
    if new and admit is not None:
        try:
            admit()
        except BaseException:
            store.delete(_engine(), job_id)
            raise
    if new:
        try:
            current_app.extensions["geoapp.jobs"].enqueue(job_id, delay_s)
        except Exception as exc:  # e.g. Redis down: the row must not wait for ever as "queued"
            store.fail(_engine(), job_id, f"could not queue the job: {exc}")
            raise
    return job_id


def get(job_id: str) -> JobState | None:
    """The job's state (None when there is no such job). A running job whose worker died reads as failed."""
    store.reap(_engine(), float(current_app.config["JOB_STALE_S"]))
    return store.get(_engine(), job_id)


def recent(
    *, limit: int = 50, status: str | None = None, kind: str | None = None, owner: int | None = None
) -> list[JobState]:
    """The latest jobs, newest first."""
    store.reap(_engine(), float(current_app.config["JOB_STALE_S"]))
    return store.recent(_engine(), limit=limit, status=status, kind=kind, owner=owner)


def retry(job_id: str, *, owner: int | None = None) -> str:
    """A new job with the same kind, payload and lock as a finished or failed one; its id."""
    from layers.errors import ConflictError, NotFoundError

    state = get(job_id)
    if state is None:
        raise NotFoundError(f"no job {job_id}")
    if not state.done:
        raise ConflictError(f"job {job_id} is still {state.status}; retry it once it has failed or finished")
    return submit(
        state.kind, state.payload, owner=owner if owner is not None else state.owner, lock=state.lock, retry_of=job_id
    )


def start(app: Flask) -> None:
    """Start this process's job machinery now (in-process: the pool and the sweeper that resumes left jobs)."""
    app.extensions["geoapp.jobs"].start()
