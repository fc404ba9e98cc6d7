"""Indicators of precarity, one value per unit (an H3 cell or a boundary unit).

Every indicator takes ``units`` (a GeoDataFrame in the working metric CRS,
indexed by unit id) and an input layer plus ``unit_of``: the unit id of each
input row (NA where the row lies in no unit; see :func:`units_of_points`).
It returns a float64 Series indexed like ``units``; NaN means "cannot be
computed here" (e.g. a unit without buildings), never 0.

A building belongs to the unit that holds the centre of its footprint
(``representative_point``, always inside the polygon), so each building is
counted once even where it straddles a unit edge.

Direction: for every indicator but :func:`median_footprint_m2` and
:func:`data_completeness`, a higher value means more precarious.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InvalidInputError
from layers.evacuation.network import DRIVE_EXCLUDED

# OSM highway values a car or an ambulance cannot use: the drive network's exclusions, plus
# footway crossings and razed ways that exports carry as highway values.
FOOT_ONLY = DRIVE_EXCLUDED | {"crossing", "razed"}
# Free-text export labels ("Cycleway, footpath, etc.") are matched by keyword.
_FOOT_WORDS = re.compile(r"foot|cycle|path|steps|pedestrian|bridle")
# Building types that say nothing about the building.
VAGUE_TYPES = frozenset({"unknown", "yes", "building", "fixme", "fix_me"})
# Report categories counted as needs or damage (the reports module's defaults: need_water, damaged_building, ...).
NEEDS_DAMAGE = r"^need|damage"


def _check_units(units: gpd.GeoDataFrame) -> None:
    if not units.index.is_unique:
        raise InvalidInputError("units must have a unique index (one id per H3 cell or boundary unit)")
    if units.crs is None or not units.crs.is_projected:
        raise InvalidInputError("units must be in a projected metric CRS; reproject them to the area's working CRS")


def _group(values, unit_of: pd.Series, units: gpd.GeoDataFrame, how: str) -> pd.Series:
    """Aggregate ``values`` (one per input row) per unit with ``how`` (sum, count, median, mean)."""
    s = pd.Series(np.asarray(values, dtype="float64"), index=unit_of.index)
    out = s.groupby(unit_of.to_numpy(), sort=False).agg(how)
    return out.reindex(units.index).astype("float64")


def _aligned(unit_of: pd.Series, layer: pd.DataFrame, what: str) -> pd.Series:
    if len(unit_of) != len(layer):
        raise InvalidInputError(
            f"unit_of has {len(unit_of)} values but {what} has {len(layer)} rows; give one unit id per row"
        )
    values = unit_of.to_numpy() if isinstance(unit_of, pd.Series) else np.asarray(unit_of)
    return pd.Series(values, index=layer.index)


def units_of_points(points: gpd.GeoSeries, units: gpd.GeoDataFrame) -> pd.Series:
    """The id of the unit containing each point (first match where units overlap), NA outside every unit.

    Polygons are taken by their representative point. Uses the units' spatial index (one bulk STRtree query).
    """
    _check_units(units)
    geom = points.to_crs(units.crs).values if points.crs != units.crs else points.values
    geom = centre_points(geom)
    src, hit = units.sindex.query(geom, predicate="intersects")
    first = pd.Series(hit, index=src).groupby(level=0).min()
    out = pd.Series(pd.NA, index=points.index, dtype=object)
    out.iloc[first.index.to_numpy()] = units.index.to_numpy()[first.to_numpy()]
    return out


def centre_points(geoms) -> np.ndarray:
    """Points as they are; other geometries by their representative point (always inside a polygon)."""
    geoms = np.asarray(geoms, dtype=object)
    other = shapely.get_type_id(geoms) != 0
    if not other.any():
        return geoms
    out = geoms.copy()
    out[other] = shapely.point_on_surface(geoms[other])
    return out


def footprint_area_m2(buildings: gpd.GeoDataFrame) -> np.ndarray:
    """Footprint area of each building in m² (working CRS)."""
    if buildings.crs is None or not buildings.crs.is_projected:
        raise InvalidInputError("buildings must be in a projected metric CRS to measure footprints")
    if "footprint_m2" in buildings:  # measured batch by batch (layers/precarity/chunked.py keeps no footprints)
        return buildings["footprint_m2"].to_numpy(dtype="float64")
    return shapely.area(buildings.geometry.values).astype("float64")


def building_count(units: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, unit_of) -> pd.Series:
    """Number of buildings whose footprint centre lies in the unit (0 where none)."""
    unit_of = _aligned(unit_of, buildings, "buildings")
    return _group(np.ones(len(buildings)), unit_of, units, "sum").fillna(0.0)


def building_density_per_ha(units: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, unit_of) -> pd.Series:
    """Buildings per hectare: ``n(u) / (A(u) / 10 000 m²)`` with ``A(u)`` the unit's area.

    NaN where no building is mapped: in community-mapped data an unmapped place is unknown, not empty.
    """
    _check_units(units)
    n = building_count(units, buildings, unit_of=unit_of)
    return n.where(n > 0) / (units.area / 10_000.0)


def built_up_ratio(units: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, unit_of) -> pd.Series:
    """Built-up coverage: ``Σ footprint area of the unit's buildings / A(u)``, capped at 1; NaN where none is mapped.

    Footprints are counted whole in the unit holding their centre, so a unit
    edge crossing a building moves the overhang to one side; over many
    buildings this evens out (the cap guards tiny units).
    """
    _check_units(units)
    unit_of = _aligned(unit_of, buildings, "buildings")
    built = _group(footprint_area_m2(buildings), unit_of, units, "sum")  # NaN where no building is mapped
    return (built / units.area).clip(upper=1.0)


def median_footprint_m2(units: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, unit_of) -> pd.Series:
    """Median footprint area (m²) of the unit's buildings; NaN without buildings. Smaller = more precarious."""
    _check_units(units)
    unit_of = _aligned(unit_of, buildings, "buildings")
    return _group(footprint_area_m2(buildings), unit_of, units, "median")


def vehicle_usable(road_class) -> np.ndarray:
    """True for roads a car can use: every OSM ``highway`` value but :data:`FOOT_ONLY` ones
    (and export labels naming a footpath, cycleway, steps...). Missing classes count as usable."""
    cls = pd.Series(road_class, dtype="string").str.strip().str.lower()
    foot = cls.isin(FOOT_ONLY) | cls.str.contains(_FOOT_WORDS)
    return ~foot.fillna(False).to_numpy(dtype=bool)


def far_from_vehicle_road(
    buildings: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    *,
    max_distance_m: float = 50.0,
    step_m: float = 10.0,
    centres: np.ndarray | None = None,
) -> np.ndarray:
    """Per building: True when no vehicle-usable road passes within ``max_distance_m`` of its footprint.

    Exact footprint-edge-to-line distance in the working CRS, decided in two stages: a KD-tree
    over road vertices every ``step_m`` settles most buildings from their centre point
    (near when a vertex is within the limit; far when even the footprint's reach ``R`` and
    the vertex spacing cannot bring a road within it: ``d_vertex - step/2 - R > limit``),
    and GEOS ``dwithin`` decides the few in between. ``centres``: the footprints' representative
    points when already computed.
    """
    from scipy.spatial import cKDTree

    if roads.crs != buildings.crs:
        roads = roads.to_crs(buildings.crs)
    lines = roads.geometry.values[vehicle_usable(roads["road_class"])]
    far = np.ones(len(buildings), dtype=bool)
    if len(lines) == 0 or len(buildings) == 0:
        return far
    # Only roads that can come near a building matter.
    minx, miny, maxx, maxy = buildings.total_bounds
    lines = lines[shapely.intersects(lines, shapely.box(minx, miny, maxx, maxy).buffer(max_distance_m))]
    if len(lines) == 0:
        return far
    vertices = shapely.get_coordinates(shapely.segmentize(lines, step_m))
    polys = buildings.geometry.values
    centre = shapely.get_coordinates(shapely.point_on_surface(polys) if centres is None else centres)
    d_vertex = cKDTree(vertices).query(centre, k=1)[0]
    coords, owner = shapely.get_coordinates(polys, return_index=True)
    # Reach: the farthest footprint vertex from the centre (coordinates come grouped by building).
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    reach = np.zeros(len(polys))
    reach[owner[starts]] = np.maximum.reduceat(np.hypot(*(coords - centre[owner]).T), starts)
    near = d_vertex <= max_distance_m
    unsure = ~near & (d_vertex - step_m / 2 - reach <= max_distance_m)
    far[near] = False
    if unsure.any():
        tree = shapely.STRtree(_segments(lines, max_length_m=max(2 * max_distance_m, 50.0)))
        hit = np.unique(tree.query(polys[unsure], predicate="dwithin", distance=max_distance_m)[0])
        far[np.flatnonzero(unsure)[hit]] = False
    return far


def _segments(lines: np.ndarray, *, max_length_m: float) -> np.ndarray:
    """Lines cut into two-vertex segments no longer than ``max_length_m``: small boxes keep
    nearest-road queries fast where roads are long whole streets."""
    coords, idx = shapely.get_coordinates(shapely.segmentize(lines, max_length_m), return_index=True)
    same = idx[1:] == idx[:-1]
    start = np.flatnonzero(same)
    pairs = np.stack([coords[start], coords[start + 1]], axis=1)
    return shapely.linestrings(pairs)


def share_far_from_vehicle_road(
    units: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    *,
    unit_of,
    max_distance_m: float = 50.0,
    far: np.ndarray | None = None,
) -> pd.Series:
    """Share of the unit's buildings with no vehicle-usable road within ``max_distance_m`` (footway-only access):
    ``|{b in u : d(b, vehicle roads) > max_distance_m}| / n(u)``; NaN without buildings.

    ``far`` may hold :func:`far_from_vehicle_road` already computed for these buildings (then ``roads`` is unused).
    """
    _check_units(units)
    unit_of = _aligned(unit_of, buildings, "buildings")
    if far is None:
        far = far_from_vehicle_road(buildings, roads, max_distance_m=max_distance_m)
    return _group(far.astype("float64"), unit_of, units, "mean")


def walk_distance_m(
    units: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    distance_m,
    *,
    unit_of,
) -> pd.Series:
    """Median over the unit's buildings of their walking distance (m) to the nearest facility of a kind.

    ``distance_m`` holds one network distance per building (see
    :func:`layers.precarity.walks.walk_distances`: Dijkstra from every facility at once
    over the walk network, plus the straight legs from building and facility to the
    network); inf (unreachable) ranks as the farthest. NaN without buildings.
    """
    _check_units(units)
    unit_of = _aligned(unit_of, buildings, "buildings")
    return _group(distance_m, unit_of, units, "median")


def people_in_classes(
    units: gpd.GeoDataFrame,
    people,
    hazard_class,
    class_names: list[str],
    *,
    unit_of,
) -> pd.DataFrame:
    """People per unit in each hazard class, and in total.

    ``people`` is a weight per input row (people in a population cell, or 1 per
    building when no population is known), ``hazard_class`` its class index into
    ``class_names`` (-1 = not affected). Columns: ``total`` and one per class.
    """
    _check_units(units)
    people = np.asarray(people, dtype="float64")
    cls = np.asarray(hazard_class, dtype=np.int64)
    unit_of = pd.Series(unit_of.to_numpy() if isinstance(unit_of, pd.Series) else np.asarray(unit_of))
    if not (len(people) == len(cls) == len(unit_of)):
        raise InvalidInputError("people, hazard_class and unit_of must have one value per population cell or building")
    out = {"total": _group(people, unit_of, units, "sum").fillna(0.0)}
    for k, name in enumerate(class_names):
        out[name] = _group(np.where(cls == k, people, 0.0), unit_of, units, "sum").fillna(0.0)
    return pd.DataFrame(out, index=units.index)


def hazard_class_shares(counts: pd.DataFrame, class_names: list[str]) -> pd.DataFrame:
    """Share of the unit's people in each hazard class: ``people_k(u) / people(u)``; NaN where nobody lives."""
    total = counts["total"].where(counts["total"] > 0)
    return pd.DataFrame({name: counts[name] / total for name in class_names}, index=counts.index)


def hazard_score(shares: pd.DataFrame) -> pd.Series:
    """Severity-weighted share exposed: ``Σ_k share_k · (k+1)/K`` over the K classes, least severe first.

    1 = everyone in the most severe class, 0 = nobody affected.
    """
    k = shares.shape[1]
    if k == 0:
        return pd.Series(np.nan, index=shares.index, dtype="float64")
    sev = np.arange(1, k + 1, dtype="float64") / k
    return pd.Series(shares.to_numpy(dtype="float64") @ sev, index=shares.index, dtype="float64")


def reports_per_1000(
    units: gpd.GeoDataFrame,
    reports: gpd.GeoDataFrame | None,
    population: pd.Series,
    *,
    categories: str = NEEDS_DAMAGE,
) -> pd.Series:
    """Published field reports of needs and damage per 1,000 people: ``1000 · r(u) / people(u)``.

    ``reports`` are points with a ``category`` (and a ``status``: only
    ``published`` ones count when the column is present); ``categories`` is a
    regular expression on the category (default: ``need_*`` and ``*damage*``).
    0 where no report fell; NaN where the unit has no known population.
    """
    _check_units(units)
    pop = population.reindex(units.index).astype("float64")
    if reports is None or reports.empty:
        counts = pd.Series(0.0, index=units.index)
    else:
        if "category" not in reports:
            raise InvalidInputError("field reports need a 'category' column to count needs and damage")
        keep = reports["category"].astype("string").str.contains(categories, regex=True).fillna(False)
        if "status" in reports:
            keep &= reports["status"].astype("string").eq("published").fillna(False)
        sel = reports[keep.to_numpy()]
        unit_of = units_of_points(sel.geometry, units)
        counts = _group(np.ones(len(sel)), unit_of, units, "sum").fillna(0.0)
    return 1000.0 * counts / pop.where(pop > 0)


def data_completeness(units: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, unit_of) -> pd.Series:
    """Share of the unit's buildings with a type or a number of levels mapped:
    ``|{b : type(b) ∉ {unknown, yes, building} or levels(b) known}| / n(u)``; NaN without buildings.

    Higher = better mapped; it says how far the other figures can be trusted.
    """
    _check_units(units)
    unit_of = _aligned(unit_of, buildings, "buildings")
    btype = buildings["building_type"].astype("string").str.strip().str.lower()
    typed = (btype.notna() & ~btype.isin(VAGUE_TYPES)).to_numpy(dtype=bool)
    levels = pd.to_numeric(buildings["levels"], errors="coerce").notna().to_numpy()
    return _group((typed | levels).astype("float64"), unit_of, units, "mean")
