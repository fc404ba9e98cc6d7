"""Jobs without Redis: a thread pool in each server process, state in the database.

With several server processes (gunicorn) each runs the jobs it was given; any
process answers a poll, since the state is in the database. A job queued by a
process that then stopped is picked up by the sweeper of a live one once it is
``JOB_STALE_S`` overdue (claiming is atomic, so it runs once).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from . import runner, store


class InProcess:
    def __init__(self, app: Flask):
        self.app = app
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0
        self._guard = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._guard:
            if self._pool is None or self._pid != os.getpid():  # a forked child gets its own pool and sweeper
                self._pid = os.getpid()
                self._pool = ThreadPoolExecutor(int(self.app.config["JOB_THREADS"]), thread_name_prefix="geoapp-job")
                sweeper = threading.Thread(
                    target=_sweep, args=(weakref.ref(self),), daemon=True, name="geoapp-job-sweeper"
                )
                sweeper.start()
            return self._pool

    def enqueue(self, job_id: str, delay_s: float) -> None:
        if self.app.config.get("JOBS_SYNC"):  # tests: run now, in the caller's thread
            runner.run(self.app, job_id)
            return
        pool = self._executor()
        if delay_s > 0:
            timer = threading.Timer(delay_s, pool.submit, (runner.run, self.app, job_id))
            timer.daemon = True
            timer.start()
        else:
            pool.submit(runner.run, self.app, job_id)

    def start(self) -> None:
        self._executor()


def _sweep(ref: weakref.ref[InProcess]) -> None:
    """Every third of JOB_STALE_S: fail the jobs of dead workers, run the queued jobs left behind.

    Holds its backend weakly, and nothing while asleep: it ends with the app (tests make many apps).
    """
    backend = ref()
    while backend is not None:
        app = backend.app
        stale = float(app.config["JOB_STALE_S"])
        del backend, app
        time.sleep(max(stale / 3, 1.0))
        backend = ref()
        if backend is None:
            return
        app = backend.app
        try:
            engine = app.extensions["geoapp.db"]
            store.reap(engine, stale)
            for job_id in store.overdue_queued(engine, stale):
                backend._executor().submit(runner.run, app, job_id)
        except SQLAlchemyError:
            app.logger.warning("job sweeper: the database is unavailable", exc_info=app.debug)
