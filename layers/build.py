"""`geoapp build`: every layer of an area, written to one GeoPackage.

The build is a list of named steps, each living beside its analysis
(``layers/<domain>/step.py``) and each of one shape, :class:`Step`: it takes
the area and the layers built so far and returns new layers by name. Later
steps may use earlier results (precarity reads exposure and evacuation).
Analyses that run per hazard scenario return one layer with a ``scenario``
column holding the scenario id.

A step may also return ``{METADATA_KEY: {key: text}}``: rows for the
GeoPackage's metadata table (e.g. each scenario's exposure summary, so the
dashboard shows exactly the analysis figures).

A step whose input the area lacks raises :class:`~layers.errors.MissingInputError`
(e.g. evacuation without roads). The runner then skips it: every other step is
built, a warning names the skipped step and why, and the metadata row
``skipped_steps`` (JSON ``{step: reason}``, ``{}`` when none) tells the map
and the dashboard what is missing.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Protocol

import geopandas as gpd
from tqdm.auto import tqdm

from layers.area import Area
from layers.errors import MissingInputError

Layers = dict[str, gpd.GeoDataFrame]
METADATA_KEY = "metadata"
SKIPPED_KEY = "skipped_steps"


class Step(Protocol):
    """A build step: ``(area, built) -> layers``; may add ``{METADATA_KEY: {key: text}}`` rows.

    Raises MissingInputError when an input it needs is absent from the area (the step is skipped).
    """

    def __call__(self, area: Area, built: Layers, /) -> Layers: ...


def inputs_step(area: Area, built: Layers) -> Layers:
    """The area's inputs in the common schema and working CRS (roads only when the area has some)."""
    layers: Layers = {"buildings": area.buildings(), "facilities": area.facilities()}
    if area.has_roads:
        layers["roads"] = area.roads()
    for spec in area.boundaries:
        layers[f"boundaries_{spec.id}"] = area.boundary_layer(spec.id)
    return layers


def _steps() -> list[tuple[str, Step]]:
    # Imported here so a step's heavy dependencies load only when building.
    from layers.evacuation.step import evacuation_step
    from layers.hazard.step import exposure_step
    from layers.precarity.step import precarity_step

    return [
        ("inputs", inputs_step),
        ("exposure", exposure_step),
        ("evacuation", evacuation_step),
        ("precarity", precarity_step),
    ]


def run_steps(area: Area, steps: list[tuple[str, Step]], built: Layers, *, progress: bool = True) -> dict[str, str]:
    """Run ``steps`` in order, adding their layers to ``built``; returns the metadata rows.

    A step raising MissingInputError is skipped with a warning; ``skipped_steps`` says which and why.
    """
    metadata: dict[str, str] = {}
    skipped: dict[str, str] = {}
    with tqdm(steps, desc=f"build {area.name}", unit="step", disable=not progress) as bar:
        for name, step in bar:
            bar.set_postfix_str(name)
            try:
                result = dict(step(area, built))
            except MissingInputError as exc:
                skipped[name] = str(exc)
                warnings.warn(f"build {area.name}: skipped the {name} step: {exc}", UserWarning, stacklevel=2)
                continue
            metadata.update(result.pop(METADATA_KEY, {}))
            built.update(result)
    metadata[SKIPPED_KEY] = json.dumps(skipped)
    return metadata


def build_area(
    area: Area, out: str | Path | None = None, *, progress: bool = True, inputs: Layers | None = None
) -> Path:
    """Run every step for ``area`` and write all layers to ``out`` (a .gpkg).

    ``inputs`` are layers made outside the core and seen by every step, e.g.
    ``{"field_reports": geoapp.reports.query.field_reports_layer()}`` (published
    reports from the database, public view).

    Steps whose inputs the area lacks are skipped (see the module docstring).
    Returns the path written. Layers are written to a temporary file first and
    moved into place, so a failed build never leaves a half-written GeoPackage.
    """
    from layers.publish.export import write_geopackage

    out = Path(out) if out else area.default_build_path
    out.parent.mkdir(parents=True, exist_ok=True)
    built: Layers = dict(inputs or {})
    metadata = area.metadata()
    metadata.update(run_steps(area, _steps(), built, progress=progress))
    tmp = out.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    write_geopackage(built, tmp, metadata=metadata)
    tmp.replace(out)
    return out
