"""Emergency access and the polygons of an evacuation: catchments, unreachable zones, isochrones.

* **Emergency access**: drive time from the nearest hospital or fire station to each
  neighbourhood (its representative point, joined to the nearest drive edge), on the
  drive network with one-way streets respected and every edge deeper than
  ``max_drive_depth_m`` (default 0.3 m) closed. One multi-source Dijkstra from all
  stations. The dry-weather time is computed too, so the flood's delay is visible.
* **Isochrones**: the area within 5/10/15/30 minutes' drive of a station: edges whose
  far end is reached within the band, buffered by ``buffer_m`` and merged, as rings.
* **Catchments**: one polygon per shelter: the Voronoi cells of the buildings assigned
  to it (building centroids), merged and clipped to the buildings' extent.
* **Unreachable**: the buildings no safe shelter can reach (footprints, ``kind =
  building``) and the zones they form (their merged Voronoi cells, ``kind = zone``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from ._errors import InvalidInputError
from .network import Network, arcs_matrix, drive_time_s

EMERGENCY_CATEGORIES = ("hospital", "fire_station")
ISOCHRONE_MINUTES = (5, 10, 15, 30)


def drive_times_from(
    network: Network, sources: gpd.GeoDataFrame, *, cost: np.ndarray, max_snap_m: float = 500.0
) -> tuple[np.ndarray, np.ndarray]:
    """Drive time (s) from the nearest source to every node, and which source (row, -1 = none)."""
    s_edge, s_frac, _ = network.snap(sources.geometry.to_numpy(), max_distance_m=max_snap_m, usable=np.isfinite(cost))
    n = network.n_nodes
    tail, head, w, _ = network.arcs(cost)
    on = np.flatnonzero(s_edge >= 0)
    if len(on) == 0:
        return np.full(n, np.inf), np.full(n, -1)
    e = s_edge[on]
    u = network.edges["u"].to_numpy(np.int64)[e]
    v = network.edges["v"].to_numpy(np.int64)[e]
    # A station reaches both ends of its edge (leaving a one-way street against its direction is
    # allowed for the few metres from the gate: emergency vehicles).
    vt = np.concatenate([n + on, n + on])
    vh = np.concatenate([u, v])
    vw = np.concatenate([s_frac[on], 1 - s_frac[on]]) * np.tile(cost[e], 2)
    m, _ = arcs_matrix(np.concatenate([tail, vt]), np.concatenate([head, vh]), np.concatenate([w, vw]), n + len(sources))
    dist, _, src = dijkstra(m, indices=n + on, min_only=True, return_predecessors=True)
    which = np.where(src >= 0, src - n, -1)
    return dist[:n], which[:n]


def _arrival(network: Network, node_time: np.ndarray, cost: np.ndarray, edge: np.ndarray, frac: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time to reach a point ``frac`` along ``edge`` (from its u end; from v only on two-way edges)."""
    ok = edge >= 0
    e = np.where(ok, edge, 0)
    u = network.edges["u"].to_numpy(np.int64)[e]
    v = network.edges["v"].to_numpy(np.int64)[e]
    c = cost[e]
    with np.errstate(invalid="ignore"):
        tu = node_time[u] + frac * c
        tv = np.where(network.two_way()[e], node_time[v] + (1 - frac) * c, np.inf)
    t = np.where(ok & np.isfinite(c), np.minimum(tu, tv), np.inf)
    via = np.where(tu <= tv, u, v)
    return t, via


def emergency_access(
    network: Network,
    facilities: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    *,
    depth_m: np.ndarray | None = None,
    max_drive_depth_m: float = 0.3,
    categories: Sequence[str] = EMERGENCY_CATEGORIES,
    max_snap_m: float = 500.0,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Drive time from the nearest hospital or fire station to each neighbourhood, flooded roads closed.

    Returns the neighbourhoods (``area_id, name, time_s, time_dry_s, delay_s, reachable,
    facility_id, facility_category``) and the flooded drive time (s) to every network node.
    """
    if network.mode != "drive":
        raise InvalidInputError("emergency access needs a drive network (network_from_roads(..., mode='drive'))")
    stations = facilities[facilities["category"].isin(list(categories)).to_numpy()].reset_index(drop=True)
    base = drive_time_s(network)
    depth = np.zeros(network.n_edges) if depth_m is None else np.nan_to_num(np.asarray(depth_m, np.float64))
    wet_cost = np.where(depth > max_drive_depth_m, np.inf, base)
    out = boundaries[["area_id", "name"]].copy() if "area_id" in boundaries else boundaries[["name"]].copy()
    out = gpd.GeoDataFrame(out, geometry=boundaries.geometry.to_numpy(), crs=boundaries.crs)
    if len(stations) == 0:
        warnings.warn(f"no facility of categories {list(categories)}: emergency access cannot be computed", stacklevel=2)
        for col in ("time_s", "time_dry_s", "delay_s"):
            out[col] = np.nan
        out["reachable"] = False
        out["facility_id"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["facility_category"] = pd.array([pd.NA] * len(out), dtype="string")
        return out, np.full(network.n_nodes, np.inf)
    wet_nodes, wet_src = drive_times_from(network, stations, cost=wet_cost, max_snap_m=max_snap_m)
    dry_nodes, _ = drive_times_from(network, stations, cost=base, max_snap_m=max_snap_m)
    pts = boundaries.geometry.representative_point().to_numpy()
    edge, frac, _ = network.snap(pts, max_distance_m=max_snap_m, usable=np.isfinite(wet_cost))
    t_wet, via = _arrival(network, wet_nodes, wet_cost, edge, frac)
    d_edge, d_frac, _ = network.snap(pts, max_distance_m=max_snap_m)
    t_dry, _ = _arrival(network, dry_nodes, base, d_edge, d_frac)
    reachable = np.isfinite(t_wet)
    which = np.where(reachable, wet_src[via], -1)
    out["time_s"] = np.where(reachable, t_wet, np.nan)
    out["time_dry_s"] = np.where(np.isfinite(t_dry), t_dry, np.nan)
    out["delay_s"] = out["time_s"] - out["time_dry_s"]
    out["reachable"] = reachable
    fid = stations["facility_id"].to_numpy()
    cat = stations["category"].astype("string").to_numpy()
    out["facility_id"] = pd.array(np.where(which >= 0, fid[np.maximum(which, 0)], 0), dtype="Int64")
    out.loc[which < 0, "facility_id"] = pd.NA
    out["facility_category"] = pd.array(np.where(which >= 0, cat[np.maximum(which, 0)], None), dtype="string")
    return out, wet_nodes


def isochrones(
    network: Network,
    node_time_s: np.ndarray,
    *,
    minutes: Sequence[float] = ISOCHRONE_MINUTES,
    buffer_m: float = 50.0,
) -> gpd.GeoDataFrame:
    """Rings of the area reached within each band (``band`` "0-5 min", ``minutes_min``, ``minutes_max``).

    An edge belongs to the first band that contains the later of its two end times.
    """
    minutes = sorted(float(m) for m in minutes)
    if not minutes or minutes[0] <= 0:
        raise InvalidInputError(f"isochrone minutes {minutes} must be positive numbers")
    u = network.edges["u"].to_numpy(np.int64)
    v = network.edges["v"].to_numpy(np.int64)
    t = np.maximum(node_time_s[u], node_time_s[v]) / 60.0
    band = np.searchsorted(np.asarray(minutes), t, side="left")  # index of the first band with t <= m
    geoms = network.edges.geometry.to_numpy()
    rows, shapes = [], []
    previous = None
    for i, m in enumerate(minutes):
        within = band <= i
        if not within.any():
            continue
        area = shapely.union_all(shapely.buffer(geoms[within], buffer_m, quad_segs=2))
        ring = area if previous is None else shapely.difference(area, previous)
        lo = 0.0 if i == 0 else minutes[i - 1]
        rows.append({"band": f"{lo:g}-{m:g} min", "minutes_min": lo, "minutes_max": m})
        shapes.append(ring)
        previous = area
    return gpd.GeoDataFrame(
        rows or {"band": [], "minutes_min": [], "minutes_max": []}, geometry=shapes or None, crs=network.crs
    )


def _voronoi_cells(points: np.ndarray, extent) -> tuple[np.ndarray, np.ndarray]:
    """Voronoi cells of the distinct points clipped to ``extent``, and each point's cell index."""
    xy = shapely.get_coordinates(points)
    uniq, inv = np.unique(np.round(xy, 3), axis=0, return_inverse=True)
    inv = inv.ravel()
    if len(uniq) == 1:
        return np.array([extent], dtype=object), inv
    cells = shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=extent, ordered=True)
    return shapely.intersection(shapely.get_parts(cells), extent), inv


def _merge_cells(cells: np.ndarray, cell_of: pd.Series) -> np.ndarray:
    """One polygon per group: the union of its distinct Voronoi cells (a coverage: fast union)."""
    return cell_of.agg(lambda s: shapely.coverage_union_all(cells[np.unique(s.to_numpy())])).to_numpy()


def catchments_and_unreachable(
    evacuation_buildings: gpd.GeoDataFrame, *, margin_m: float = 100.0
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``catchments`` (one polygon per used shelter) and ``unreachable`` (buildings and zones).

    ``evacuation_buildings`` is :attr:`layers.evacuation.EvacuationResult.buildings`.
    """
    b = evacuation_buildings
    crs = b.crs
    empty_c = gpd.GeoDataFrame(
        {"shelter_id": pd.array([], dtype="Int64"), "buildings": [], "people": [], "time_max_s": []},
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )
    if len(b) == 0:
        return empty_c, _unreachable(b, None, None)
    cent = b.geometry.centroid.to_numpy()
    extent = shapely.buffer(shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(cent))), margin_m)
    cells, cell_of = _voronoi_cells(cent, extent)
    reach = b["reachable"].to_numpy(bool)
    if reach.any():
        frame = pd.DataFrame(
            {
                "shelter_id": b["shelter_id"].to_numpy()[reach],
                "people": b["people"].to_numpy(np.float64)[reach],
                "time_s": b["time_s"].to_numpy(np.float64)[reach],
                "cell": cell_of[reach],
            }
        )
        g = frame.groupby("shelter_id", sort=True)
        stats = g.agg(buildings=("people", "size"), people=("people", "sum"), time_max_s=("time_s", "max"))
        shapes = _merge_cells(cells, g["cell"])
        catch = gpd.GeoDataFrame(
            {
                "shelter_id": pd.array(stats.index.to_numpy(), dtype="Int64"),
                "buildings": stats["buildings"].to_numpy(),
                "people": stats["people"].to_numpy(),
                "time_max_s": stats["time_max_s"].to_numpy(),
            },
            geometry=shapes,
            crs=crs,
        )
    else:
        catch = empty_c
    return catch, _unreachable(b, cells, cell_of)


def _unreachable(b: gpd.GeoDataFrame, cells, cell_of) -> gpd.GeoDataFrame:
    lost = ~b["reachable"].to_numpy(bool) if len(b) else np.zeros(0, bool)
    reason = b["reason"].astype("string").fillna("no_route").to_numpy(dtype=object)[lost] if len(b) else []
    rows = pd.DataFrame(
        {
            "kind": "building",
            "building_id": pd.array(b["building_id"].to_numpy()[lost], dtype="Int64"),
            "reason": reason,
            "buildings": 1,
            "people": b["people"].to_numpy(np.float64)[lost] if len(b) else [],
        }
    )
    geoms = list(b.geometry.to_numpy()[lost]) if len(b) else []
    if cells is not None and lost.any():
        z = pd.DataFrame({"reason": reason, "people": rows["people"].to_numpy(), "cell": cell_of[lost]})
        g = z.groupby("reason", sort=True)
        stats = g.agg(buildings=("people", "size"), people=("people", "sum"))
        shapes = _merge_cells(cells, g["cell"])
        zones = pd.DataFrame(
            {
                "kind": "zone",
                "building_id": pd.array([pd.NA] * len(stats), dtype="Int64"),
                "reason": stats.index.to_numpy(),
                "buildings": stats["buildings"].to_numpy(),
                "people": stats["people"].to_numpy(),
            }
        )
        rows = pd.concat([rows, zones], ignore_index=True)
        geoms += list(shapes)
    rows["reason"] = rows["reason"].astype("string")
    rows["kind"] = rows["kind"].astype("string")
    return gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=b.crs), crs=b.crs)
