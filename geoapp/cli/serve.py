"""`geoapp serve` and `geoapp demo`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .. import SAMPLE_AREA, create_app

# waitress: a production WSGI server whose thread pool only ever runs requests. Reading and writing
# sockets happens in one asynchronous loop, so idle or slow clients hold no thread, and connections
# silent for IDLE_TIMEOUT_S are closed. One process: export jobs and rate limits live in it.
THREADS = 8
IDLE_TIMEOUT_S = 30
CONNECTION_LIMIT = 200


def _run(
    area: str | None,
    host: str,
    port: int,
    db: str | None,
    *,
    threads: int = THREADS,
    idle_timeout: int = IDLE_TIMEOUT_S,
    connection_limit: int = CONNECTION_LIMIT,
) -> None:
    from waitress import serve as waitress_serve

    config = {}
    if area:
        config["AREA"] = str(Path(area).resolve())
    if db:
        config["DATABASE_URL"] = db
    app = create_app(config)
    from ..views.tiles import warm

    warm(app)
    click.echo(f"Serving {app.config['AREA']} on http://{host}:{port}/")
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


@click.command("serve")
@click.option("--area", type=click.Path(exists=True), help="Area folder (default: GEOAPP_AREA or the Jakarta sample).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--db", help="SQLAlchemy URL of the reports database (overrides GEOAPP_DATABASE_URL).")
@click.option("--threads", default=THREADS, show_default=True, type=click.IntRange(1, 256), help="Request threads.")
@click.option(
    "--idle-timeout",
    default=IDLE_TIMEOUT_S,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds before a silent connection is closed.",
)
@click.option(
    "--connection-limit",
    default=CONNECTION_LIMIT,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Open connections at most; more wait to be accepted.",
)
def serve(
    area: str | None, host: str, port: int, db: str | None, threads: int, idle_timeout: int, connection_limit: int
) -> None:
    """Serve the risk map, the report form and the APIs with a production WSGI server (waitress)."""
    _run(area, host, port, db, threads=threads, idle_timeout=idle_timeout, connection_limit=connection_limit)


@click.command("demo")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--rebuild", is_flag=True, help="Rebuild the sample even when a build exists.")
def demo(port: int, rebuild: bool) -> None:
    """Build the embedded Jakarta sample and serve it on 127.0.0.1."""
    from layers.area import load_area

    from .build import build_with_reports

    area = load_area(SAMPLE_AREA)
    if rebuild or _stale(area.default_build_path, area.root, Path(load_area.__code__.co_filename).parent):
        click.echo(f"Building the {area.title} sample (first run only)...")
        build_with_reports(SAMPLE_AREA)
    os.environ.setdefault("GEOAPP_AREA", str(SAMPLE_AREA))
    _run(str(SAMPLE_AREA), "127.0.0.1", port, None)


def _stale(build: Path, *sources: Path) -> bool:
    """A build is stale when missing or older than any input file or core module."""
    if not build.exists():
        return True
    newest = max(
        p.stat().st_mtime for src in sources for p in src.rglob("*") if p.is_file() and build.parent not in p.parents
    )
    return newest > build.stat().st_mtime


COMMANDS = [serve, demo]
