"""Exposure for every hazard scenario of an area, and what changes between scenarios.

The build step :func:`exposure_step` writes ``exposure_buildings``,
``exposure_roads``, ``exposure_facilities`` (column ``scenario``) and
``exposure_areas`` (columns ``scenario`` and ``boundary``: one row per unit of
every boundary set), plus ``exposure_scenario_diff``: per unit and per pair
(first scenario → each other one) the people and buildings *newly* affected
(not affected in the first, affected in the second), those no longer
affected, and the net change of every headline figure.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.hazard.exposure import ExposureResult, aggregate, exposure
from layers.hazard.sources import open_hazard

from layers.area import Area

DIFF_FIGURES = ("pop_affected", "displaced", "buildings_affected", "roads_affected_km", "facilities_affected")


def scenario_results(
    area: Area, *, buildings=None, roads=None, facilities=None, progress: bool = False
) -> dict[str, ExposureResult]:
    """One :class:`ExposureResult` per scenario id (no units aggregated yet)."""
    from layers.hazard.population import read_census, read_population

    pop = None
    if area.population is not None:
        spec = area.population
        pop = (
            read_census(spec.path, field=spec.field)
            if spec.field
            else read_population(spec.path, units=spec.units, scale=spec.scale)
        )
    buildings = area.buildings() if buildings is None else buildings
    if roads is None and (area.roads_path or area.osm_path):
        roads = area.roads()
    facilities = area.facilities() if facilities is None else facilities
    # An area without (say) facilities is normal: leave empty layers out rather than warn.
    buildings, roads, facilities = (None if x is None or len(x) == 0 else x for x in (buildings, roads, facilities))
    out = {}
    for spec in area.hazards:
        hazard = open_hazard(spec)
        out[spec.id] = exposure(
            hazard,
            buildings=buildings,
            roads=roads,
            facilities=facilities,
            population=pop,
            displacement=spec.displacement or None,
            crs=area.crs,
            progress=progress,
        )
    return out


def scenario_diff(base: ExposureResult, other: ExposureResult, units: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per unit: ``pop_newly_affected``, ``pop_no_longer_affected``, ``buildings_newly_affected``,
    ``buildings_no_longer_affected`` and ``<figure>_change`` (other − base) of :data:`DIFF_FIGURES`.

    ``base.areas`` and ``other.areas`` must hold the same units (from :func:`aggregate`).
    People are compared point by point when both scenarios place them the same way (same grid);
    otherwise the newly affected are the net increase where positive.
    """
    a, b = base.areas.reset_index(drop=True), other.areas.reset_index(drop=True)
    out = pd.DataFrame({"area_id": a["area_id"], "name": a["name"]})
    n = len(out)
    if base.people is not None and other.people is not None:
        pa, pb = base.people, other.people
        same = len(pa) == len(pb) and np.array_equal(pa.geometry.x.to_numpy(), pb.geometry.x.to_numpy())
        if same:
            from layers.hazard.exposure import _unit_of
            from layers.hazard.population import units_on_grid

            grid = pa.attrs.get("grid")
            units_r = units.to_crs(base.crs).reset_index(drop=True)
            unit = units_on_grid(grid, units_r) if grid is not None and len(grid.row) == len(pa) else None
            if unit is None:
                unit = _unit_of(pa.geometry, units_r)
            hit_a, hit_b = pa["hazard_class"].notna().to_numpy(), pb["hazard_class"].notna().to_numpy()
            ok = unit >= 0
            w = pa["people"].to_numpy()
            out["pop_newly_affected"] = np.bincount(unit[ok], weights=(w * (~hit_a & hit_b))[ok], minlength=n)
            out["pop_no_longer_affected"] = np.bincount(unit[ok], weights=(w * (hit_a & ~hit_b))[ok], minlength=n)
        else:
            change = (b["pop_affected"] - a["pop_affected"]).to_numpy()
            out["pop_newly_affected"] = np.clip(change, 0, None)
            out["pop_no_longer_affected"] = np.clip(-change, 0, None)
    if base.buildings is not None and other.buildings is not None:
        from layers.hazard.exposure import _unit_of

        units_r = units.to_crs(base.crs).reset_index(drop=True)
        unit = _unit_of(base.buildings.geometry, units_r)
        ha, hb = base.buildings["hazard_class"].notna().to_numpy(), other.buildings["hazard_class"].notna().to_numpy()
        ok = unit >= 0
        out["buildings_newly_affected"] = np.bincount(unit[ok], weights=(~ha & hb)[ok], minlength=n).astype(np.int64)
        out["buildings_no_longer_affected"] = np.bincount(unit[ok], weights=(ha & ~hb)[ok], minlength=n).astype(
            np.int64
        )
    for fig in DIFF_FIGURES:
        if fig in a and fig in b:
            out[f"{fig}_change"] = (b[fig] - a[fig]).to_numpy()
    return out


def exposure_step(area: Area, built: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """The build step: every scenario's exposure layers, per unit of every boundary set, and their differences."""
    if not area.hazards:
        return {}
    results = scenario_results(
        area, buildings=built.get("buildings"), roads=built.get("roads"), facilities=built.get("facilities")
    )
    frames: dict[str, list[gpd.GeoDataFrame]] = {}
    diffs = []
    ids = list(results)
    for spec in area.boundaries:
        units = built.get(f"boundaries_{spec.id}")
        units = area.boundary_layer(spec.id) if units is None else units
        for sid, result in results.items():
            aggregate(result, units)
            for name, frame in result.layers(scenario=sid, boundary=spec.id).items():
                if name == "exposure_areas":
                    frames.setdefault(name, []).append(frame)
        # Differences: first scenario against each other one.
        for sid in ids[1:]:
            d = scenario_diff(results[ids[0]], results[sid], units)
            d.insert(0, "boundary", spec.id)
            d.insert(1, "scenario_from", ids[0])
            d.insert(2, "scenario_to", sid)
            diffs.append(
                gpd.GeoDataFrame(d, geometry=results[sid].areas.geometry.to_numpy(), crs=results[sid].areas.crs)
            )
    for sid, result in results.items():
        for name, frame in result.layers(scenario=sid).items():
            if name != "exposure_areas":
                frames.setdefault(name, []).append(frame)
    out = {
        name: gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs) for name, parts in frames.items()
    }
    # The headline figures exactly as `geoapp exposure --json` gives them (per-unit rows are layers already).
    out["metadata"] = {
        f"exposure_summary:{sid}": json.dumps({k: v for k, v in result.summary().items() if k != "by_area"})
        for sid, result in results.items()
    }
    if diffs:
        out["exposure_scenario_diff"] = gpd.GeoDataFrame(pd.concat(diffs, ignore_index=True), crs=diffs[0].crs)
    return out
