"""`geoapp evacuate`: nearest safe shelter with room for every building (contract: docs/contracts.md)."""

from __future__ import annotations

import json

import click

from layers.evacuation.files import evacuation_from_files
from layers.evacuation.memory import release_memory
from layers.publish.export import write_geopackage
from layers.settings import WALK_SPEED_M_S


@click.command("evacuate")
@click.option(
    "--osm",
    type=click.Path(exists=True, dir_okay=False),
    help="OSM file (.osm, .osm.bz2, .pbf): roads, buildings, amenities.",
)
@click.option(
    "--roads",
    type=click.Path(exists=True),
    help="Road lines (GeoPackage, Shapefile, ... or an osmnx GraphML), not necessarily split at junctions.",
)
@click.option(
    "--graphml",
    type=click.Path(exists=True, dir_okay=False),
    help="The road network as an osmnx graph saved with osmnx.save_graphml (instead of --roads).",
)
@click.option(
    "--hazard",
    required=True,
    type=click.Path(exists=True),
    help="Flood depth raster (m), or hazard zones with --hazard-field.",
)
@click.option(
    "--hazard-field",
    help="Attribute of vector hazard zones holding their class or depth (e.g. with --classes wet:yes).",
)
@click.option(
    "--classes",
    help="Hazard classes, e.g. 'low:0.1-0.7,medium:0.7-1.5,high:1.5-'; a shelter site in any class is unsafe.",
)
@click.option(
    "--buildings", type=click.Path(exists=True), help="Building footprints (default: the buildings of --osm)."
)
@click.option(
    "--shelters", type=click.Path(exists=True), help="Shelter points or polygons: every feature is a shelter."
)
@click.option(
    "--shelter-tags", help="Facility types that shelter people, e.g. 'amenity=school,amenity=place_of_worship'."
)
@click.option(
    "--capacity-field", help="Capacity field of the shelters (or buildings) file; else floor area x levels / 3.5 m2."
)
@click.option(
    "--walk-speed", "walk_speed", type=float, default=WALK_SPEED_M_S, show_default=True, help="Walking speed, m/s."
)
@click.option("--out", type=click.Path(dir_okay=False), help="GeoPackage to write the layers to.")
@click.option(
    "--routes", is_flag=True, help="Also write one route line per building (layer evacuation_building_routes)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def evacuate(
    osm,
    roads,
    graphml,
    hazard,
    hazard_field,
    classes,
    buildings,
    shelters,
    shelter_tags,
    capacity_field,
    walk_speed,
    out,
    routes,
    as_json,
) -> None:
    """Route every building to its nearest safe shelter with room, around flooded roads."""
    if graphml and roads:
        raise click.UsageError("give the road network once: --roads or --graphml")
    roads = roads or graphml
    layers, result = evacuation_from_files(
        osm=osm,
        roads=roads,
        hazard=hazard,
        hazard_field=hazard_field,
        classes=classes,
        buildings=buildings,
        shelters=shelters,
        shelter_tags=shelter_tags,
        capacity_field=capacity_field,
        walk_speed_m_s=walk_speed,
        building_routes=routes,
        progress=not as_json,
    )
    if out:
        release_memory()  # what routing freed, before the writer's buffers
        write_geopackage(layers, out, largest_first=True)  # the routes get GDAL's threaded spatial index
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary))
        return
    b, t, s = summary["buildings"], summary["time_s"], summary["shelters"]
    click.echo(f"buildings: {b['total']} ({b['reachable']} reach a shelter, {b['unreachable']} cannot)")
    if t["median"] is not None:
        click.echo(
            f"walking time: median {t['median'] / 60:.1f} min, 95% within {t['p95'] / 60:.1f} min, "
            f"max {t['max'] / 60:.1f} min"
        )
    click.echo(f"shelters: {s['total']} ({s['safe']} safe, {s['used']} used, {s['over_capacity']} over capacity)")
    if out:
        click.echo(f"wrote {out}")


COMMANDS = [evacuate]
