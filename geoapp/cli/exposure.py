"""`geoapp exposure`: people, buildings, roads and facilities per hazard class (contract in the README)."""

from __future__ import annotations

import json

import click

from layers.errors import InvalidInputError
from layers.hazard.exposure import exposure_from_files
from layers.hazard.kinds import kinds
from layers.publish.export import write_geopackage

# Not checked here: a vector file may be PATH:LAYER, and the loaders name a missing file in one line.
_file = click.Path()


@click.command("exposure")
@click.option(
    "--hazard", required=True, type=_file, help="Hazard: a raster GDAL reads (depth, any CRS) or vector zones."
)
@click.option("--hazard-field", help="Attribute of vector hazard zones holding their class or value.")
@click.option(
    "--kind",
    type=click.Choice(list(kinds())),
    default="flood",
    show_default=True,
    help="Kind of hazard: its units, default classes (InaSAFE's), impact rules and words.",
)
@click.option(
    "--radii-km",
    "--radii",
    "radii_km",
    help="Volcano vent points: ring radii in km (default 3,5,10).",
)
@click.option("--classes", help="Hazard classes, e.g. 'low:0.1-0.7,medium:0.7-1.5,high:1.5-' (default) or 'wet:yes'.")
@click.option(
    "--displacement",
    help="Share of people displaced per class, e.g. 'high:1.0,medium:0.3' (default: all of the most severe class).",
)
@click.option(
    "--osm",
    type=click.Path(exists=True, dir_okay=False),
    help="OSM file (.osm, .osm.bz2, .pbf): the buildings, roads and facilities not given as files.",
)
@click.option("--buildings", type=_file, help="Building footprints (PATH or PATH:LAYER).")
@click.option("--roads", type=_file, help="Road lines (PATH or PATH:LAYER).")
@click.option(
    "--facilities", type=_file, help="Facilities: points or polygons with a category column (PATH or PATH:LAYER)."
)
@click.option("--population", type=_file, help="Population raster, or census polygons with --population-field.")
@click.option("--population-field", help="Attribute of census polygons holding their people.")
@click.option(
    "--population-units",
    type=click.Choice(["count", "per_km2", "per_ha"]),
    default="count",
    show_default=True,
    help="What a raster cell holds: people per cell, per km2 or per hectare.",
)
@click.option(
    "--population-scale", type=float, default=1.0, show_default=True, help="Multiplier applied to raster values."
)
@click.option("--boundaries", type=_file, help="Units to sum every figure by (admin areas, neighbourhoods).")
@click.option("--boundary-name", help="Attribute of --boundaries holding each unit's name.")
@click.option(
    "--needs",
    type=click.Choice(["bnpb", "sphere", "none"]),
    default="bnpb",
    show_default=True,
    help="Minimum-needs profile for displaced people (per week).",
)
@click.option("--out", type=click.Path(dir_okay=False), help="GeoPackage to write the exposure_* layers to.")
@click.option(
    "--chunk-rows",
    type=click.IntRange(1, 2**31 - 1),  # a whole number of rows; 400 digits was an OverflowError traceback
    help="Stream the buildings this many at a time: memory bounded by it, figures identical (e.g. 250000).",
)
@click.option(
    "--scheduler", help="Dask scheduler address (tcp://host:8786; default $GEOAPP_DASK_SCHEDULER): run on a cluster."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def exposure(
    hazard,
    hazard_field,
    kind,
    radii_km,
    classes,
    displacement,
    osm,
    buildings,
    roads,
    facilities,
    population,
    population_field,
    population_units,
    population_scale,
    boundaries,
    boundary_name,
    needs,
    out,
    chunk_rows,
    scheduler,
    as_json,
) -> None:
    """Who and what is exposed to a hazard: per class, per type and per unit."""
    streamed = _streamed(locals())  # --chunk-rows / --scheduler: buildings in batches or on a Dask cluster
    result = streamed or exposure_from_files(
        hazard=hazard,
        hazard_field=hazard_field,
        kind=kind,
        radii_km=_radii(radii_km),
        classes=classes,
        displacement=displacement,
        osm=osm,
        buildings=buildings,
        roads=roads,
        facilities=facilities,
        population=population,
        population_field=population_field,
        population_units=population_units,
        population_scale=population_scale,
        boundaries=boundaries,
        boundary_name=boundary_name,
        needs=needs,
        progress=not as_json,
    )
    if out:  # streamed: exposure_buildings is already in the file, written batch by batch
        write_geopackage(
            _without_buildings(result.layers()) if streamed else result.layers(), out, keep_existing=bool(streamed)
        )
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary))
        return
    classes_ = summary["classes"]
    if "population" in summary:
        p = summary["population"]
        per = ", ".join(f"{c} {p['by_class'][c]:,.0f}" for c in classes_)
        click.echo(f"people: {p['total']:,.0f}, affected {p['affected']:,.0f} ({per}), displaced {p['displaced']:,.0f}")
        if "fatalities" in p:
            click.echo("fatalities: " + ", ".join(f"{m} {v:,.1f}" for m, v in p["fatalities"].items()))
        if "needs" in p:
            click.echo("weekly needs: " + ", ".join(f"{k} {v:,}" for k, v in p["needs"].items()))
    if "buildings" in summary:
        b = summary["buildings"]
        per = ", ".join(f"{c} {b['by_class'][c]}" for c in classes_)
        click.echo(f"buildings: {b['total']}, affected {b['affected']} ({per})")
        if "by_damage" in b:
            click.echo("damage: " + ", ".join(f"{c} {n}" for c, n in b["by_damage"].items()))
    if "roads" in summary:
        r = summary["roads"]
        per = ", ".join(f"{c} {r['by_class_km'][c]:.1f}" for c in classes_)
        click.echo(f"roads: {r['total_km']:.1f} km, affected {r['affected_km']:.1f} km ({per})")
    if "facilities" in summary:
        f = summary["facilities"]
        click.echo(f"facilities: {f['total']}, affected {f['affected']}")
        for item in f["at_risk"][:10]:
            click.echo(
                f"  {item['hazard_class']:>8}  {item['category'] or '':<18} {item['name'] or item['facility_id']}"
            )
    if out:
        click.echo(f"wrote {out}")


def _radii(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InvalidInputError(
            f"--radii-km '{text}' must be distances in km separated by commas, e.g. 3,5,10"
        ) from None


def _streamed(args: dict):
    """The chunked (or Dask) run when --chunk-rows, --scheduler or GEOAPP_DASK_SCHEDULER asks for one, else None."""
    from layers.distributed import scheduler_address
    from layers.hazard.chunked import exposure_chunked_from_files
    from layers.settings import CHUNK_BUILDINGS

    address = scheduler_address(args["scheduler"])
    if not (args["chunk_rows"] or address):
        return None
    if not args["buildings"] or args["osm"]:
        raise InvalidInputError("--chunk-rows and --scheduler stream a --buildings file; give one (not --osm)")
    if args["population_field"]:
        raise InvalidInputError("--chunk-rows and --scheduler take a population raster, not census polygons")
    keys: tuple[str, ...] = (
        "hazard",
        "hazard_field",
        "kind",
        "classes",
        "displacement",
        "roads",
        "facilities",
        "population",
    )
    keys += ("population_units", "population_scale", "boundaries", "boundary_name", "needs", "out", "buildings")
    return exposure_chunked_from_files(
        chunk_rows=args["chunk_rows"] or CHUNK_BUILDINGS,
        scheduler=address,
        radii_km=_radii(args["radii_km"]),
        **{k: args[k] for k in keys},
    )


def _without_buildings(layers: dict) -> dict:
    return {k: v for k, v in layers.items() if k != "exposure_buildings"}


COMMANDS = [exposure]
