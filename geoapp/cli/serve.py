"""`geoapp serve` and `geoapp demo`: the app under a production WSGI server with several processes.

gunicorn runs ``--workers`` processes (default: two per core, at most 8), each with
``--threads`` request threads (gthread). The app is made once in the master
(migrations run once, the map layers are read once) and forked: workers share
those pages of memory. Nothing lives in one process only: job state is in the
database, rate limits in Redis when ``REDIS_URL`` is set, and the caches of the
build re-read it when the file is swapped.

Idle or slow clients hold no request thread: a new connection goes to a thread
only once it has sent data (gunicorn's wait for first data is set to zero, so
silent sockets wait in the event loop), and connections silent for
``--idle-timeout`` seconds are closed. Where gunicorn cannot run (Windows),
waitress serves in one process with the same options.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask

from .. import SAMPLE_AREA, create_app

THREADS = 8
IDLE_TIMEOUT_S = 30
CONNECTION_LIMIT = 200
REQUEST_TIMEOUT_S = 300  # a worker silent this long (a stuck request) is replaced
MAX_WORKERS = 8
WARM_UP_S = 120  # the master waits this long at most for the map layers before forking


def default_workers() -> int:
    return max(2, min(2 * (os.cpu_count() or 1), MAX_WORKERS))


def gunicorn_available() -> bool:
    if os.name == "nt":
        return False
    try:
        import gunicorn.app.base  # noqa: F401
    except ImportError:
        return False
    return True


def _after_fork(app: Flask) -> None:
    """In a new worker process: no connection of the master's is reused (SQLAlchemy pool, RQ's Redis client)."""
    app.extensions["geoapp.db"].dispose(close=False)
    from ..jobs import rqueue

    rqueue.connection.cache_clear()
    from .. import jobs

    jobs.start(app)  # without Redis: this process's job threads, and the sweeper that resumes left jobs


def _gunicorn(app: Flask, host: str, port: int, options: dict) -> None:
    from gunicorn.app.base import BaseApplication
    from gunicorn.workers import gthread

    # New connections are handed to a thread only once they have data; waiting for it happens in the event
    # loop, never in a request thread (as waitress does), so idle sockets cannot starve requests.
    if hasattr(gthread, "DEFAULT_WORKER_DATA_TIMEOUT"):
        gthread.DEFAULT_WORKER_DATA_TIMEOUT = 0.0

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:  # e.g. control_socket_disable exists from gunicorn 24 on
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    options = {
        "bind": [f"{host}:{port}"],
        "worker_class": "gthread",
        "preload_app": True,
        "post_fork": lambda _server, _worker: _after_fork(app),
        "timeout": REQUEST_TIMEOUT_S,
        "graceful_timeout": 30,
        "proc_name": "geoapp",
        "accesslog": None,
        "errorlog": "-",
        "control_socket_disable": True,  # one fixed socket path per user would clash between servers
        **options,
    }
    Server().run()


def _run(
    area: str | None,
    host: str,
    port: int,
    db: str | None,
    *,
    workers: int | None = None,
    threads: int = THREADS,
    idle_timeout: int = IDLE_TIMEOUT_S,
    connection_limit: int = CONNECTION_LIMIT,
) -> None:
    config = {}
    if area:
        config["AREA"] = str(Path(area).resolve())
    if db:
        config["DATABASE_URL"] = db
    app = create_app(config)
    from ..views.tiles import warm

    workers = workers or default_workers()
    if gunicorn_available():
        warm(app).join(WARM_UP_S)  # before forking: every worker starts with the layers read
        jobs_where = "Redis workers (geoapp worker)" if app.config.get("REDIS_URL") else "in-process"
        click.echo(
            f"Serving {app.config['AREA']} on http://{host}:{port}/ "
            f"(gunicorn: {workers} processes x {threads} threads; jobs {jobs_where})"
        )
        _gunicorn(
            app,
            host,
            port,
            {
                "workers": workers,
                "threads": threads,
                "keepalive": idle_timeout,
                "worker_connections": connection_limit,
            },
        )
        return
    from waitress import serve as waitress_serve

    warm(app)
    from .. import jobs

    jobs.start(app)
    click.echo(f"Serving {app.config['AREA']} on http://{host}:{port}/ (waitress, one process)")
    waitress_serve(
        app,
        host=host,
        port=port,
        threads=threads,
        channel_timeout=idle_timeout,
        cleanup_interval=min(30, idle_timeout),  # how often silent connections are looked for
        connection_limit=connection_limit,
        ident="geoapp",
    )


def _server_options(f):
    f = click.option(
        "--connection-limit",
        default=CONNECTION_LIMIT,
        show_default=True,
        type=click.IntRange(1, 10_000),
        help="Open connections per process at most; more wait to be accepted.",
    )(f)
    f = click.option(
        "--idle-timeout",
        default=IDLE_TIMEOUT_S,
        show_default=True,
        type=click.IntRange(1, 3600),
        help="Seconds before a silent connection is closed.",
    )(f)
    f = click.option(
        "--threads",
        default=THREADS,
        show_default=True,
        type=click.IntRange(1, 256),
        help="Request threads per process.",
    )(f)
    return click.option(
        "--workers",
        type=click.IntRange(1, 64),
        help=f"Server processes (default: two per core, at most {MAX_WORKERS}; now {default_workers()}).",
    )(f)


@click.command("serve")
@click.option("--area", type=click.Path(exists=True), help="Area folder (default: GEOAPP_AREA or the Jakarta sample).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--db", help="SQLAlchemy URL of the reports database (overrides GEOAPP_DATABASE_URL).")
@_server_options
def serve(
    area: str | None,
    host: str,
    port: int,
    db: str | None,
    workers: int | None,
    threads: int,
    idle_timeout: int,
    connection_limit: int,
) -> None:
    """Serve the risk map, the report form and the APIs with a production WSGI server (gunicorn)."""
    _run(
        area,
        host,
        port,
        db,
        workers=workers,
        threads=threads,
        idle_timeout=idle_timeout,
        connection_limit=connection_limit,
    )


@click.command("demo")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--rebuild", is_flag=True, help="Rebuild the sample even when a build exists.")
@_server_options
def demo(port: int, rebuild: bool, workers: int | None, threads: int, idle_timeout: int, connection_limit: int) -> None:
    """Build the embedded Jakarta sample and serve it on 127.0.0.1 (SQLite, jobs in-process unless Redis is set)."""
    from layers.area import load_area

    from .build import build_with_reports

    area = load_area(SAMPLE_AREA)
    if rebuild or _stale(area.default_build_path, area.root, Path(load_area.__code__.co_filename).parent):
        click.echo(f"Building the {area.title} sample (first run only)...")
        build_with_reports(SAMPLE_AREA)
    os.environ.setdefault("GEOAPP_AREA", str(SAMPLE_AREA))
    _run(
        str(SAMPLE_AREA),
        "127.0.0.1",
        port,
        None,
        workers=workers,
        threads=threads,
        idle_timeout=idle_timeout,
        connection_limit=connection_limit,
    )


def _stale(build: Path, *sources: Path) -> bool:
    """A build is stale when missing or older than any input file or core module."""
    if not build.exists():
        return True
    newest = max(
        p.stat().st_mtime for src in sources for p in src.rglob("*") if p.is_file() and build.parent not in p.parents
    )
    return newest > build.stat().st_mtime


COMMANDS = [serve, demo]
