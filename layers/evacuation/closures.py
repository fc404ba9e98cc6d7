"""Roads closed by field reports: a published ``evacuation_obstacle`` or ``road_closed`` report closes
every edge within ``closure_distance_m`` of its point (a collapsed bridge, a fallen tree, debris).

A closure is absolute: neither walkers (not even people wading out of the flood) nor vehicles use the
edge. The edges are taken out of the network, so every analysis on it (walking, driving, isochrones)
avoids them with no special case; ``edge_id`` is kept, so a closed edge can be named in the
``road_closures`` layer and checked absent from ``evacuation_routes``. A retired report (no longer
published) closes nothing at the next rebuild.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from layers.evacuation.network import Network
from layers.settings import CLOSURE_DISTANCE_M

CLOSURE_CATEGORIES = ("evacuation_obstacle", "road_closed")


def closure_reports(reports: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Published reports that close roads (None when there are none)."""
    if reports is None or len(reports) == 0 or "category" not in reports.columns:
        return None
    keep = reports["category"].astype("string").isin(CLOSURE_CATEGORIES).fillna(False)
    if "status" in reports.columns:
        keep &= reports["status"].astype("string").eq("published").fillna(False)
    return reports[keep.to_numpy()] if keep.any() else None


def closed_edges(
    network: Network, points: gpd.GeoSeries, *, distance_m: float = CLOSURE_DISTANCE_M
) -> tuple[np.ndarray, np.ndarray]:
    """Edges within ``distance_m`` of any point: ``(edge positions, point positions)``, one row per pair."""
    if not len(points) or network.n_edges == 0:
        return np.array([], np.int64), np.array([], np.int64)
    pts = points.to_crs(network.crs) if points.crs is not None and network.crs is not None else points
    hit_pt, hit_edge = network.edges.sindex.query(pts.to_numpy(), predicate="dwithin", distance=distance_m)
    return hit_edge.astype(np.int64), hit_pt.astype(np.int64)


def without_edges(network: Network, closed: np.ndarray) -> Network:
    """``network`` minus the edges at positions ``closed`` (nodes and ``edge_id`` unchanged)."""
    if not len(closed):
        return network
    keep = np.ones(network.n_edges, dtype=bool)
    keep[closed] = False
    edges = network.edges[keep].reset_index(drop=True)
    return Network(edges=edges, nodes_xy=network.nodes_xy, mode=network.mode, crs=network.crs)


def apply_closures(
    networks: dict[str, Network], reports: gpd.GeoDataFrame | None, *, distance_m: float = CLOSURE_DISTANCE_M
) -> tuple[dict[str, Network], gpd.GeoDataFrame]:
    """Close the edges near published closure reports in every network (e.g. ``{"walk": w, "drive": d}``).

    Returns the networks without those edges and the ``road_closures`` layer: one line per closed
    edge and mode (``mode, edge_id, road_id, road_class, report_id, report_category``).
    """
    found = closure_reports(reports)
    out: dict[str, Network] = {}
    rows = []
    for mode, net in networks.items():
        if found is None:
            out[mode] = net
            continue
        edge, pt = closed_edges(net, found.geometry, distance_m=distance_m)
        first = np.unique(edge, return_index=True)[1]  # one row per edge: the first report that closes it
        edge, pt = edge[first], pt[first]
        if len(edge):
            e = net.edges.iloc[edge]
            rows.append(
                gpd.GeoDataFrame(
                    {
                        "mode": mode,
                        "edge_id": e["edge_id"].to_numpy(np.int64),
                        "road_id": e["road_id"].to_numpy() if "road_id" in e else pd.NA,
                        "road_class": e["road_class"].astype("string").to_numpy(),
                        "report_id": _column(found, "id", pt),
                        "report_category": _column(found, "category", pt),
                    },
                    geometry=e.geometry.to_numpy(),
                    crs=net.crs,
                )
            )
        out[mode] = without_edges(net, edge)
    crs = next(iter(networks.values())).crs if networks else None
    if rows:
        layer = gpd.GeoDataFrame(pd.concat(rows, ignore_index=True), crs=crs)
    else:
        layer = gpd.GeoDataFrame(
            {
                "mode": pd.Series(dtype="string"),
                "edge_id": pd.Series(dtype="int64"),
                "road_id": pd.Series(dtype="object"),
                "road_class": pd.Series(dtype="string"),
                "report_id": pd.Series(dtype="string"),
                "report_category": pd.Series(dtype="string"),
            },
            geometry=gpd.GeoSeries([], crs=crs),
            crs=crs,
        )
    return out, layer


def _column(gdf: gpd.GeoDataFrame, name: str, pos: np.ndarray) -> np.ndarray:
    if name not in gdf.columns:
        return np.full(len(pos), None, dtype=object)
    return gdf[name].astype("string").to_numpy()[pos]
