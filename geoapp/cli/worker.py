"""`geoapp worker`: processes that run the queued jobs (builds, exports, big imports) from Redis.

Each worker process makes the app from the same settings as the server (GEOAPP_*
variables, instance config, or --db/--redis/--queue) and runs an RQ worker with
the scheduler (delayed jobs). Run it on this machine or on others that reach the
same Redis and database and see the area folders at the same paths. A worker
process that dies is replaced; SIGTERM or Ctrl-C lets running jobs finish first.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from typing import Any

import click

from layers.errors import InvalidInputError

RESTART_PAUSE_S = 1.0


def _config(db: str | None, redis: str | None, queue: str | None) -> dict:
    config: dict = {}
    if db:
        config["DATABASE_URL"] = db
    if redis:
        config["REDIS_URL"] = redis
    if queue:
        config["JOB_QUEUE"] = queue
    return config


def work(config: dict, burst: bool = False) -> None:
    """One worker process: the app, its tasks, a reaper of dead jobs, then RQ's work loop (simple: no fork per job)."""
    from rq import SimpleWorker

    from .. import create_app
    from ..jobs import registry, rqueue, store

    app = create_app(config)
    registry.load_all()
    rqueue.set_worker_app(app)
    stale = float(app.config["JOB_STALE_S"])

    def reap() -> None:  # jobs of workers that died (here or on other machines) read as failed even if nobody polls
        while True:
            time.sleep(max(stale / 3, 1.0))
            try:
                store.reap(app.extensions["geoapp.db"], stale)
            except Exception:
                app.logger.warning("job reaper failed", exc_info=True)

    threading.Thread(target=reap, daemon=True, name="geoapp-job-reaper").start()
    worker = SimpleWorker([rqueue.queue(app)], connection=rqueue.connection(app.config["REDIS_URL"]))
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")


@click.command("worker")
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--redis", help="Redis URL of the job queue (default: GEOAPP_REDIS_URL).")
@click.option("--db", help="SQLAlchemy URL of the database (default: GEOAPP_DATABASE_URL or the instance SQLite).")
@click.option("--queue", help="Queue name (default: GEOAPP_JOB_QUEUE or 'geoapp').")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then stop.")
def worker(count: int, redis: str | None, db: str | None, queue: str | None, burst: bool) -> None:
    """Run COUNT worker processes for the background jobs queued in Redis."""
    from .. import create_app

    config = _config(db, redis, queue)
    if redis and not redis.startswith(("redis://", "rediss://", "unix://")):  # else a limits traceback
        raise InvalidInputError(f"--redis {redis[:60]!r} is not a Redis URL; give redis://HOST:6379/0")
    app = create_app({**config, "DB_AUTO_UPGRADE": True})  # check the settings and migrate once, here
    if not app.config.get("REDIS_URL"):
        raise InvalidInputError("geoapp worker needs Redis: give --redis redis://HOST:6379/0 or set GEOAPP_REDIS_URL")
    from redis import Redis
    from redis.exceptions import RedisError

    try:
        with Redis.from_url(app.config["REDIS_URL"]) as conn:
            conn.ping()
    except RedisError as exc:
        raise InvalidInputError(f"cannot reach Redis at {app.config['REDIS_URL']}: {exc}") from None
    app.extensions["geoapp.db"].dispose()
    config.update(REDIS_URL=app.config["REDIS_URL"], DB_AUTO_UPGRADE=False)
    click.echo(f"{count} worker(s) on queue '{app.config['JOB_QUEUE']}' at {app.config['REDIS_URL']}", err=True)
    _supervise(config, count, burst)


def _supervise(config: dict, count: int, burst: bool) -> None:
    # fork where there is one: a worker starts at once with the modules already imported here; nothing here
    # holds a connection by then (the engine is disposed, Redis pinged on a connection of its own)
    from ..jobs import registry

    registry.load_all()
    methods = multiprocessing.get_all_start_methods()
    ctx: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    procs = [ctx.Process(target=work, args=(config, burst), daemon=False) for _ in range(count)]
    for p in procs:
        p.start()
    stopping = threading.Event()

    def stop(signum, _frame) -> None:
        stopping.set()
        for p in procs:
            if p.is_alive() and p.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGTERM)  # warm shutdown: the running job finishes

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        alive = 0
        for i, p in enumerate(procs):
            if p.is_alive():
                alive += 1
            elif not stopping.is_set() and not (burst and p.exitcode == 0):
                click.echo(f"worker {p.pid} stopped (exit {p.exitcode}); starting another", err=True)
                time.sleep(RESTART_PAUSE_S)
                procs[i] = ctx.Process(target=work, args=(config, burst), daemon=False)
                procs[i].start()
                alive += 1
        if not alive:
            return
        time.sleep(0.5)


COMMANDS = [worker]
