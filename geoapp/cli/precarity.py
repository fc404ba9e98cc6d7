"""`geoapp precarity`: the precarious-neighbourhood index from files."""

from __future__ import annotations

import json

import click

from layers.precarity.inputs import precarity_from_files
from layers.publish.export import write_geopackage
from layers.settings import H3_RESOLUTION

_PATH = click.Path(exists=True, dir_okay=False)
# Not checked here: a vector file may be PATH:LAYER, and the loaders name a missing file in one line.
_VECTOR = click.Path()


@click.command("precarity")
@click.option(
    "--osm",
    type=_PATH,
    help="OSM file (.osm, .osm.bz2, .pbf): the buildings, roads and facilities not given as files.",
)
@click.option("--buildings", type=_VECTOR, help="Building footprints (PATH or PATH:LAYER; default: those of --osm).")
@click.option(
    "--roads", type=_VECTOR, help="Road lines (PATH or PATH:LAYER, or an osmnx GraphML): footway-only access and walks."
)
@click.option(
    "--graphml",
    type=click.Path(exists=True, dir_okay=False),
    help="The road network as an osmnx graph saved with osmnx.save_graphml (instead of --roads).",
)
@click.option(
    "--facilities",
    type=_VECTOR,
    help="Facility points or areas with a category (PATH or PATH:LAYER, e.g. build/area.gpkg:facilities); "
    "default: those of --osm, else buildings tagged as such.",
)
@click.option("--hazard", type=_PATH, help="Hazard raster (depth) or vector zones.")
@click.option("--hazard-field", help="Attribute of a vector hazard holding its class or value.")
@click.option("--classes", help="Hazard classes, e.g. 'low:0.1-0.7,medium:0.7-1.5,high:1.5-'.")
@click.option("--population", type=_PATH, help="Population raster (or census polygons with --population-field).")
@click.option("--population-field", help="Attribute of census polygons holding their population.")
@click.option(
    "--population-units", type=click.Choice(["count", "per_km2", "per_ha"]), default="count", show_default=True
)
@click.option("--population-scale", type=float, help="Multiplier from raster values to people per cell.")
@click.option("--boundaries", type=_PATH, help="Neighbourhood or admin polygons for precarity_areas.")
@click.option("--boundary-name", help="Field of --boundaries holding each unit's name.")
@click.option("--reports", type=_PATH, help="Published field reports (points with 'category'): needs and damage.")
@click.option(
    "--h3-resolution", type=click.IntRange(0, 15), default=H3_RESOLUTION, show_default=True, help="H3 grid resolution."
)
@click.option("--weights", help="Indicator weights, e.g. 'hazard_score:3,data_completeness:0'.")
@click.option(
    "--threshold", type=float, default=0.6, show_default=True, help="Index at or above which cells are precarious."
)
@click.option(
    "--out", type=click.Path(dir_okay=False), help="GeoPackage to write (layers precarity_cells, precarity_areas, ...)."
)
@click.option(
    "--chunk-rows",
    type=int,
    help="Stream the buildings this many at a time: memory bounded by it, figures identical (e.g. 250000).",
)
@click.option(
    "--scheduler", help="Dask scheduler address (tcp://host:8786; default $GEOAPP_DASK_SCHEDULER): run on a cluster."
)
@click.option(
    "--json", "as_json", is_flag=True, help='Print {"cells": n, "areas": [{"name", "index", "rank", "components"}]}.'
)
def precarity(
    osm,
    buildings,
    roads,
    graphml,
    facilities,
    hazard,
    hazard_field,
    classes,
    population,
    population_field,
    population_units,
    population_scale,
    boundaries,
    boundary_name,
    reports,
    h3_resolution,
    weights,
    threshold,
    out,
    chunk_rows,
    scheduler,
    as_json,
) -> None:
    """Precarious-neighbourhood index per H3 cell and per boundary unit."""
    if graphml and roads:
        raise click.UsageError("give the road network once: --roads or --graphml")
    roads = roads or graphml
    streamed = _streamed(locals(), roads)  # --chunk-rows / --scheduler: buildings in batches or on a Dask cluster
    result = streamed or precarity_from_files(
        buildings,
        osm=osm,
        roads=roads,
        facilities=facilities,
        hazard=hazard,
        hazard_field=hazard_field,
        classes=classes,
        population=population,
        population_field=population_field,
        population_units=population_units,
        population_scale=population_scale,
        boundaries=boundaries,
        boundary_name=boundary_name,
        reports=reports,
        resolution=h3_resolution,
        weights=weights,
        threshold=threshold,
        progress=not as_json,
    )
    if out:
        write_geopackage(result.layers(), out)
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    click.echo(f"{summary['cells']} cells, {summary['neighbourhoods']} precarious neighbourhoods")
    for name, why in summary["skipped"].items():
        click.echo(f"left out: {name} ({why})", err=True)
    for area in summary["areas"][:10]:
        index = "  -  " if area["index"] is None else f"{area['index']:.3f}"
        click.echo(f"  {area['rank'] or '-':>4}  {index}  {area['name']}  ({', '.join(area['top_indicators'])})")
    if out:
        click.echo(out)


def _streamed(args: dict, roads):
    """The chunked (or Dask) run when --chunk-rows, --scheduler or GEOAPP_DASK_SCHEDULER asks for one, else None."""
    from layers.distributed import scheduler_address
    from layers.errors import InvalidInputError
    from layers.precarity.chunked import precarity_chunked_from_files
    from layers.settings import CHUNK_BUILDINGS

    address = scheduler_address(args["scheduler"])
    if not (args["chunk_rows"] or address):
        return None
    if not args["buildings"] or args["osm"]:
        raise InvalidInputError("--chunk-rows and --scheduler stream a --buildings file; give one (not --osm)")
    keys: tuple[str, ...] = (
        "facilities",
        "hazard",
        "hazard_field",
        "classes",
        "population",
        "population_field",
        "population_units",
    )
    keys += ("population_scale", "boundaries", "boundary_name", "reports", "weights", "threshold")
    return precarity_chunked_from_files(
        args["buildings"],
        chunk_rows=args["chunk_rows"] or CHUNK_BUILDINGS,
        scheduler=address,
        roads=roads,
        resolution=args["h3_resolution"],
        **{k: args[k] for k in keys},
    )


COMMANDS = [precarity]
