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
import h3.api.numpy_int as h3
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from tqdm.auto import tqdm

from layers.errors import InvalidInputError
from layers.precarity import indicators as ind

# name: (direction, title). Direction +1: higher = more precarious.
INDICATORS: dict[str, tuple[int, str]] = {
    "building_density_per_ha": (1, "Building density (per ha)"),
    "built_up_ratio": (1, "Built-up coverage"),
    "median_footprint_m2": (-1, "Median footprint (m²)"),
    "share_far_from_road": (1, "Share of buildings with footway-only access"),
    "walk_health_m": (1, "Walk to nearest health facility (m)"),
    "walk_school_m": (1, "Walk to nearest school (m)"),
    "walk_water_m": (1, "Walk to nearest water point (m)"),
    "hazard_score": (1, "Share exposed to the hazard (severity-weighted)"),
    "reports_per_1000": (1, "Reported needs and damage per 1,000 people"),
    "data_completeness": (-1, "Share of buildings with type or levels mapped"),
}
# Completeness is a confidence figure, not a sign of precarity: shown, not weighted, unless an area says so.
DEFAULT_WEIGHTS: dict[str, float] = {name: 1.0 for name in INDICATORS} | {"hazard_score": 2.0, "data_completeness": 0.0}
FACILITY_KINDS: dict[str, tuple[str, ...]] = {
    "walk_health_m": ("hospital", "clinic", "doctors"),
    "walk_school_m": ("school", "kindergarten"),
    "walk_water_m": ("water_point",),
}
CLASS_NAMES_5 = ["very_low", "low", "medium", "high", "very_high"]
DEFAULT_THRESHOLD = 0.6
DEFAULT_RESOLUTION = 9
TOP_N = 3


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
        """The ``geoapp precarity --json`` object: ``{"cells": n, "areas": [{"name", "index", "rank", "components"}]}``."""
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


# -- H3 grid ----------------------------------------------------------------


def h3_cells_of_points(points: gpd.GeoSeries, *, resolution: int = DEFAULT_RESOLUTION) -> np.ndarray:
    """H3 cell (int64) of each point (polygons: their representative point).

    h3-py 4 has no array API for indexing: the coordinates are converted to
    WGS 84 as arrays and the C indexer is called once per point (~0.7 µs each).
    """
    if not 0 <= resolution <= 15:
        raise InvalidInputError(f"h3 resolution {resolution} must be between 0 and 15 (9 ≈ 0.1 km² cells)")
    geom = points.values
    geom = ind.centre_points(geom)
    xy = shapely.get_coordinates(geom)
    if points.crs is None:
        raise InvalidInputError("points have no CRS; cannot place them on the H3 grid")
    lng, lat = Transformer.from_crs(points.crs, 4326, always_xy=True).transform(xy[:, 0], xy[:, 1])
    cell = h3.latlng_to_cell
    return np.fromiter(
        (cell(a, b, resolution) for a, b in zip(lat.tolist(), lng.tolist())), dtype=np.int64, count=len(xy)
    )


def h3_cell_polygons(cells: np.ndarray, *, crs: CRS | str) -> gpd.GeoDataFrame:
    """Polygons of H3 cells, indexed by cell id (int64), in ``crs``; ``h3_id`` is the hex string."""
    cells = np.asarray(cells, dtype=np.int64)
    bounds = [h3.cell_to_boundary(int(c)) for c in cells]
    n_vertices = np.fromiter((len(b) for b in bounds), dtype=np.int64, count=len(bounds))
    latlng = np.concatenate(bounds) if bounds else np.empty((0, 2))
    # Close every ring: repeat its first vertex.
    ring_of = np.repeat(np.arange(len(cells)), n_vertices)
    starts = np.r_[0, np.cumsum(n_vertices)[:-1]]
    closed = np.insert(latlng, np.cumsum(n_vertices), latlng[starts], axis=0) if len(cells) else latlng
    closed_of = np.insert(ring_of, np.cumsum(n_vertices), np.arange(len(cells))) if len(cells) else ring_of
    rings = shapely.linearrings(closed[:, 1], closed[:, 0], indices=closed_of) if len(cells) else []
    polys = shapely.polygons(rings) if len(cells) else []
    gdf = gpd.GeoDataFrame(
        {"h3_id": [h3.int_to_str(int(c)) for c in cells]}, geometry=polys, crs=4326, index=pd.Index(cells, name="cell")
    )
    return gdf.to_crs(crs)


# -- walking distance -----------------------------------------------------------


def walk_distances(
    network, buildings: gpd.GeoDataFrame, targets: dict[str, gpd.GeoDataFrame], *, snap_m: float = 500.0
) -> dict[str, np.ndarray]:
    """Walking distance (m) from every building to the nearest target of each set, along ``network``
    (a walk :class:`layers.evacuation.network.Network`); inf where the building or every target is off the network.

    Buildings are snapped to their nearest edge once (:meth:`Network.snap`, within
    ``snap_m``); then per target set one Dijkstra pass from a virtual source joined
    to both ends of every target's edge (cost: snap gap + along-edge offset). A
    building at fraction ``g`` of edge ``(u, v)`` of length ``L`` is
    ``gap + min(D[u] + g·L, D[v] + (1-g)·L)`` away, or walks straight along its
    edge to a target on the same edge. Same rules as :func:`layers.evacuation.assign.evacuate`
    without hazard or capacity (checked against it in the tests); snapping once
    instead of once per set keeps 1M buildings fast.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import dijkstra

    out = {name: np.full(len(buildings), np.inf) for name in targets}
    if network.n_edges == 0 or len(buildings) == 0:
        return out
    lengths = network.edges["length_m"].to_numpy(np.float64)
    u = network.edges["u"].to_numpy(np.int64)
    v = network.edges["v"].to_numpy(np.int64)
    n = network.n_nodes
    b_edge, b_frac, b_gap = network.snap(buildings.geometry.values, max_distance_m=snap_m)
    on = np.flatnonzero(b_edge >= 0)
    e, g = b_edge[on], b_frac[on]
    base = sparse.hstack([network.matrix(lengths), sparse.csr_matrix((n, 1))])
    for name, pts in targets.items():
        if len(pts) == 0:
            continue
        t_edge, t_frac, t_gap = network.snap(pts.geometry.values, max_distance_m=snap_m)
        ok = t_edge >= 0
        if not ok.any():
            continue
        t_edge, t_frac, t_gap = t_edge[ok], t_frac[ok], t_gap[ok]
        legs = (
            pd.Series(
                np.concatenate([t_gap + t_frac * lengths[t_edge], t_gap + (1 - t_frac) * lengths[t_edge]]),
                index=np.concatenate([u[t_edge], v[t_edge]]),
            )
            .groupby(level=0)
            .min()
        )
        # scipy.sparse drops explicit zeros: a target exactly on a node still needs its arc.
        cost = np.maximum(legs.to_numpy(), 1e-9)
        row = sparse.csr_matrix((cost, (np.zeros(len(legs), int), legs.index)), shape=(1, n + 1))
        dist = dijkstra(sparse.vstack([base, row]).tocsr(), directed=True, indices=n)
        d = b_gap[on] + np.minimum(dist[u[e]] + g * lengths[e], dist[v[e]] + (1 - g) * lengths[e])
        # A target on the building's own edge: straight along the edge.
        pairs = pd.DataFrame({"i": np.arange(len(on)), "edge": e, "g": g}).merge(
            pd.DataFrame({"edge": t_edge, "f": t_frac, "s": t_gap}), on="edge"
        )
        if len(pairs):
            i = pairs["i"].to_numpy()
            along = np.abs(pairs["g"] - pairs["f"]).to_numpy() * lengths[pairs["edge"].to_numpy()]
            direct = b_gap[on][i] + pairs["s"].to_numpy() + along
            best = pd.Series(direct).groupby(i).min()
            d[best.index.to_numpy()] = np.minimum(d[best.index.to_numpy()], best.to_numpy())
        out[name][on] = d
    return out


# -- composite -------------------------------------------------------------------


def check_weights(weights: dict | None) -> dict[str, float]:
    """Default weights updated by ``weights``; unknown names or negative values are an error."""
    out = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in INDICATORS:
            known = ", ".join(INDICATORS)
            raise InvalidInputError(f"precarity weight '{name}' is not an indicator; indicators are {known}")
        try:
            w = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"precarity weight '{name}' = {value!r} is not a number") from None
        if not (w >= 0 and np.isfinite(w)):
            raise InvalidInputError(f"precarity weight '{name}' = {value!r} must be a finite number >= 0")
        out[name] = w
    if not any(out.values()):
        raise InvalidInputError("every precarity weight is 0; give at least one indicator a positive weight")
    return out


def composite(values: pd.DataFrame, weights: dict[str, float], *, n_classes: int = 5) -> pd.DataFrame:
    """Scores, index, rank, class and top indicators for the indicator ``values`` (one column per indicator).

    See the module docstring for the formula. Columns: ``score_<name>``,
    ``precarity_index``, ``rank``, ``precarity_class``, ``class_id``, ``top_indicators``.
    """
    if n_classes < 2:
        raise InvalidInputError(f"precarity classes = {n_classes}: need at least 2 classes")
    names = [n for n in INDICATORS if n in values]
    scores = pd.DataFrame(index=values.index)
    for name in names:
        direction = INDICATORS[name][0]
        col = values[name]
        # An indicator with one value everywhere (e.g. no field report yet) says nothing: left out.
        if col.nunique(dropna=True) <= 1:
            scores[name] = np.nan
            continue
        scores[name] = (direction * col).rank(pct=True, method="average")
    w = np.array([weights.get(n, 0.0) for n in names])
    s = scores[names].to_numpy(dtype="float64")
    known = ~np.isnan(s)
    wsum = (known * w).sum(axis=1)
    contrib = np.where(known, s, 0.0) * w / np.where(wsum > 0, wsum, np.nan)[:, None]
    index = contrib.sum(axis=1)
    index[~(wsum > 0)] = np.nan
    out = pd.DataFrame({f"score_{n}": scores[n] for n in names}, index=values.index)
    out["precarity_index"] = index
    out["rank"] = pd.Series(index, index=values.index).rank(ascending=False, method="min").astype("Int64")
    labels = CLASS_NAMES_5 if n_classes == 5 else [f"class_{i}" for i in range(1, n_classes + 1)]
    cls = pd.Series(pd.NA, index=values.index, dtype="Int64")
    valid = ~np.isnan(index)
    if valid.sum() >= n_classes:
        order = pd.Series(index[valid]).rank(method="first")
        cls[valid] = pd.qcut(order, n_classes, labels=False).to_numpy() + 1
    elif valid.any():
        cls[valid] = np.ceil(pd.Series(index[valid]).rank(pct=True).to_numpy() * n_classes).astype(int)
    out["class_id"] = cls
    out["precarity_class"] = cls.map(lambda c: labels[c - 1] if pd.notna(c) else None).astype("string")
    contrib = np.nan_to_num(contrib, nan=0.0)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :TOP_N]
    name_arr = np.array(names, dtype=object)
    tops = []
    for row, o in zip(contrib, order):
        tops.append(",".join(name_arr[o[row[o] > 0]]))
    out["top_indicators"] = pd.array(tops, dtype="string")
    return out


# -- the index ----------------------------------------------------------------------


def indicator_table(
    units: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    unit_of,
    *,
    roads: gpd.GeoDataFrame | None = None,
    walk: dict[str, np.ndarray] | None = None,
    people: gpd.GeoDataFrame | None = None,
    people_unit=None,
    hazard_classes: list[str] | None = None,
    reports: gpd.GeoDataFrame | None = None,
    road_distance_m: float = 50.0,
    far: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every indicator of :data:`INDICATORS` that the inputs allow, per unit, plus the counts behind them
    (``buildings``, ``population``, ``pop_<class>`` / ``buildings_<class>``). Returns ``(table, skipped)``.

    ``walk`` holds per-building walking distances by indicator name and ``far`` the per-building
    footway-only flags, computed once for both cells and areas.
    """
    skipped: dict[str, str] = {}
    t = pd.DataFrame(index=units.index)
    t["area_m2"] = units.area
    t["buildings"] = ind.building_count(units, buildings, unit_of=unit_of).astype("int64")
    t["building_density_per_ha"] = ind.building_density_per_ha(units, buildings, unit_of=unit_of)
    t["built_up_ratio"] = ind.built_up_ratio(units, buildings, unit_of=unit_of)
    t["median_footprint_m2"] = ind.median_footprint_m2(units, buildings, unit_of=unit_of)
    if far is not None:
        t["share_far_from_road"] = ind.share_far_from_vehicle_road(units, buildings, None, unit_of=unit_of, far=far)
    elif roads is not None and len(roads):
        t["share_far_from_road"] = ind.share_far_from_vehicle_road(
            units, buildings, roads, unit_of=unit_of, max_distance_m=road_distance_m
        )
    else:
        skipped["share_far_from_road"] = "no roads given"
    for name in FACILITY_KINDS:
        if walk and name in walk:
            t[name] = ind.walk_distance_m(units, buildings, walk[name], unit_of=unit_of)
        else:
            skipped[name] = (walk or {}).get(f"{name}:why", "no roads or no facilities of this kind")
    classes = hazard_classes or []
    if people is not None:
        counts = ind.people_in_classes(
            units, people["people"].to_numpy(), _class_index(people, classes), classes, unit_of=people_unit
        )
        t["population"] = counts["total"]
        for c in classes:
            t[f"pop_{c}"] = counts[c]
        basis = counts
    else:
        t["population"] = np.nan
        basis = None
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
        t["reports_per_1000"] = ind.reports_per_1000(units, reports, t["population"])
    else:
        skipped["reports_per_1000"] = "no population to divide by"
    t["data_completeness"] = ind.data_completeness(units, buildings, unit_of=unit_of)
    return t, skipped


def _class_index(frame: pd.DataFrame, classes: list[str]) -> np.ndarray:
    if "hazard_class" not in frame:
        return np.full(len(frame), -1, dtype=np.int64)
    col = frame["hazard_class"]
    if pd.api.types.is_integer_dtype(col):
        return col.fillna(-1).to_numpy(dtype=np.int64)
    lookup = {c: i for i, c in enumerate(classes)}
    return col.astype("string").map(lookup).fillna(-1).to_numpy(dtype=np.int64)


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
    road_distance_m: float = 50.0,
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
    stages = ["grid", "walk", "cells", "areas", "neighbourhoods"]
    with tqdm(total=len(stages), desc="precarity", unit="stage", disable=not progress) as bar:
        # Footprint centres, computed once: every per-building step below takes points.
        centres = gpd.GeoSeries(ind.centre_points(buildings.geometry.values), crs=crs)
        cell_of = h3_cells_of_points(centres, resolution=resolution)
        cells = h3_cell_polygons(np.unique(cell_of), crs=crs)
        people_cell = h3_cells_of_points(people.geometry, resolution=resolution) if people is not None else None
        bar.update()
        walk = _walk(gpd.GeoDataFrame(geometry=centres), roads, facilities)
        far = None
        if roads is not None and len(roads):
            far = ind.far_from_vehicle_road(buildings, roads, max_distance_m=road_distance_m, centres=centres.values)
        bar.update()
        table, skipped = indicator_table(
            cells,
            buildings,
            pd.Series(cell_of),
            roads=roads,
            walk=walk,
            people=people,
            people_unit=people_cell,
            hazard_classes=hazard_classes,
            reports=reports,
            far=far,
        )
        cells_out = _assemble(cells[["h3_id", "geometry"]], table, weights, n_classes)
        for name in INDICATORS:
            if name in table and table[name].nunique(dropna=True) <= 1:
                skipped[name] = "one value in every cell: carries no information here"
        bar.update()
        areas_out = None
        if boundaries is not None:
            units = boundaries.to_crs(crs) if boundaries.crs != crs else boundaries
            units = units.set_index(pd.RangeIndex(len(units)))
            b_unit = ind.units_of_points(centres, units)
            p_unit = ind.units_of_points(people.geometry, units) if people is not None else None
            t2, _ = indicator_table(
                units,
                buildings,
                b_unit,
                roads=roads,
                walk=walk,
                people=people,
                people_unit=p_unit,
                hazard_classes=hazard_classes,
                reports=reports,
                far=far,
            )
            keep = [c for c in ("area_id", "name") if c in units]
            areas_out = _assemble(units[keep + ["geometry"]], t2, weights, n_classes)
        bar.update()
        hoods = precarious_neighbourhoods(cells_out, threshold=threshold)
        bar.update()
    return PrecarityResult(cells_out, areas_out, hoods, weights, skipped)


def _walk(buildings, roads, facilities) -> dict:
    out: dict = {}
    if roads is None or facilities is None or len(roads) == 0:
        for name in FACILITY_KINDS:
            out[f"{name}:why"] = "no roads given" if roads is None or len(roads) == 0 else "no facilities given"
        return out
    from layers.evacuation.network import network_from_roads

    net = network_from_roads(roads, mode="walk")
    targets = {}
    for name, kinds in FACILITY_KINDS.items():
        pts = facilities[facilities["category"].isin(kinds).to_numpy()]
        if len(pts) == 0:
            out[f"{name}:why"] = f"no facilities of category {', '.join(kinds)}"
        else:
            targets[name] = pts
    out.update(walk_distances(net, buildings, targets))
    return out


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
