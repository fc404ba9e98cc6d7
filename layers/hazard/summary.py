"""The ``geoapp exposure --json`` object of one exposure result: headline figures per class, type and unit.

Keys for inputs not given are omitted; figures are rounded to 3 decimals
(people and kilometres) and counts are integers, so the JSON reads the same
in every run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from layers.hazard.kinds import get_kind
from layers.hazard.needs import minimum_needs

if TYPE_CHECKING:
    import geopandas as gpd

    from layers.hazard.exposure import ExposureResult


def _r(x: float) -> float:
    return round(float(x), 3)


def _py(v):
    """A JSON-ready Python value of a table cell (NaN and NA become None)."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if np.isnan(v) else _r(float(v))
    if v is pd.NA or v is None:
        return None
    return v


def _counts(col: pd.Series, classes: list[str]) -> dict[str, int]:
    vc = col.value_counts()
    return {c: int(vc.get(c, 0)) for c in classes}


def _displaced(by_class: dict[str, float], rates: dict[str, float], kind: str = "flood") -> float:
    """People displaced: Σ (people in class − deaths in class) × displacement rate of the class (the kind's rule)."""
    return float(get_kind(kind).displaced(by_class, rates))


def summarise(result: ExposureResult) -> dict:
    """The ``geoapp exposure --json`` object; keys for inputs not given are omitted."""
    kind = get_kind(result.kind)
    out: dict = {"kind": kind.key, "units": kind.units, "classes": list(result.classes)}
    if result.people is not None:
        out["population"] = _population(result)
    if result.buildings is not None:
        out["buildings"] = _buildings(result.buildings, result.classes)
        if "damage_class" in result.buildings:
            out["buildings"]["by_damage"] = _counts(result.buildings["damage_class"], ["low", "medium", "high"])
    if result.roads is not None:
        out["roads"] = _roads(result.roads, result.classes, result.roads_total_km)
    if result.facilities is not None:
        out["facilities"] = _facilities(result.facilities, result.classes, kind.point_column)
    if result.areas is not None:
        cols = [c for c in result.areas.columns if c not in ("geometry", "boundary", "scenario")]
        rows = result.areas[cols].to_dict(orient="records")
        out["by_area"] = [{k: _py(v) for k, v in row.items()} for row in rows]
    return out


def _population(result: ExposureResult) -> dict:
    p = result.people
    assert p is not None
    by_class = {c: _r(float(p.loc[p["hazard_class"] == c, "people"].sum())) for c in result.classes}
    kind = get_kind(result.kind)
    dead = kind.fatalities(by_class)
    gone = _displaced(by_class, result.displacement, result.kind)
    pop = {
        "total": _r(float(p["people"].sum())),
        "affected": _r(float(p.loc[p["hazard_class"].notna(), "people"].sum())),
        "by_class": by_class,
        "displaced": _r(gone),
        "method": result.population_method,
    }
    if dead:  # earthquake: deaths per model, per MMI class; displaced used the default model's
        pop["fatalities"] = {m: _r(float(np.sum(list(f.values())))) for m, f in dead.items()}
        pop["fatalities_by_class"] = {m: {c: float(v) for c, v in f.items()} for m, f in dead.items()}
        pop["fatality_model"] = kind.default_fatality_model
    if result.needs != "none":
        pop["needs"] = minimum_needs(gone, profile=result.needs)
        pop["needs_profile"] = result.needs
    return pop


def _buildings(b: gpd.GeoDataFrame, classes: list[str]) -> dict:
    by_class = _counts(b["hazard_class"], classes)
    by_type = {
        str(t): _counts(g["hazard_class"], classes)
        for t, g in b.groupby(b["building_type"].astype("string").fillna("unknown"), sort=True)
    }
    return {"total": int(len(b)), "affected": int(sum(by_class.values())), "by_class": by_class, "by_type": by_type}


def _roads(r: gpd.GeoDataFrame, classes: list[str], total_km: float | None) -> dict:
    km = {c: _r(r.loc[r["hazard_class"] == c, "length_m"].sum() / 1000) for c in classes}
    by_road = {
        str(rc): {c: _r(g.loc[g["hazard_class"] == c, "length_m"].sum() / 1000) for c in classes}
        for rc, g in r.groupby(r["road_class"].astype("string").fillna("unknown"), sort=True)
    }
    return {
        "total_km": _r(total_km or 0.0),
        "affected_km": _r(sum(km.values())),
        "by_class_km": km,
        "by_road_class_km": by_road,
    }


def _facilities(f: gpd.GeoDataFrame, classes: list[str], value_key: str = "depth_m") -> dict:
    cats = f["category"].astype("string").fillna("other")
    hit = f[f["hazard_class"].notna()]
    # Most severe class first, then by category and id: the list a planner reads top down.
    rank = {c: i for i, c in enumerate(classes)}
    hit = hit.assign(_rank=hit["hazard_class"].map(rank)).sort_values(
        ["_rank", "category", "facility_id"], ascending=[False, True, True]
    )
    at_risk = [
        {
            "facility_id": _py(r.facility_id),
            "name": None if pd.isna(r.name) else str(r.name),
            "category": None if pd.isna(r.category) else str(r.category),
            "hazard_class": str(r.hazard_class),
            value_key: None if pd.isna(r.depth_m) else _r(r.depth_m),
        }
        for r in hit.itertuples()
    ]
    return {
        "total": int(len(f)),
        "affected": int(len(hit)),
        "by_class": _counts(f["hazard_class"], classes),
        "by_category": {str(c): _counts(g["hazard_class"], classes) for c, g in f.groupby(cats, sort=True)},
        "at_risk": at_risk,
    }
