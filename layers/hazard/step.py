"""The exposure build step: every hazard scenario of an area, per unit of every boundary set.

It writes ``exposure_buildings``, ``exposure_roads``, ``exposure_facilities``
(column ``scenario``) and ``exposure_areas`` (columns ``scenario`` and
``boundary``: one row per unit of every boundary set), plus
``exposure_scenario_diff``: per unit and per pair (first scenario → each other
one) what :func:`layers.hazard.scenarios.scenario_diff` gives; with two scenarios or more,
``exposure_combined`` (:mod:`layers.hazard.combined`: per unit, people and buildings exposed to at
least one hazard and to each). Each scenario's
headline figures go to the GeoPackage metadata exactly as ``geoapp exposure --json``
gives them, so the dashboard shows the analysis figures.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import pandas as pd

from layers.area import Area
from layers.build import METADATA_KEY, Layers
from layers.hazard.by_area import aggregate
from layers.hazard.combined import combined_exposure, combined_summary
from layers.hazard.exposure import ExposureResult
from layers.hazard.scenarios import scenario_diff, scenario_results
from layers.hazard.sources import open_hazard


def _concat(parts: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)


def _per_unit(
    area: Area, built: Layers, results: dict[str, ExposureResult]
) -> tuple[list[gpd.GeoDataFrame], list[gpd.GeoDataFrame]]:
    """``exposure_areas`` rows of every boundary set and scenario, and the differences first → each other."""
    areas, diffs = [], []
    ids = list(results)
    for spec in area.boundaries:
        units = built.get(f"boundaries_{spec.id}")
        units = area.boundary_layer(spec.id) if units is None else units
        for sid, result in results.items():
            aggregate(result, units)
            areas.append(result.layers(scenario=sid, boundary=spec.id)["exposure_areas"])
        for sid in ids[1:]:
            d = scenario_diff(results[ids[0]], results[sid], units)
            d.insert(0, "boundary", spec.id)
            d.insert(1, "scenario_from", ids[0])
            d.insert(2, "scenario_to", sid)
            geoms = results[sid].areas
            assert geoms is not None
            diffs.append(gpd.GeoDataFrame(d, geometry=geoms.geometry.to_numpy(), crs=geoms.crs))
    return areas, diffs


def exposure_step(area: Area, built: Layers) -> Layers:
    """The build step: every scenario's exposure layers, per unit of every boundary set, and their differences."""
    if not area.hazards:
        return {}
    results = scenario_results(
        area, buildings=built.get("buildings"), roads=built.get("roads"), facilities=built.get("facilities")
    )
    areas, diffs = _per_unit(area, built, results)
    frames: dict[str, list[gpd.GeoDataFrame]] = {"exposure_areas": areas} if areas else {}
    for sid, result in results.items():
        for name, frame in result.layers(scenario=sid).items():
            if name != "exposure_areas":
                frames.setdefault(name, []).append(frame)
    out: dict[str, Any] = {name: _concat(parts) for name, parts in frames.items()}
    # The headline figures exactly as `geoapp exposure --json` gives them (per-unit rows are layers already).
    out[METADATA_KEY] = {
        f"exposure_summary:{sid}": json.dumps({k: v for k, v in result.summary().items() if k != "by_area"})
        for sid, result in results.items()
    }
    if diffs:
        out["exposure_scenario_diff"] = _concat(diffs)
    if len(results) >= 2 and area.boundaries:
        combined = _combined(area, built, results)
        out["exposure_combined"] = combined
        out[METADATA_KEY]["exposure_combined"] = json.dumps(combined_summary(combined, list(results)))
    return out


def _combined(area: Area, built: Layers, results: dict[str, ExposureResult]) -> gpd.GeoDataFrame:
    """Per unit of the first boundary set: people and buildings exposed to at least one scenario, and to each."""
    from layers.hazard.population import PopulationGrid, read_people

    spec = area.boundaries[0]
    units = built.get(f"boundaries_{spec.id}")
    units = area.boundary_layer(spec.id) if units is None else units
    people = area.population
    pop = None
    if people is not None:
        read = read_people(people.path, field=people.field, units=people.units, scale=people.scale)
        pop = read if isinstance(read, PopulationGrid) else None  # census polygons: buildings only
    hazards = {h.id: open_hazard(h) for h in area.hazards if h.id in results}
    buildings = {sid: r.buildings for sid, r in results.items() if r.buildings is not None}
    table = combined_exposure(hazards, units.to_crs(area.crs), population=pop, buildings=buildings or None)
    table.insert(0, "boundary", spec.id)
    return table
