"""`geoapp build AREA_DIR [--out FILE.gpkg]`: every layer of an area."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from layers.area import load_area
from layers.build import OnStep, build_area


def build_with_reports(
    area_dir: str | Path,
    out: str | Path | None = None,
    *,
    progress: bool = True,
    db: str | None = None,
    app: Flask | None = None,
    only: list[str] | None = None,
    on_step: OnStep | None = None,
) -> Path:
    """Build the area with its published field reports (public view: blurred, nothing personal)
    as one more input, so shelter-site reports become shelters and need reports count in precarity.

    ``app`` (e.g. a job worker's) gives the reports database; else an app is made from the settings and ``db``.
    """
    from geoapp.reports.query import field_reports_layer

    from .. import create_app

    area = load_area(area_dir)
    if app is None:
        config = {"AREA": str(area.root)}
        if db:
            config["DATABASE_URL"] = db
        app = create_app(config)
    with app.app_context():
        reports = field_reports_layer(crs=area.crs)
    return build_area(area, out, progress=progress, inputs={"field_reports": reports}, only=only, on_step=on_step)


@click.command("build")
@click.argument("area_dir", type=click.Path(exists=True, file_okay=True))
@click.option("--out", type=click.Path(dir_okay=False), help="GeoPackage to write (default AREA_DIR/build/area.gpkg).")
@click.option(
    "--db", help="SQLAlchemy URL of the reports database (default: GEOAPP_DATABASE_URL or the instance SQLite)."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def build(area_dir: str, out: str | None, db: str | None, quiet: bool) -> None:
    """Build every layer of the area in AREA_DIR into one GeoPackage."""
    click.echo(str(build_with_reports(area_dir, out, progress=not quiet, db=db)))


COMMANDS = [build]
