"""Runs one job in the current process: claim it, hold its lock, beat, call the task, record the outcome.

The same code runs under an RQ worker and in a server's thread pool, so a task
behaves the same with or without Redis.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator

from flask import Flask

from layers.errors import GeoappError

from . import registry, store
from .locks import DbLock, Lock, RedisLock
from .progress import Progress

LOCK_POLL_S = 0.25
_current = threading.local()  # the heartbeat of the job this thread runs


@contextlib.contextmanager
def held(name: str) -> Iterator[None]:
    """Inside a task: hold one more lock ``name`` (waiting for it), kept alive by the job's heartbeat.

    E.g. the build holds one per output file, whatever ``lock`` its caller chose.
    """
    beat: _Heartbeat | None = getattr(_current, "beat", None)
    if beat is None:  # a task called directly, outside a job
        yield
        return
    lock = _lock_for(beat.app, name, beat.job_id)
    engine = beat.app.extensions["geoapp.db"]
    if not lock.acquire():
        store.beat(engine, beat.job_id, f"waiting for another job holding '{name}'")
        while not lock.acquire():
            time.sleep(LOCK_POLL_S)
    beat.locks.append(lock)
    try:
        yield
    finally:
        beat.locks.remove(lock)
        lock.release()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _lock_for(app: Flask, name: str, job_id: str) -> Lock:
    ttl = float(app.config["JOB_STALE_S"])
    if app.config.get("REDIS_URL"):
        return RedisLock(app.config["REDIS_URL"], app.config["JOB_QUEUE"], name, job_id, ttl)
    return DbLock(app.extensions["geoapp.db"], name, job_id, ttl)


class _Heartbeat(threading.Thread):
    """Beats the job row (and extends its locks) every ``JOB_HEARTBEAT_S`` while the task runs."""

    def __init__(self, app: Flask, job_id: str):
        super().__init__(daemon=True, name=f"job-heartbeat-{job_id[:8]}")
        self.app, self.job_id = app, job_id
        self.locks: list[Lock] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        engine = self.app.extensions["geoapp.db"]
        while not self.stopped.wait(float(self.app.config["JOB_HEARTBEAT_S"])):
            try:
                store.beat(engine, self.job_id)
                for lock in list(self.locks):
                    lock.extend()
            except Exception:  # a database hiccup must not end the job; the next beat retries
                self.app.logger.warning("job %s: heartbeat failed", self.job_id, exc_info=True)


def error_text(exc: BaseException) -> str:
    """What the owner and the admin read: a core error's own message, else its class and message."""
    if isinstance(exc, GeoappError):
        return str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def run(app: Flask, job_id: str) -> None:
    """Run job ``job_id`` unless another process already took it. Never raises for a task's error."""
    engine = app.extensions["geoapp.db"]
    with app.app_context():
        state = store.claim(engine, job_id, worker_name())
        if state is None:
            return
        beat = _Heartbeat(app, job_id)
        beat.start()
        _current.beat = beat
        lock: Lock | None = None
        try:
            fn = registry.lookup(state.kind)
            if state.lock:
                lock = _lock_for(app, state.lock, job_id)
                if not lock.acquire():
                    store.beat(engine, job_id, f"waiting for another job holding '{state.lock}'")
                    while not lock.acquire():
                        time.sleep(LOCK_POLL_S)
                    store.beat(engine, job_id, "started")
                beat.locks.append(lock)
            result = fn(dict(state.payload), Progress(job_id, engine))
            if result is not None:
                result = json.loads(json.dumps(result, default=str))
            store.finish(engine, job_id, result)
        except Exception as exc:
            app.logger.warning(
                "job %s (%s) failed: %s", job_id, state.kind, exc, exc_info=not isinstance(exc, GeoappError)
            )
            store.fail(engine, job_id, error_text(exc))
        finally:
            _current.beat = None
            beat.stopped.set()
            if lock is not None:
                try:
                    lock.release()
                except Exception:  # it lapses by itself
                    app.logger.warning("job %s: could not release lock %s", job_id, state.lock, exc_info=True)
