"""The streets people use: people per edge, the edges of each building's route, and route lines.

Route lines and people per edge use whole edges: a building's own street and the shelter's
street are drawn and counted whole, while ``distance_m`` counts only the walked part of those two
streets, plus the straight legs from the building and to the shelter (see :mod:`layers.evacuation.graph`).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.evacuation.graph import Search, WalkGraph
from layers.evacuation.network import Network

Arr = np.ndarray
NO_PATH = -9999


def add_flow(graph: WalkGraph, s: Search, via: Arr, people: Arr, edge_people: Arr) -> None:
    """Add each building's people to every edge of its path (subtree sums, level by level)."""
    tree = via >= 0
    flow = np.zeros(graph.size)
    np.add.at(flow, via[tree], people[tree])
    child, arc = graph.parent_arcs(s)
    if len(child) == 0:
        return
    depth = graph.to_root(s, child, np.ones(len(child)))
    # Deepest first: a node's flow is final once all its children have been added.
    order = np.argsort(-depth[child], kind="stable")
    child, arc = child[order], arc[order]
    d = depth[child]
    bounds = np.flatnonzero(np.r_[True, d[1:] != d[:-1], True])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        c = child[a:b]
        np.add.at(flow, s.pred[c], flow[c])
    arc_flow = flow[child]
    real = graph.arc_edge[arc] >= 0
    np.add.at(edge_people, graph.arc_edge[arc][real], arc_flow[real])


def route_edges(graph: WalkGraph, s: Search, via: Arr, bids: Arr, b_edge: Arr) -> pd.DataFrame:
    """(building, step, edge) rows of each building's path, from its own edge to the shelter."""
    rows = [pd.DataFrame({"b": bids, "step": 0, "edge": b_edge[bids]})]
    cur = via.copy()
    cur[cur < 0] = NO_PATH
    k = 1
    active = np.flatnonzero(cur >= 0)
    while len(active):
        c = cur[active]
        p = s.pred[c]
        ok = p >= 0
        arc = np.searchsorted(graph.arc_keys, p[ok] * graph.size + c[ok])
        e = graph.arc_edge[arc]
        rows.append(pd.DataFrame({"b": bids[active[ok]], "step": k, "edge": e}))
        cur[active] = np.where(ok, p, NO_PATH)
        active = active[ok]
        k += 1
    out = pd.concat(rows, ignore_index=True)
    return out[out["edge"] >= 0]


def building_route_lines(network: Network, parts: list[pd.DataFrame], buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One line per routed building: its own edge and every edge of its path to the shelter, merged."""
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({"b": [], "step": [], "edge": []})
    rows = rows.drop_duplicates(["b", "edge"]).sort_values(["b", "step"])
    b = rows["b"].to_numpy(np.int64)
    geoms = network.edge_lines(rows["edge"].to_numpy(np.int64))
    uniq, inv = np.unique(b, return_inverse=True)
    lines = shapely.line_merge(shapely.multilinestrings(geoms, indices=inv)) if len(b) else np.array([], object)
    src = buildings.iloc[uniq]
    return gpd.GeoDataFrame(
        {
            "building_id": src["building_id"].to_numpy(),
            "shelter_id": src["shelter_id"].to_numpy(),
            "distance_m": src["distance_m"].to_numpy(),
            "time_s": src["time_s"].to_numpy(),
        },
        geometry=lines,
        crs=network.crs,
    )


def edge_routes(network: Network, edge_people: Arr, depth_m: Arr | None) -> gpd.GeoDataFrame:
    """The edges people use, with how many (``people``) and the hazard depth along them."""
    used = edge_people > 0
    ids = np.flatnonzero(used)
    routes = network.table[["edge_id", "road_class", "length_m"]].iloc[ids].reset_index(drop=True)
    routes["people"] = edge_people[ids]
    if depth_m is not None:
        routes["depth_max_m"] = np.asarray(depth_m, np.float64)[ids]
    return gpd.GeoDataFrame(routes, geometry=network.edge_lines(ids), crs=network.crs)
