"""`geoapp build AREA_DIR [--out FILE.gpkg]`: every layer of an area."""

from __future__ import annotations

import click

from layers.area import load_area
from layers.build import build_area


@click.command("build")
@click.argument("area_dir", type=click.Path(exists=True, file_okay=True))
@click.option("--out", type=click.Path(dir_okay=False), help="GeoPackage to write (default AREA_DIR/build/area.gpkg).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def build(area_dir: str, out: str | None, quiet: bool) -> None:
    """Build every layer of the area in AREA_DIR into one GeoPackage."""
    path = build_area(load_area(area_dir), out, progress=not quiet)
    click.echo(str(path))


COMMANDS = [build]
