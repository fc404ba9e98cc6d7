"""`geoapp build`: every layer of an area, written to one GeoPackage.

The build is a list of steps. Each step takes the area and the layers built
so far and returns new layers by name; later steps may use earlier results
(precarity reads exposure and evacuation). Analyses that run per hazard
scenario return one layer with a ``scenario`` column holding the scenario id.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
from tqdm.auto import tqdm

from layers.area import Area

Layers = dict[str, gpd.GeoDataFrame]
# A step may also return {METADATA_KEY: {key: text}}: rows for the GeoPackage's metadata table
# (e.g. each scenario's exposure summary, so the dashboard shows exactly the analysis figures).
METADATA_KEY = "metadata"
Step = Callable[[Area, Layers], Layers]


def inputs_step(area: Area, built: Layers) -> Layers:
    """The area's inputs in the common schema and working CRS."""
    layers: Layers = {
        "buildings": area.buildings(),
        "roads": area.roads(),
        "facilities": area.facilities(),
    }
    for spec in area.boundaries:
        layers[f"boundaries_{spec.id}"] = area.boundary_layer(spec.id)
    return layers


def _steps() -> list[tuple[str, Step]]:
    # Imported here so a step's heavy dependencies load only when building.
    from layers.evacuation.assign import evacuation_step
    from layers.hazard.scenarios import exposure_step
    from layers.precarity.inputs import precarity_step

    return [
        ("inputs", inputs_step),
        ("exposure", exposure_step),
        ("evacuation", evacuation_step),
        ("precarity", precarity_step),
    ]


def build_area(
    area: Area, out: str | Path | None = None, *, progress: bool = True, inputs: Layers | None = None
) -> Path:
    """Run every step for ``area`` and write all layers to ``out`` (a .gpkg).

    ``inputs`` are layers made outside the core and seen by every step, e.g.
    ``{"field_reports": geoapp.reports.query.field_reports_layer()}`` (published
    reports from the database, public view).

    Returns the path written. Layers are written to a temporary file first and
    moved into place, so a failed build never leaves a half-written GeoPackage.
    """
    from layers.publish.export import write_geopackage

    out = Path(out) if out else area.default_build_path
    out.parent.mkdir(parents=True, exist_ok=True)
    built: Layers = dict(inputs or {})
    metadata = area.metadata()
    steps = _steps()
    with tqdm(steps, desc=f"build {area.name}", unit="step", disable=not progress) as bar:
        for name, step in bar:
            bar.set_postfix_str(name)
            result = dict(step(area, built))
            metadata.update(result.pop(METADATA_KEY, {}))
            built.update(result)
    tmp = out.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    write_geopackage(built, tmp, metadata=metadata)
    tmp.replace(out)
    return out
