"""`geoapp report AREA --scenario S [--boundaries B] [--lang L] [--atlas] --out FILE.pdf`: a printed impact report."""

from __future__ import annotations

from pathlib import Path

import click

from layers.area import load_area
from layers.errors import MissingInputError
from layers.publish.standalone import LANGUAGES


@click.command("report")
@click.argument("area_dir", type=click.Path(exists=True, file_okay=True))
@click.option("--scenario", default=None, help="Hazard scenario id (default: the area's first).")
@click.option("--boundaries", "boundary", default=None, help="Boundary set id for the neighbourhood tables and atlas.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True, help="Language of the report.")
@click.option("--atlas", is_flag=True, help="Add one page per affected neighbourhood, most people affected first.")
@click.option("--atlas-limit", type=click.IntRange(min=1), default=None, help="At most this many atlas pages.")
@click.option(
    "--build",
    "built",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Built GeoPackage to report on (default AREA_DIR/build/area.gpkg).",
)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="PDF file to write.")
def report(
    area_dir: str,
    scenario: str | None,
    boundary: str | None,
    lang: str,
    atlas: bool,
    atlas_limit: int | None,
    built: str | None,
    out: str,
) -> None:
    """Write an A4 PDF impact report of one scenario: map, exposure, needs, facilities, evacuation, disclaimer."""
    from layers.publish.impact_report import impact_report  # matplotlib: loaded only when a report is written

    area = load_area(area_dir)
    gpkg = Path(built) if built else area.default_build_path
    if not gpkg.exists():
        raise MissingInputError(f"{gpkg} does not exist: run `geoapp build {area_dir}` first, or give --build")
    if boundary is not None:
        area.boundary(boundary)  # an unknown set is one clear error naming the sets
    result = impact_report(
        area, gpkg, out, scenario=scenario, boundary=boundary, lang=lang, atlas=atlas, atlas_limit=atlas_limit
    )
    click.echo(f"{out} ({result['pages']} pages)")


COMMANDS = [report]
