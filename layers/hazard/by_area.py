"""Exposure figures per unit of a boundary set (admin areas, neighbourhoods): the ``exposure_areas`` layer.

Buildings and facilities count in the unit holding their representative point,
people points in the unit holding them (by grid cell when they came from one),
census pieces and roads are cut by the units and counted by the part inside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.hazard.kinds import get_kind
from layers.hazard.needs import PROFILES
from layers.hazard.population import units_on_grid

if TYPE_CHECKING:
    from layers.hazard.exposure import ExposureResult


def unit_of(geoms: gpd.GeoSeries, units: gpd.GeoDataFrame) -> np.ndarray:
    """Row of ``units`` holding each geometry's representative point (-1 = none)."""
    from layers.precarity.indicators import units_of_points

    u = units_of_points(geoms.reset_index(drop=True), units)
    return u.fillna(-1).to_numpy(dtype=np.int64)


def people_units(people: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> np.ndarray:
    """Row of ``units`` holding each people point (-1 = none); by grid cell when the points came from a grid."""
    grid = people.attrs.get("grid")
    unit = units_on_grid(grid, units) if grid is not None and len(grid.row) == len(people) else None
    return unit_of(people.geometry, units) if unit is None else unit


def _sum_by(unit: np.ndarray, values, n: int) -> np.ndarray:
    ok = unit >= 0
    return np.bincount(unit[ok], weights=np.asarray(values, np.float64)[ok], minlength=n)


def _cut_by_units(layer: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (row of layer, unit, geometry of the part inside the unit)."""
    g = layer.geometry.to_numpy()
    ug = units.geometry.to_numpy()
    src, dst = shapely.STRtree(ug).query(g, predicate="intersects")
    parts = g[src].copy()
    # Most features lie in one unit: keep them whole, cut only the others.
    single = np.bincount(src, minlength=len(g))[src] == 1
    single[single] = shapely.within(g[src[single]], ug[dst[single]])
    parts[~single] = shapely.intersection(g[src[~single]], ug[dst[~single]])
    return src, dst, parts


def _people(t: pd.DataFrame, result: ExposureResult, units: gpd.GeoDataFrame) -> None:
    p, n, classes = result.people, len(t), result.classes
    assert p is not None
    if (p.geom_type == "Point").all():
        unit = people_units(p, units)
        src = np.flatnonzero(unit >= 0)
        unit_of_, w, cls = unit[src], p["people"].to_numpy()[src], p["hazard_class"].to_numpy()[src]
    else:  # census pieces: area-weighted share of each piece in each unit
        src, unit_of_, parts = _cut_by_units(p, units)
        w = p["people"].to_numpy()[src] * shapely.area(parts) / p.area.to_numpy()[src]
        cls = p["hazard_class"].to_numpy()[src]
    t["pop_total"] = np.bincount(unit_of_, weights=w, minlength=n)
    cls = pd.array(cls, dtype="string")
    t["pop_affected"] = np.bincount(unit_of_, weights=np.where(pd.notna(cls), w, 0.0), minlength=n)
    for c in classes:
        t[f"pop_{c}"] = np.bincount(unit_of_, weights=np.where((cls == c).fillna(False), w, 0.0), minlength=n)
    kind = get_kind(result.kind)
    by_class = {c: t[f"pop_{c}"].to_numpy() for c in classes}
    dead = kind.fatalities(by_class).get(kind.default_fatality_model or "")
    if dead is not None:  # earthquake: deaths of the default model, per unit
        t["fatalities"] = sum(dead.values())
    t["displaced"] = kind.displaced(by_class, result.displacement) if classes else 0.0
    if result.needs != "none":
        for key, rate in PROFILES[result.needs].items():  # weekly needs of each unit's displaced
            t[f"needs_{key}"] = np.ceil(np.round(t["displaced"].to_numpy() * rate, 6)).astype(np.int64)


def _buildings(t: pd.DataFrame, b: gpd.GeoDataFrame, units: gpd.GeoDataFrame, classes: list[str]) -> None:
    n = len(t)
    # "_unit": computed batch by batch by layers/hazard/chunked.py, whose kept rows have no footprints.
    unit = b["_unit"].to_numpy() if "_unit" in b else unit_of(b.geometry, units)
    t["buildings_total"] = _sum_by(unit, np.ones(len(b)), n).astype(np.int64)
    t["buildings_affected"] = _sum_by(unit, b["hazard_class"].notna().to_numpy(), n).astype(np.int64)
    for c in classes:
        t[f"buildings_{c}"] = _sum_by(unit, (b["hazard_class"] == c).fillna(False).to_numpy(), n).astype(np.int64)


def _roads(t: pd.DataFrame, r: gpd.GeoDataFrame, units: gpd.GeoDataFrame, classes: list[str]) -> None:
    n = len(t)
    src, dst, parts = _cut_by_units(r, units)
    km = shapely.length(parts) / 1000.0
    t["roads_km"] = np.bincount(dst, weights=km, minlength=n)
    rc = pd.array(r["hazard_class"].to_numpy()[src], dtype="string")
    t["roads_affected_km"] = np.bincount(dst, weights=np.where(pd.notna(rc), km, 0.0), minlength=n)
    for c in classes:
        t[f"roads_{c}_km"] = np.bincount(dst, weights=np.where((rc == c).fillna(False), km, 0.0), minlength=n)


def _facilities(t: pd.DataFrame, f: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> None:
    n = len(t)
    unit = unit_of(f.geometry, units)
    t["facilities_total"] = _sum_by(unit, np.ones(len(f)), n).astype(np.int64)
    hit = f["hazard_class"].notna().to_numpy()
    t["facilities_affected"] = _sum_by(unit, hit, n).astype(np.int64)
    # The list a planner asks for: "hospital: 2, school: 1" per unit.
    listed = hit & (unit >= 0)
    fa = pd.DataFrame({"u": unit[listed], "cat": f["category"].astype("string").fillna("other").to_numpy()[listed]})
    listing = fa.groupby(["u", "cat"]).size().reset_index(name="k")
    listing["txt"] = listing["cat"] + ": " + listing["k"].astype(str)
    text = listing.groupby("u")["txt"].agg(", ".join)
    t["facilities_at_risk"] = pd.Series(text).reindex(range(n)).fillna("").to_numpy()


def aggregate(result: ExposureResult, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One row per unit (``area_id``, ``name``) with every figure of ``result``; also set as ``result.areas``."""
    units = units.to_crs(result.crs).reset_index(drop=True)
    n = len(units)
    t = pd.DataFrame(
        {
            "area_id": units["area_id"].to_numpy() if "area_id" in units else np.arange(1, n + 1),
            "name": units["name"].to_numpy() if "name" in units else None,
        }
    )
    if result.people is not None:
        _people(t, result, units)
    if result.buildings is not None:
        _buildings(t, result.buildings, units, result.classes)
    if result.roads is not None:
        _roads(t, result.roads, units, result.classes)
    if result.facilities is not None:
        _facilities(t, result.facilities, units)
    areas = gpd.GeoDataFrame(t, geometry=units.geometry.to_numpy(), crs=units.crs)
    result.areas = areas
    return areas
