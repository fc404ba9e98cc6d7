"""Exposure of each layer to a hazard: buildings, roads, facilities and people, one function each.

Buildings take the highest class of any cell/zone they touch (all-touched), with
``depth_max_m`` and ``flooded_share``; roads are cut by the class polygons into a
length per class; a facility takes its building's class when it came from a
footprint, else the class at its point; people come from
:mod:`layers.hazard.population`. ``hazard_class`` columns hold class names (NA = not affected).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InvalidInputError
from layers.hazard.classes import class_names
from layers.hazard.population import PopulationGrid, census_on_hazard, people_on_hazard
from layers.hazard.sampling import geometry_hazard
from layers.hazard.sources import Hazard


def buildings_exposure(buildings: gpd.GeoDataFrame, hazard: Hazard, *, progress: bool = False) -> gpd.GeoDataFrame:
    """``building_id, building_type, hazard_class, depth_max_m, flooded_share, geometry`` for every building."""
    res = geometry_hazard(buildings.geometry, hazard, share=True, progress="buildings" if progress else None)
    return gpd.GeoDataFrame(
        {
            "building_id": buildings["building_id"].to_numpy()
            if "building_id" in buildings
            else np.arange(1, len(buildings) + 1),
            "building_type": buildings["building_type"].to_numpy() if "building_type" in buildings else "building",
            "hazard_class": class_names(res["hazard_class"].to_numpy(), hazard.classes.names).to_numpy(),
            "depth_max_m": res["depth_max_m"].to_numpy(),
            "flooded_share": res["flooded_share"].to_numpy(),
        },
        geometry=buildings.geometry.to_numpy(),
        crs=buildings.crs,
    )


def roads_exposure(roads: gpd.GeoDataFrame, hazard: Hazard) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Roads cut by the class polygons.

    Returns ``(pieces, lengths)``: ``pieces`` has one row per road and class (affected parts) plus the
    unaffected rest of each road (``hazard_class`` NA): ``road_id, road_class, hazard_class, length_m,
    geometry`` in the roads' CRS; ``lengths`` has the whole length of every road.
    """
    crs = roads.crs
    ids = roads["road_id"].to_numpy() if "road_id" in roads else np.arange(1, len(roads) + 1)
    rclass = roads["road_class"].to_numpy() if "road_class" in roads else np.full(len(roads), "road", dtype=object)
    lines = roads.geometry.to_crs(hazard.crs).to_numpy()
    # Polygons covering the roads' extent: every class, plus "no class" (-1) everywhere else.
    lb = shapely.bounds(lines)
    hb = hazard.bounds
    pad = 1e-6 * max(hb[2] - hb[0], hb[3] - hb[1], 1.0)
    extent = (
        (
            min(np.nanmin(lb[:, 0]), hb[0]) - pad,
            min(np.nanmin(lb[:, 1]), hb[1]) - pad,
            max(np.nanmax(lb[:, 2]), hb[2]) + pad,
            max(np.nanmax(lb[:, 3]), hb[3]) + pad,
        )
        if len(lines)
        else hb
    )
    zones = hazard.class_polygons(extent=extent)
    zg = zones.geometry.to_numpy()
    zc = zones["hazard_class"].to_numpy()
    src, dst = shapely.STRtree(zg).query(lines, predicate="intersects") if len(zg) else (np.empty(0, int),) * 2
    # The polygons cover the extent, so a line meeting one polygon only lies in it: no cut needed.
    single = np.bincount(src, minlength=len(lines))[src] == 1
    cut = lines[src].copy()
    # Keep only the linear part of each cut (a road may just touch a polygon corner).
    cut[~single] = shapely.line_merge(_linear(shapely.intersection(lines[src[~single]], zg[dst[~single]])))
    keep = ~shapely.is_empty(cut)
    owner, cls, geoms = src[keep], zc[dst][keep].astype(np.int64), cut[keep]
    # One row per road and class.
    key = owner * 1000 + (cls + 1)
    groups, inverse = np.unique(key, return_inverse=True)
    parts, pidx = shapely.get_parts(geoms, return_index=True)
    order = np.argsort(inverse[pidx], kind="stable")
    geoms = shapely.line_merge(shapely.multilinestrings(parts[order], indices=inverse[pidx][order]))
    owner, cls = groups // 1000, (groups % 1000 - 1).astype(np.int8)
    geoms = _on_edges_once(lines, owner, cls, geoms)
    pieces = gpd.GeoDataFrame(
        {
            "road_id": ids[owner],
            "road_class": rclass[owner],
            "hazard_class": class_names(cls, hazard.classes.names).to_numpy(),
        },
        geometry=geoms,
        crs=hazard.crs,
    ).to_crs(crs)
    pieces["length_m"] = pieces.length.to_numpy(np.float64)
    pieces = pieces[pieces["length_m"] > 0][["road_id", "road_class", "hazard_class", "length_m", "geometry"]]
    lengths = pd.DataFrame({"road_id": ids, "road_class": rclass, "length_m": roads.length.to_numpy(np.float64)})
    return pieces.reset_index(drop=True), lengths


def _on_edges_once(lines: np.ndarray, owner: np.ndarray, cls: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """A stretch of road lying exactly on the edge between two class polygons belongs to both cuts:
    keep it in the most severe class only. Only roads whose pieces add up to more than the road are
    touched (rare: roads drawn along cell edges), one by one."""
    total = np.bincount(owner, weights=shapely.length(geoms), minlength=len(lines))
    excess = np.flatnonzero(total > shapely.length(lines) * (1 + 1e-9) + 1e-12)
    if not len(excess):
        return geoms
    geoms = geoms.copy()
    for road in excess:
        rows = np.flatnonzero(owner == road)
        taken = None
        for r in rows[np.argsort(-cls[rows], kind="stable")]:  # most severe first; -1 (no class) last
            if taken is not None:
                geoms[r] = _linear(np.array([shapely.difference(geoms[r], taken)]))[0]
            taken = geoms[r] if taken is None else shapely.union(taken, geoms[r])
    return geoms


def _linear(geoms: np.ndarray) -> np.ndarray:
    """The line parts of each geometry (points of a corner touch dropped), as (Multi)LineStrings."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    # Geometry collections inside results: explode once more.
    sub, sidx = shapely.get_parts(parts, return_index=True)
    idx = idx[sidx]
    line = shapely.get_type_id(sub) == 1
    out = np.full(len(geoms), shapely.from_wkt("LINESTRING EMPTY"), dtype=object)
    if line.any():
        got, dense = np.unique(idx[line], return_inverse=True)  # indices must have no gaps
        out[got] = shapely.multilinestrings(sub[line], indices=dense)
    return out


def facilities_exposure(
    facilities: gpd.GeoDataFrame, hazard: Hazard, buildings: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """``facility_id, category, name, hazard_class, depth_m`` per facility: its building's class when the
    facility came from a footprint in ``buildings`` (an exposure result), else the class at its point."""
    res = geometry_hazard(facilities.geometry, hazard)
    cls = class_names(res["hazard_class"].to_numpy(), hazard.classes.names).to_numpy()
    depth = res["depth_max_m"].to_numpy().copy()
    if buildings is not None and "building_id" in facilities and "hazard_class" in buildings:
        fb = pd.Series(facilities["building_id"].to_numpy())
        lookup = buildings.drop_duplicates("building_id").set_index("building_id")
        known = fb.isin(lookup.index).to_numpy()
        if known.any():
            ids = fb[known]
            cls[known] = lookup.loc[ids, "hazard_class"].to_numpy()
            depth[known] = lookup.loc[ids, "depth_max_m"].to_numpy()
    return gpd.GeoDataFrame(
        {
            "facility_id": facilities["facility_id"].to_numpy()
            if "facility_id" in facilities
            else np.arange(1, len(facilities) + 1),
            "category": facilities["category"].to_numpy() if "category" in facilities else "facility",
            "name": facilities["name"].to_numpy() if "name" in facilities else None,
            "hazard_class": pd.array(cls, dtype="string"),
            "depth_m": depth,
        },
        geometry=facilities.geometry.to_numpy(),
        crs=facilities.crs,
    )


def population_exposure(population, hazard: Hazard | None, *, crs) -> tuple[gpd.GeoDataFrame, str]:
    """People with ``people`` and ``hazard_class`` (name) in ``crs``: raster cells as points, census as pieces."""
    if isinstance(population, PopulationGrid):
        people, method = people_on_hazard(population, hazard, crs=crs)
    elif isinstance(population, gpd.GeoDataFrame):
        if "people" not in population:
            raise InvalidInputError(
                "population polygons need a 'people' column (see layers.hazard.population.read_census)"
            )
        people, method = census_on_hazard(population, hazard, crs=crs)
    else:
        raise InvalidInputError("population must be a PopulationGrid or census polygons with a 'people' column")
    names = hazard.classes.names if hazard is not None else []
    people["hazard_class"] = class_names(people["hazard_class"].to_numpy(), names).to_numpy()
    return people, method
