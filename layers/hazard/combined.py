"""Several hazards in one area: per neighbourhood, the people and buildings exposed to at least one, and to each.

InaSAFE never combined hazards (issue #3370, closed without it; #769 asked for per-feature columns
for each hazard and a combined one). Here every scenario's hazard is sampled at the same people
points, so "at least one" is a true union, never a sum that counts twice:

* people: the population grid's cells, split k×k (k from the finest hazard raster, as
  :func:`layers.hazard.population.people_on_hazard` does for one hazard) and each sub-cell centre
  classed in every hazard; a point counts for a hazard when it falls in any of its classes;
* buildings: a building counts for a hazard when its exposure gave it a class in that scenario.

The table has one row per unit of the area's first boundary set: ``pop_total``, ``pop_any_hazard``,
``pop_<scenario>``, ``pop_several_hazards`` (two or more), ``buildings_total``,
``buildings_any_hazard``, ``buildings_<scenario>``, ``hazards_here`` (scenario ids with anyone exposed),
``exposed_by_hazard`` (people per scenario as text, for a map popup).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from layers.hazard.by_area import people_units, unit_of
from layers.hazard.population import PopulationGrid, _raster_class_at, _zones_class_at, people_on_hazard
from layers.hazard.sources import Hazard, HazardRaster, cell_size_m


def hazard_flags(points: gpd.GeoDataFrame, hazards: Mapping[str, Hazard]) -> dict[str, np.ndarray]:
    """Per scenario: whether each point lies in any class of its hazard."""
    return {sid: classes_at(points, hazard) >= 0 for sid, hazard in hazards.items()}


def classes_at(points: gpd.GeoDataFrame, hazard: Hazard) -> np.ndarray:
    """Class index of ``hazard`` at each point (-1: in no class)."""
    x, y = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    if isinstance(hazard, HazardRaster):
        hx, hy = (
            (x, y)
            if points.crs.equals(hazard.crs)
            else Transformer.from_crs(points.crs, hazard.crs, always_xy=True).transform(x, y)
        )
        return _raster_class_at(hazard, np.asarray(hx), np.asarray(hy))
    return _zones_class_at(hazard, x, y, points.crs)


def weighted_people(
    population: PopulationGrid, hazards: Mapping[str, Hazard], weights: Mapping[str, float], *, crs=None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """People points for an index weighting several hazards: the people points once per hazard, with
    ``people × w_h / Σw`` and ``hazard_class`` on a common scale of K = lcm(K_h) classes (class c of
    hazard h becomes ((c + 1)·K/K_h) − 1), so a score Σ share_k·(k + 1)/K over them is exactly the
    weighted mean of each hazard's own score, and the people still add up to the population."""
    rasters = [h for h in hazards.values() if isinstance(h, HazardRaster)]
    finest = min(rasters, key=cell_size_m) if rasters else next(iter(hazards.values()))
    points, _ = people_on_hazard(population, finest)
    points.attrs = {}  # the grid of one copy does not describe the stacked copies
    k = math.lcm(*(len(hazards[s].classes.names) for s in weights))
    total = float(sum(weights.values()))
    parts = []
    for sid, w in weights.items():
        cls = classes_at(points, hazards[sid]).astype(np.int64)
        step = k // len(hazards[sid].classes.names)
        common = np.where(cls >= 0, (cls + 1) * step - 1, -1).astype(np.int16)
        parts.append(points.assign(people=points["people"].to_numpy() * (w / total), hazard_class=common))
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=points.crs)
    if crs is not None:
        out = out.to_crs(crs)
    return out, [f"severity_{i}" for i in range(1, k + 1)]


def combined_exposure(
    hazards: Mapping[str, Hazard],
    units: gpd.GeoDataFrame,
    *,
    population: PopulationGrid | None = None,
    buildings: Mapping[str, gpd.GeoDataFrame] | None = None,
) -> gpd.GeoDataFrame:
    """The combined view: one row per unit (see the module docstring). ``buildings``: each scenario's
    ``exposure_buildings`` (``building_id``, ``hazard_class``, same buildings in each)."""
    units = units.reset_index(drop=True)
    n = len(units)
    t = pd.DataFrame(
        {
            "area_id": units["area_id"].to_numpy() if "area_id" in units else np.arange(1, n + 1),
            "name": units["name"].to_numpy() if "name" in units else None,
        }
    )
    ids = list(hazards)
    here = np.zeros((n, len(ids)), dtype=bool)
    if population is not None:
        rasters = [h for h in hazards.values() if isinstance(h, HazardRaster)]
        finest = min(rasters, key=cell_size_m) if rasters else next(iter(hazards.values()))
        points, _ = people_on_hazard(population, finest)
        flags = hazard_flags(points, hazards)
        unit = people_units(points, units.to_crs(points.crs))
        ok = unit >= 0
        w = points["people"].to_numpy()

        def total(mask) -> np.ndarray:
            return np.bincount(unit[ok], weights=np.where(mask, w, 0.0)[ok], minlength=n)

        hits = np.column_stack([flags[s] for s in ids]) if ids else np.zeros((len(w), 0), bool)
        t["pop_total"] = total(np.ones(len(w), bool))
        t["pop_any_hazard"] = total(hits.any(axis=1))
        t["pop_several_hazards"] = total(hits.sum(axis=1) >= 2)
        for j, sid in enumerate(ids):
            t[f"pop_{sid}"] = total(hits[:, j])
            here[:, j] |= t[f"pop_{sid}"].to_numpy() > 0
    if buildings:
        first = next(iter(buildings.values()))
        bunit = unit_of(first.geometry, units.to_crs(first.crs))
        ok = bunit >= 0
        hit_any = np.zeros(len(first), bool)
        t["buildings_total"] = np.bincount(bunit[ok], minlength=n).astype(np.int64)
        for sid in ids:
            b = buildings.get(sid)
            if b is None:
                continue
            hit = first[["building_id"]].merge(b[["building_id", "hazard_class"]], on="building_id", how="left")
            flag = hit["hazard_class"].notna().to_numpy()
            hit_any |= flag
            t[f"buildings_{sid}"] = np.bincount(bunit[ok], weights=flag[ok], minlength=n).astype(np.int64)
        t["buildings_any_hazard"] = np.bincount(bunit[ok], weights=hit_any[ok], minlength=n).astype(np.int64)
    t["hazards_here"] = [",".join(s for s, h in zip(ids, row, strict=True) if h) for row in here]
    if population is not None:  # the per-scenario figures in one line, for a map popup
        t["exposed_by_hazard"] = [
            ", ".join(f"{s}: {v:,.0f}" for s, v in zip(ids, vals, strict=True))
            for vals in t[[f"pop_{s}" for s in ids]].to_numpy()
        ]
    return gpd.GeoDataFrame(t, geometry=units.geometry.to_numpy(), crs=units.crs)


def combined_summary(table: pd.DataFrame, ids: list[str]) -> dict:
    """Whole-area totals of the combined view (for the dashboard and the metadata)."""
    out: dict = {"scenarios": ids}
    for key in ("pop_total", "pop_any_hazard", "pop_several_hazards", "buildings_total", "buildings_any_hazard"):
        if key in table:
            out[key] = round(float(table[key].sum()), 3)
    for prefix in ("pop", "buildings"):
        per = {s: round(float(table[f"{prefix}_{s}"].sum()), 3) for s in ids if f"{prefix}_{s}" in table}
        if per:
            out[f"{prefix}_by_scenario"] = per
    return out
