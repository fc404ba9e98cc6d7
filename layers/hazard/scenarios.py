"""Exposure for every hazard scenario of an area, and what changes between scenarios.

:func:`scenario_results` runs the exposure of each scenario; :func:`scenario_diff`
gives, per unit, the people and buildings *newly* affected (not affected in the
first scenario, affected in the second), those no longer affected, and the net
change of every headline figure. The build step is :mod:`layers.hazard.step`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.area import Area
from layers.errors import InvalidInputError, MissingInputError
from layers.hazard.by_area import people_units, unit_of
from layers.hazard.exposure import ExposureResult, exposure
from layers.hazard.sources import open_hazard

DIFF_FIGURES = ("pop_affected", "displaced", "buildings_affected", "roads_affected_km", "facilities_affected")


def scenario_results(
    area: Area, *, buildings=None, roads=None, facilities=None, progress: bool = False
) -> dict[str, ExposureResult]:
    """One :class:`ExposureResult` per scenario id (no units aggregated yet)."""
    from layers.hazard.population import read_people

    people = area.population
    pop = (
        None if people is None else read_people(people.path, field=people.field, units=people.units, scale=people.scale)
    )
    given = {"buildings": buildings, "roads": roads, "facilities": facilities}
    layers = {name: _area_layer(area, name) if frame is None else frame for name, frame in given.items()}
    # An area without (say) facilities is normal: leave empty layers out rather than warn.
    layers = {name: None if x is None or len(x) == 0 else x for name, x in layers.items()}
    if pop is None and all(x is None for x in layers.values()):
        raise MissingInputError(
            f"area '{area.name}' has no buildings, roads, facilities or population to assess", input="buildings"
        )
    out = {}
    for spec in area.hazards:
        hazard = open_hazard(spec)
        out[spec.id] = exposure(
            hazard,
            population=pop,
            displacement=spec.displacement or None,
            crs=area.crs,
            progress=progress,
            buildings=layers["buildings"],
            roads=layers["roads"],
            facilities=layers["facilities"],
        )
    return out


def _area_layer(area: Area, name: str) -> gpd.GeoDataFrame | None:
    """The area's ``name`` layer (buildings, roads, facilities), None when the area has none."""
    try:
        return getattr(area, name)()
    except MissingInputError:
        return None


def scenario_diff(base: ExposureResult, other: ExposureResult, units: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per unit: ``pop_newly_affected``, ``pop_no_longer_affected``, ``buildings_newly_affected``,
    ``buildings_no_longer_affected`` and ``<figure>_change`` (other − base) of :data:`DIFF_FIGURES`.

    ``base.areas`` and ``other.areas`` must hold the same units (from :func:`aggregate`).
    People are compared point by point when both scenarios place them the same way (same grid);
    otherwise the newly affected are the net increase where positive.
    """
    if base.areas is None or other.areas is None:
        raise InvalidInputError("scenario_diff compares per-unit figures: aggregate both results by the units first")
    a, b = base.areas.reset_index(drop=True), other.areas.reset_index(drop=True)
    out = pd.DataFrame({"area_id": a["area_id"], "name": a["name"]})
    n = len(out)
    if base.people is not None and other.people is not None:
        pa, pb = base.people, other.people
        same = len(pa) == len(pb) and np.array_equal(pa.geometry.x.to_numpy(), pb.geometry.x.to_numpy())
        if same:
            unit = people_units(pa, units.to_crs(base.crs).reset_index(drop=True))
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
        unit = unit_of(base.buildings.geometry, units.to_crs(base.crs).reset_index(drop=True))
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
