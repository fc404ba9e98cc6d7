"""`geoapp export AREA_DIR --format gpkg|shp|...|html|mbtiles|graphml|qgis --out PATH`: files of an area."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from tqdm.auto import tqdm

from layers.area import load_area
from layers.publish.export import FORMATS, export_layers, export_metadata, read_layers

FORMAT_CHOICES = [*FORMATS, "html", "mbtiles", "graphml", "qgis"]


@click.command("export")
@click.argument("area_dir", type=click.Path(exists=True, file_okay=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_CHOICES),
    default="gpkg",
    show_default=True,
    help="File format; one-layer-per-file formats give a .zip of one file per layer. qgis: a .zip of the "
    "GeoPackage, a QGIS project over it and the hazard rasters; mbtiles: an offline map; graphml: the road "
    "network for osmnx.",
)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="File to write.")
@click.option(
    "--layers",
    "names",
    default=None,
    help="Comma-separated layer names (default: every layer of the build; GPX: shelters, else facilities). "
    "Several layers in a one-layer format (geojson, csv, gpx, fgb) need an --out ending in .zip.",
)
@click.option(
    "--build",
    "built",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Built GeoPackage to export from (default AREA_DIR/build/area.gpkg; built on the fly when absent).",
)
@click.option(
    "--csv-geometry",
    type=click.Choice(["wkt", "lonlat"]),
    default="wkt",
    show_default=True,
    help="CSV geometry as a WKT column or lon/lat columns.",
)
@click.option(
    "--with-reports",
    is_flag=True,
    help="Add published field reports as layer field_reports, as the public sees them (blurred, no personal data); "
    "with --format html, as the map's field-report layer.",
)
@click.option(
    "--db", "db_url", default=None, help="Report database URL (default GEOAPP_DATABASE_URL or the instance SQLite)."
)
@click.option("--scenario", default=None, help="MBTiles: the hazard scenario drawn (default: the area's first).")
@click.option(
    "--min-zoom", type=click.IntRange(0, 19), default=12, show_default=True, help="MBTiles: lowest zoom level."
)
@click.option(
    "--max-zoom", type=click.IntRange(0, 19), default=16, show_default=True, help="MBTiles: highest zoom level."
)
@click.option(
    "--network",
    type=click.Choice(["walk", "drive"]),
    default="walk",
    show_default=True,
    help="GraphML: which road network to write (osmnx.load_graphml reads it).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def export(
    area_dir: str,
    fmt: str,
    out: str,
    names: str | None,
    built: str | None,
    csv_geometry: str,
    with_reports: bool,
    db_url: str | None,
    scenario: str | None,
    min_zoom: int,
    max_zoom: int,
    network: str,
    quiet: bool,
) -> None:
    """Export the layers of the area in AREA_DIR to one GIS file (or a standalone HTML map)."""
    area = load_area(area_dir)
    if fmt == "graphml":
        from layers.evacuation.osmnx_graph import roads_to_graphml

        net = roads_to_graphml(area.roads(), out, mode=network)
        click.echo(f"{out} ({network} network: {net.n_nodes} nodes, {net.n_edges} edges)")
        return
    with tempfile.TemporaryDirectory(prefix="geoapp-export-") as tmp:
        gpkg = Path(built) if built else area.default_build_path
        if not gpkg.exists():
            from layers.build import build_area

            click.echo(f"{gpkg} does not exist: building the area first", err=True)
            gpkg = build_area(area, Path(tmp) / "area.gpkg", progress=not quiet)
        if fmt == "qgis":
            from layers.publish.qgis_project import qgis_package

            result = qgis_package(area, gpkg, out)
            click.echo(f"{out} (QGIS project with {result['layers']} layers: {', '.join(result['files'])})")
            return
        if fmt == "mbtiles":
            _offline_map(area, gpkg, out, scenario=scenario, zooms=(min_zoom, max_zoom), quiet=quiet)
            return
        if fmt == "html":
            from layers.publish.standalone import standalone_map

            reports = _public_reports(area_dir, db_url) if with_reports else None
            path = standalone_map(gpkg if built else area, out, reports=reports)
            click.echo(str(path))
            return
        wanted = [n.strip() for n in names.split(",") if n.strip()] if names else None
        if wanted is None and fmt == "gpx":
            from layers.publish.export import list_layers

            have = [layer["name"] for layer in list_layers(gpkg)]
            wanted = ["shelters" if "shelters" in have else "facilities"]  # waypoints for a handheld GPS
        layers = read_layers(gpkg, wanted)
        if with_reports:
            layers["field_reports"] = _public_reports(area_dir, db_url)
        meta = export_metadata(gpkg) or area.metadata()
        with tqdm(total=len(layers), desc=f"export {fmt}", unit="layer", disable=quiet) as bar:

            def progress(done: int, total: int, name: str) -> None:
                bar.set_postfix_str(name)
                bar.update(done - bar.n)

            path = export_layers(layers, out, format=fmt, metadata=meta, csv_geometry=csv_geometry, progress=progress)
    click.echo(str(path))


def _offline_map(area, gpkg: Path, out: str, *, scenario: str | None, zooms: tuple[int, int], quiet: bool) -> None:
    """The offline map package (raster MBTiles) of one scenario."""
    from layers.publish.mbtiles import offline_map

    with tqdm(desc="mbtiles", unit="band", disable=quiet) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = offline_map(
            area, gpkg, out, scenario=scenario, min_zoom=zooms[0], max_zoom=zooms[1], progress=progress
        )
    click.echo(f"{out} ({result['tiles']} tiles, zoom {zooms[0]}-{zooms[1]})")


def _public_reports(area_dir: str, db_url: str | None):
    """Published reports with the privacy of an anonymous ``GET /api/reports``."""
    from geoapp import create_app
    from geoapp.reports.query import field_reports_layer

    app = create_app({"AREA": str(area_dir), **({"DATABASE_URL": db_url} if db_url else {})})
    with app.app_context():
        return field_reports_layer()


COMMANDS = [export]
