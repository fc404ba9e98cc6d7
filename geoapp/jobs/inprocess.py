"""Jobs without Redis: a thread pool in each server process, state in the database.

With several server processes (gunicorn) each runs the jobs it was given; any
process answers a poll, since the state is in the database. A job queued by a
process that then stopped is picked up by the sweeper of a live one once it is
``JOB_STALE_S`` overdue (claiming is atomic, so it runs once).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

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
                threading.Thread(target=self._sweep, daemon=True, name="geoapp-job-sweeper").start()
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

    def _sweep(self) -> None:
        engine = self.app.extensions["geoapp.db"]
        stale = float(self.app.config["JOB_STALE_S"])
        while True:
            threading.Event().wait(max(stale / 3, 1.0))
            try:
                store.reap(engine, stale)
                for job_id in store.overdue_queued(engine, stale):
                    self._executor().submit(runner.run, self.app, job_id)
            except Exception:
                self.app.logger.warning("job sweeper failed", exc_info=True)
