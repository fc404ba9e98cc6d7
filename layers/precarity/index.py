"""The precarious-neighbourhood index: explainable indicators on an H3 grid and per boundary unit.

Formula
-------
For every unit ``u`` (an H3 cell holding at least one building, or a
boundary unit) and every indicator ``i`` of :data:`INDICATORS` with a value:

* normalised score ``s_i(u) = percentile rank of d_i · x_i(u)`` among the
  units of the same kind in the area (pandas ``rank(pct=True)``, ties
  averaged), where ``d_i`` is +1 when a higher value is more precarious and
  -1 otherwise (small footprints, poor mapping). ``s`` lies in (0, 1]. An
  indicator with a single value across the area carries no information and
  is left out.
* contribution ``c_i(u) = w_i · s_i(u) / Σ_j w_j``, the sum over the
  indicators known in ``u`` (missing ones drop out and the weights are
  renormalised), with weights ``w`` from ``[precarity] weights`` in
  ``area.toml`` (default :data:`DEFAULT_WEIGHTS`).
* index ``P(u) = Σ_i c_i(u)`` in [0, 1]; ``rank`` 1 = most precarious;
  ``precarity_class`` = quantile class (quintiles by default) of ``P``.
* ``top_indicators``: the three largest contributions, largest first, so a
  popup can say why a place ranks high.

Precarious neighbourhoods are the contiguous groups of cells with
``P >= threshold``, dissolved into polygons with area, population and
buildings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from layers.errors import InvalidInputError
from layers.precarity import indicators as ind
from layers.precarity.composite import INDICATORS, TOP_N, check_weights, composite
from layers.precarity.grid import DEFAULT_RESOLUTION, h3_cell_polygons, h3_cells_of_points
from layers.precarity.walks import FACILITY_KINDS, facility_walks
from layers.settings import PRECARITY_THRESHOLD, ROAD_DISTANCE_M

DEFAULT_THRESHOLD = PRECARITY_THRESHOLD


@dataclass
class PrecarityResult:
    """Layers of the index, all in the working CRS, and what could not be computed and why."""

    cells: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame | None
    neighbourhoods: gpd.GeoDataFrame
    weights: dict[str, float]
    skipped: dict[str, str] = field(default_factory=dict)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        out = {"precarity_cells": self.cells, "precarious_neighbourhoods": self.neighbourhoods}
        if self.areas is not None:
            out["precarity_areas"] = self.areas
        return out

    def summary(self) -> dict:
        """The ``geoapp precarity --json`` object.

        ``{"cells": n, "neighbourhoods": n, "skipped": {...}, "areas": [{"name", "index", "rank", "components"}]}``.
        """
        areas = []
        if self.areas is not None:
            for row in self.areas.sort_values("rank").itertuples(index=False):
                comps = {}
                for name in INDICATORS:
                    if name not in self.areas:
                        continue
                    value = getattr(row, name)
                    score = getattr(row, f"score_{name}")
                    comps[name] = {
                        "value": None if pd.isna(value) else float(value),
                        "score": None if pd.isna(score) else round(float(score), 4),
                        "weight": self.weights.get(name, 0.0),
                    }
                cls, top = row.precarity_class, row.top_indicators
                areas.append(
                    {
                        "name": getattr(row, "name", None),
                        "index": None if pd.isna(row.precarity_index) else round(float(row.precarity_index), 4),
                        "rank": None if pd.isna(row.rank) else int(row.rank),
                        "class": None if pd.isna(cls) else str(cls),
                        "top_indicators": top.split(",") if isinstance(top, str) and top else [],
                        "components": comps,
                    }
                )
        return {
            "cells": int(len(self.cells)),
            "neighbourhoods": int(len(self.neighbourhoods)),
            "skipped": dict(self.skipped),
            "areas": areas,
        }


# -- indicators per unit ----------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """What the indicators are computed from, shared by the cells and the boundary units.

    ``walk`` holds per-building walking distances by indicator name (and ``<name>:why`` when one
    is missing) and ``far`` the per-building footway-only flags, computed once for both.
    """

    buildings: gpd.GeoDataFrame
    walk: dict
    far: np.ndarray | None = None
    people: gpd.GeoDataFrame | None = None
    hazard_classes: list[str] | None = None
    reports: gpd.GeoDataFrame | None = None


def indicator_table(units: gpd.GeoDataFrame, inputs: Inputs, unit_of, people_unit=None) -> tuple[pd.DataFrame, dict]:
    """Every indicator of :data:`INDICATORS` that the inputs allow, per unit, plus the counts behind them
    (``buildings``, ``population``, ``pop_<class>`` / ``buildings_<class>``). Returns ``(table, skipped)``.

    ``unit_of`` is the unit of each building, ``people_unit`` that of each people point.
    """
    skipped: dict[str, str] = {}
    buildings = inputs.buildings
    t = pd.DataFrame(index=units.index)
    t["area_m2"] = units.area
    t["buildings"] = ind.building_count(units, buildings, unit_of=unit_of).astype("int64")
    t["building_density_per_ha"] = ind.building_density_per_ha(units, buildings, unit_of=unit_of)
    t["built_up_ratio"] = ind.built_up_ratio(units, buildings, unit_of=unit_of)
    t["median_footprint_m2"] = ind.median_footprint_m2(units, buildings, unit_of=unit_of)
    if inputs.far is not None:
        t["share_far_from_road"] = ind.share_far_from_vehicle_road(
            units, buildings, None, unit_of=unit_of, far=inputs.far
        )
    else:
        skipped["share_far_from_road"] = "no roads given"
    for name in FACILITY_KINDS:
        if name in inputs.walk:
            t[name] = ind.walk_distance_m(units, buildings, inputs.walk[name], unit_of=unit_of)
        else:
            skipped[name] = inputs.walk.get(f"{name}:why", "no roads or no facilities of this kind")
    skipped.update(_people_indicators(t, units, inputs, unit_of, people_unit))
    t["data_completeness"] = ind.data_completeness(units, buildings, unit_of=unit_of)
    return t, skipped


def _people_indicators(t: pd.DataFrame, units, inputs: Inputs, unit_of, people_unit) -> dict[str, str]:
    """Add population, hazard shares, ``hazard_score`` and ``reports_per_1000`` to ``t``; returns what was skipped."""
    skipped: dict[str, str] = {}
    classes = inputs.hazard_classes or []
    people, buildings = inputs.people, inputs.buildings
    basis = None
    if people is not None:
        basis = ind.people_in_classes(
            units, people["people"].to_numpy(), _class_index(people, classes), classes, unit_of=people_unit
        )
        t["population"] = basis["total"]
        for c in classes:
            t[f"pop_{c}"] = basis[c]
    else:
        t["population"] = np.nan
        if classes and "hazard_class" in buildings:
            basis = ind.people_in_classes(
                units, np.ones(len(buildings)), _class_index(buildings, classes), classes, unit_of=unit_of
            )
            for c in classes:
                t[f"buildings_{c}"] = basis[c].astype("int64")
    if classes and basis is not None and (people is None or "hazard_class" in people):
        shares = ind.hazard_class_shares(basis, classes)
        prefix = "pop_share" if people is not None else "buildings_share"
        for c in classes:
            t[f"{prefix}_{c}"] = shares[c]
        t["hazard_score"] = ind.hazard_score(shares)
    else:
        skipped["hazard_score"] = "no hazard classes for people or buildings"
    if people is not None:
        t["reports_per_1000"] = ind.reports_per_1000(units, inputs.reports, t["population"])
    else:
        skipped["reports_per_1000"] = "no population to divide by"
    return skipped


def _class_index(frame: pd.DataFrame, classes: list[str]) -> np.ndarray:
    if "hazard_class" not in frame:
        return np.full(len(frame), -1, dtype=np.int64)
    col = frame["hazard_class"]
    if pd.api.types.is_integer_dtype(col):
        return col.fillna(-1).to_numpy(dtype=np.int64)
    lookup = {c: i for i, c in enumerate(classes)}
    return col.astype("string").map(lookup).fillna(-1).to_numpy(dtype=np.int64)


# -- the index ----------------------------------------------------------------------


def precarity_index(
    buildings: gpd.GeoDataFrame,
    *,
    roads: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    people: gpd.GeoDataFrame | None = None,
    hazard_classes: list[str] | None = None,
    reports: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    resolution: int = DEFAULT_RESOLUTION,
    weights: dict | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    n_classes: int = 5,
    road_distance_m: float = ROAD_DISTANCE_M,
    progress: bool = False,
) -> PrecarityResult:
    """The precarity index per H3 cell and per boundary unit, and the precarious neighbourhoods.

    Parameters
    ----------
    buildings
        Building schema (``building_type``, ``levels``) in the working metric CRS; an optional
        ``hazard_class`` column (class name) is used for hazard shares when ``people`` is None.
    roads, facilities
        Road and facility schema; roads give footway-only access and (with facilities) the walk network.
    people
        Points with ``people`` (e.g. population raster cell centres) and optional ``hazard_class``.
    hazard_classes
        Class names, least severe first.
    reports
        Published field reports (points with ``category``).
    boundaries
        Units (``area_id``, ``name``) for ``precarity_areas``.
    """
    if buildings.crs is None or not buildings.crs.is_projected:
        raise InvalidInputError("buildings must be in a projected metric CRS (the area's working CRS)")
    if len(buildings) == 0:
        raise InvalidInputError("no buildings: the precarity index needs building footprints")
    if not 0 < threshold <= 1:
        raise InvalidInputError(f"precarity threshold {threshold} must be in (0, 1]: it is compared with the index")
    weights = check_weights(weights)
    crs = buildings.crs
    buildings = buildings.reset_index(drop=True)
    roads = roads.to_crs(crs) if roads is not None and roads.crs != crs else roads
    facilities = facilities.to_crs(crs) if facilities is not None and facilities.crs != crs else facilities
    people = people.reset_index(drop=True).to_crs(crs) if people is not None else None
    with tqdm(total=5, desc="precarity", unit="stage", disable=not progress) as bar:
        # Footprint centres, computed once: every per-building step below takes points.
        centres = gpd.GeoSeries(ind.centre_points(buildings.geometry.values), crs=crs)
        cell_of = h3_cells_of_points(centres, resolution=resolution)
        cells = h3_cell_polygons(np.unique(cell_of), crs=crs)
        people_cell = h3_cells_of_points(people.geometry, resolution=resolution) if people is not None else None
        bar.update()
        far = None
        if roads is not None and len(roads):
            far = ind.far_from_vehicle_road(buildings, roads, max_distance_m=road_distance_m, centres=centres.values)
        walk = facility_walks(gpd.GeoDataFrame(geometry=centres), roads, facilities)
        inputs = Inputs(buildings, walk, far, people, hazard_classes, reports)
        bar.update()
        table, skipped = indicator_table(cells, inputs, pd.Series(cell_of), people_cell)
        cells_out = _assemble(cells[["h3_id", "geometry"]], table, weights, n_classes)
        _require_an_index(cells_out, weights, skipped)
        for name in INDICATORS:
            if name in table and table[name].nunique(dropna=True) <= 1:
                skipped[name] = "one value in every cell: carries no information here"
        bar.update()
        areas_out = None
        if boundaries is not None:
            areas_out = _areas(boundaries.to_crs(crs) if boundaries.crs != crs else boundaries, inputs, centres)
            areas_out = _assemble(areas_out[0], areas_out[1], weights, n_classes)
        bar.update()
        hoods = precarious_neighbourhoods(cells_out, threshold=threshold)
        bar.update()
    return PrecarityResult(cells_out, areas_out, hoods, weights, skipped)


def _require_an_index(cells: gpd.GeoDataFrame, weights: dict[str, float], skipped: dict[str, str]) -> None:
    """An index left empty in every cell (every weighted indicator left out) is an error, not a silent blank."""
    if len(cells) == 0 or cells["precarity_index"].notna().any():
        return
    weighted = [n for n, w in weights.items() if w > 0]
    why = "; ".join(f"{n}: {skipped.get(n, 'no value in any cell')}" for n in weighted)
    raise InvalidInputError(
        f"no weighted indicator can be computed here ({why}); give the missing inputs or weight other indicators"
    )


def _areas(units: gpd.GeoDataFrame, inputs: Inputs, centres: gpd.GeoSeries) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The boundary units (``area_id``, ``name``, geometry) and their indicator table."""
    units = units.set_index(pd.RangeIndex(len(units)))
    b_unit = ind.units_of_points(centres, units)
    p_unit = ind.units_of_points(inputs.people.geometry, units) if inputs.people is not None else None
    table, _ = indicator_table(units, inputs, b_unit, p_unit)
    keep = [c for c in ("area_id", "name") if c in units]
    return units[keep + ["geometry"]], table


def _assemble(
    units: gpd.GeoDataFrame, table: pd.DataFrame, weights: dict[str, float], n_classes: int
) -> gpd.GeoDataFrame:
    comp = composite(table, weights, n_classes=n_classes)
    out = pd.concat([units.drop(columns="geometry"), table, comp], axis=1)
    # Unreachable walks rank as farthest but are written as missing (GIS files and JSON have no infinity).
    for name in FACILITY_KINDS:
        if name in out:
            out[name] = out[name].replace([np.inf, -np.inf], np.nan)
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=units.geometry.to_numpy(), crs=units.crs)


def precarious_neighbourhoods(cells: gpd.GeoDataFrame, *, threshold: float = DEFAULT_THRESHOLD) -> gpd.GeoDataFrame:
    """Contiguous cells with ``precarity_index >= threshold`` dissolved into polygons.

    Columns: ``neighbourhood_id`` (1 = largest population, else most buildings), ``cells``,
    ``area_ha``, ``population`` (NaN when unknown), ``buildings``, ``index_mean`` (mean cell index),
    ``index_max``, ``top_indicators`` (most frequent among the cells' first indicators).
    """
    hot = cells[(cells["precarity_index"] >= threshold).fillna(False).to_numpy()]
    cols = [
        "neighbourhood_id",
        "cells",
        "area_ha",
        "population",
        "buildings",
        "index_mean",
        "index_max",
        "top_indicators",
    ]
    if hot.empty:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=cells.crs)
    merged = shapely.get_parts(shapely.union_all(hot.geometry.values))
    parts = gpd.GeoDataFrame(geometry=merged, crs=cells.crs)
    pts = shapely.point_on_surface(hot.geometry.values)
    src, part = parts.sindex.query(pts, predicate="within")
    group = np.full(len(hot), -1)
    group[src] = part
    hot = hot.assign(_part=group)
    first = hot["top_indicators"].str.split(",").str[0]
    agg = hot.groupby("_part").agg(
        cells=("h3_id", "size"),
        population=("population", lambda s: s.sum(min_count=1)),
        buildings=("buildings", "sum"),
        index_mean=("precarity_index", "mean"),
        index_max=("precarity_index", "max"),
    )
    agg["top_indicators"] = first.groupby(hot["_part"]).agg(lambda s: ",".join(s.value_counts().index[:TOP_N]))
    parts = parts.join(agg)
    parts["area_ha"] = parts.area / 10_000.0
    parts = parts.sort_values(["population", "buildings"], ascending=False, na_position="last").reset_index(drop=True)
    parts["neighbourhood_id"] = np.arange(1, len(parts) + 1)
    parts["cells"] = parts["cells"].astype("int64")
    parts["buildings"] = parts["buildings"].astype("int64")
    return parts[cols + ["geometry"]]
