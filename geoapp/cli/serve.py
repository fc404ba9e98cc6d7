"""`geoapp serve` and `geoapp demo`."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .. import SAMPLE_AREA, create_app


def _run(area: str | None, host: str, port: int, db: str | None) -> None:
    config = {}
    if area:
        config["AREA"] = str(Path(area).resolve())
    if db:
        config["DATABASE_URL"] = db
    app = create_app(config)
    from ..views.tiles import warm

    warm(app)
    click.echo(f"Serving {app.config['AREA']} on http://{host}:{port}/")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@click.command("serve")
@click.option("--area", type=click.Path(exists=True), help="Area folder (default: GEOAPP_AREA or the Jakarta sample).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--db", help="SQLAlchemy URL of the reports database (overrides GEOAPP_DATABASE_URL).")
def serve(area: str | None, host: str, port: int, db: str | None) -> None:
    """Serve the risk map, the report form and the APIs."""
    _run(area, host, port, db)


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
