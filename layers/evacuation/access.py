"""Emergency access and the polygons of an evacuation: catchments, unreachable zones, isochrones.

* **Emergency access**: drive time from the nearest hospital or fire station to each
  neighbourhood (its representative point, joined to the nearest drive edge), on the
  drive network with one-way streets respected and every edge deeper than
  ``max_drive_depth_m`` (default 0.3 m) closed. One multi-source Dijkstra from all
  stations. The dry-weather time is computed too, so the flood's delay is visible.
* **Isochrones**: the area within 5/10/15/30 minutes' drive of a station: edges whose
  far end is reached within the band, buffered by ``buffer_m`` and merged, as rings.
* **Catchments** and **unreachable** zones: :mod:`layers.evacuation.catchments` (a grid dissolved by
  the assignment, split exactly at the borders between shelters); re-exported here.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from layers.errors import InvalidInputError
from layers.evacuation.catchments import catchments_and_unreachable  # noqa: F401  (re-exported)
from layers.evacuation.network import Network, arcs_matrix, drive_time_s
from layers.settings import ISOCHRONE_MINUTES, MAX_DRIVE_DEPTH_M

EMERGENCY_CATEGORIES = ("hospital", "fire_station")


def drive_times_from(
    network: Network,
    sources: gpd.GeoDataFrame,
    *,
    cost: np.ndarray,
    max_snap_m: float = 500.0,
    snap: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Drive time (s) from the nearest source to every node, and which source (row, -1 = none).

    Sources join their nearest open edge, or the ``(edge, position)`` given in ``snap``.
    """
    if snap is None:
        s_edge, s_frac, _ = network.snap(
            sources.geometry.to_numpy(), max_distance_m=max_snap_m, usable=np.isfinite(cost)
        )
    else:
        s_edge, s_frac = snap
    n = network.n_nodes
    tail, head, w, _ = network.arcs(cost)
    on = np.flatnonzero(s_edge >= 0)
    if len(on) == 0:
        return np.full(n, np.inf), np.full(n, -1)
    e = s_edge[on]
    u = network.table["u"].to_numpy(np.int64)[e]
    v = network.table["v"].to_numpy(np.int64)[e]
    # A station reaches the end of its edge ahead of it, and the one behind it unless the street is one-way.
    vt = np.concatenate([n + on, n + on])
    vh = np.concatenate([u, v])
    back = np.where(network.two_way()[e], s_frac[on] * cost[e], np.inf)
    vw = np.concatenate([back, (1 - s_frac[on]) * cost[e]])
    m, _ = arcs_matrix(
        np.concatenate([tail, vt]), np.concatenate([head, vh]), np.concatenate([w, vw]), n + len(sources)
    )
    dist, _, src = dijkstra(m, indices=n + on, min_only=True, return_predecessors=True)
    which = np.where(src >= 0, src - n, -1)
    return dist[:n], which[:n]


def _arrival(
    network: Network, node_time: np.ndarray, cost: np.ndarray, edge: np.ndarray, frac: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Time to reach a point ``frac`` along ``edge`` (from its u end; from v only on two-way edges)."""
    ok = edge >= 0
    e = np.where(ok, edge, 0)
    u = network.table["u"].to_numpy(np.int64)[e]
    v = network.table["v"].to_numpy(np.int64)[e]
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
    max_drive_depth_m: float = MAX_DRIVE_DEPTH_M,
    categories: Sequence[str] = EMERGENCY_CATEGORIES,
    drive_speed_kph: float | None = None,
    max_snap_m: float = 500.0,
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Drive time from the nearest hospital or fire station to each neighbourhood, flooded roads closed.

    Returns the neighbourhoods (``area_id, name, time_s, time_dry_s, delay_s, reachable,
    facility_id, facility_category``) and the flooded drive time (s) to every network node.
    Speeds are by road class (:data:`layers.evacuation.network.DRIVE_SPEED_KPH`) unless ``drive_speed_kph``
    sets one speed for every road.
    """
    if network.mode != "drive":
        raise InvalidInputError("emergency access needs a drive network (network_from_roads(..., mode='drive'))")
    stations = facilities[facilities["category"].isin(list(categories)).to_numpy()].reset_index(drop=True)
    base = drive_time_s(network, speed_kph=drive_speed_kph)
    depth = np.zeros(network.n_edges) if depth_m is None else np.nan_to_num(np.asarray(depth_m, np.float64))
    wet_cost = np.where(depth > max_drive_depth_m, np.inf, base)
    out = boundaries[["area_id", "name"]].copy() if "area_id" in boundaries else boundaries[["name"]].copy()
    out = gpd.GeoDataFrame(out, geometry=boundaries.geometry.to_numpy(), crs=boundaries.crs)
    if len(stations) == 0:
        warnings.warn(
            f"no facility of categories {list(categories)}: emergency access cannot be computed", stacklevel=2
        )
        for col in ("time_s", "time_dry_s", "delay_s"):
            out[col] = np.nan
        out["reachable"] = False
        out["facility_id"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["facility_category"] = pd.array([pd.NA] * len(out), dtype="string")
        return out, np.full(network.n_nodes, np.inf)
    # Stations join the same point in dry weather as in the flood (when they can): the delay is the flood's.
    st = stations.geometry.to_numpy()
    w_edge, w_frac, _ = network.snap(st, max_distance_m=max_snap_m, usable=np.isfinite(wet_cost))
    a_edge, a_frac, _ = network.snap(st, max_distance_m=max_snap_m)
    dry_snap = (np.where(w_edge >= 0, w_edge, a_edge), np.where(w_edge >= 0, w_frac, a_frac))
    wet_nodes, wet_src = drive_times_from(network, stations, cost=wet_cost, snap=(w_edge, w_frac))
    dry_nodes, _ = drive_times_from(network, stations, cost=base, snap=dry_snap)
    pts = boundaries.geometry.representative_point().to_numpy()
    edge, frac, _ = network.snap(pts, max_distance_m=max_snap_m, usable=np.isfinite(wet_cost))
    t_wet, via = _arrival(network, wet_nodes, wet_cost, edge, frac)
    # Dry time to the same point on the same open edge, so the delay is the flood's alone.
    d_edge, d_frac, _ = network.snap(pts, max_distance_m=max_snap_m)
    d_edge, d_frac = np.where(edge >= 0, edge, d_edge), np.where(edge >= 0, frac, d_frac)
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
    cell_m: float = 25.0,
) -> gpd.GeoDataFrame:
    """Rings of the area reached within each band (``band`` "0-5 min", ``minutes_min``, ``minutes_max``).

    An edge belongs to the first band that holds the later of its two end times. Edges are
    burnt into a ``cell_m`` grid (lowest band wins), spread by ``buffer_m`` (a minimum filter
    over a disc) and traced back into polygons: fast and free of slivers on city networks.
    """
    from rasterio import features
    from rasterio.transform import Affine
    from scipy import ndimage

    minutes = sorted(float(m) for m in minutes)
    if not minutes or minutes[0] <= 0:
        raise InvalidInputError(f"isochrone minutes {minutes} must be positive numbers")
    u = network.table["u"].to_numpy(np.int64)
    v = network.table["v"].to_numpy(np.int64)
    t = np.maximum(node_time_s[u], node_time_s[v]) / 60.0
    band = np.searchsorted(np.asarray(minutes), t, side="left")  # first band with t <= its upper limit
    within = band < len(minutes)
    nodata = len(minutes)
    cols = {
        "band": pd.Series(dtype="string"),
        "minutes_min": pd.Series(dtype="float64"),
        "minutes_max": pd.Series(dtype="float64"),
    }
    if not within.any():
        return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=network.crs), crs=network.crs)
    geoms = network.edge_lines(np.flatnonzero(within))
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    pad = buffer_m + 2 * cell_m
    width = int(np.ceil((xmax - xmin + 2 * pad) / cell_m))
    height = int(np.ceil((ymax - ymin + 2 * pad) / cell_m))
    transform = Affine(cell_m, 0, xmin - pad, 0, -cell_m, ymax + pad)
    order = np.argsort(-band[within], kind="stable")  # later shapes overwrite: lowest band last
    grid = features.rasterize(
        zip(geoms[order], band[within][order], strict=False),
        out_shape=(height, width),
        transform=transform,
        fill=nodata,
        dtype="int16",
        all_touched=True,
    )
    r = int(np.ceil(buffer_m / cell_m))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    grid = ndimage.minimum_filter(grid, footprint=(xx**2 + yy**2) <= r * r, mode="constant", cval=nodata)
    shapes = list(features.shapes(grid, mask=grid < nodata, transform=transform))
    polys = shapely.from_geojson([json.dumps(g) for g, _ in shapes]) if shapes else np.array([], object)
    vals = np.array([int(val) for _, val in shapes], dtype=np.int64)
    rows, out = [], []
    for i, m in enumerate(minutes):
        hit = vals == i
        if not hit.any():
            continue
        lo = 0.0 if i == 0 else minutes[i - 1]
        rows.append({"band": f"{lo:g}-{m:g} min", "minutes_min": lo, "minutes_max": m})
        out.append(shapely.union_all(polys[hit]))
    frame = pd.DataFrame(rows).astype({"band": "string"})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(out, crs=network.crs), crs=network.crs)
