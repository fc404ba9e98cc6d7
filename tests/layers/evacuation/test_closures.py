"""Roads closed by field reports (layers.evacuation.closures) on the Jakarta sample, checked against an
independent networkx Dijkstra on the same network minus the closed edge."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from layers.area import load_area
from layers.evacuation.assign import evacuate
from layers.evacuation.closures import apply_closures, closed_edges
from layers.evacuation.network import Network, network_from_roads

JAKARTA = Path(__file__).resolve().parents[3] / "data" / "jakarta" / "area.toml"


@pytest.fixture(scope="module")
def jakarta():
    area = load_area(JAKARTA)
    facilities = area.facilities()
    schools = facilities[facilities["category"].astype("string").eq("school").fillna(False).to_numpy()]
    shelters = gpd.GeoDataFrame(
        {"shelter_id": np.arange(1, len(schools) + 1), "capacity": np.nan, "safe": True},
        geometry=schools.geometry.to_numpy(),
        crs=schools.crs,
    )
    roads = area.roads()
    return network_from_roads(roads, mode="walk"), network_from_roads(roads, mode="drive"), area.buildings(), shelters


def _evacuate(net, blds, sh):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".* m from the network")
        return evacuate(net, blds, sh)


def _report(point: shapely.Point, crs, *, category="road_closed", status="published") -> gpd.GeoDataFrame:
    """A field_reports layer row as the build sees it (published reports, public view), in EPSG:4326."""
    gdf = gpd.GeoDataFrame(
        {"id": ["3f1c7a52-0d4e-4a53-9d3b-2b6c1e5f7a10"], "category": [category], "status": [status]},
        geometry=[point],
        crs=crs,
    )
    return gdf.to_crs(4326)


def _networkx_metres(net: Network, blds: gpd.GeoDataFrame, sh: gpd.GeoDataFrame, drop: set[int]) -> np.ndarray:
    """Metres from each building to its nearest shelter on ``net`` without the edges whose edge_id is in
    ``drop``: networkx on a graph built here, snapping recomputed on the remaining edges."""
    e = net.edges[~net.edges["edge_id"].isin(drop).to_numpy()].reset_index(drop=True)
    sub = Network(edges=e, nodes_xy=net.nodes_xy, mode=net.mode, crs=net.crs)
    length, u, v = e["length_m"].to_numpy(), e["u"].to_numpy(), e["v"].to_numpy()
    g = nx.Graph()
    for a, b, w in zip(u.tolist(), v.tolist(), length.tolist(), strict=True):
        if not g.has_edge(a, b) or g[a][b]["weight"] > w:
            g.add_edge(a, b, weight=w)
    s_edge, s_frac, s_gap = sub.snap(sh.geometry.to_numpy(), max_distance_m=500)
    for j in np.flatnonzero(s_edge >= 0):
        k = s_edge[j]
        for node, part in ((u[k], s_frac[j]), (v[k], 1 - s_frac[j])):
            w = s_gap[j] + part * length[k]
            if not g.has_edge("S", node) or g["S"][node]["weight"] > w:
                g.add_edge("S", node, weight=w)
    dist = nx.single_source_dijkstra_path_length(g, "S", weight="weight")
    b_edge, b_frac, b_gap = sub.snap(blds.geometry.to_numpy(), max_distance_m=500)
    out = np.full(len(blds), np.inf)
    for i in np.flatnonzero(b_edge >= 0):
        k, f = b_edge[i], b_frac[i]
        best = min(dist.get(u[k], np.inf) + f * length[k], dist.get(v[k], np.inf) + (1 - f) * length[k])
        for j in np.flatnonzero(s_edge == k):
            best = min(best, abs(f - s_frac[j]) * length[k] + s_gap[j])
        out[i] = best + b_gap[i]
    return out


def test_a_closed_road_that_carries_routes_is_avoided_and_times_go_up(jakarta):
    walk, drive, blds, sh = jakarta
    before = _evacuate(walk, blds, sh)
    # The busiest edge of a road that cars use too (so the drive network loses it as well).
    routes = before.routes.sort_values("people", ascending=False)
    drivable = walk.edges["road_class"].isin(drive.edges["road_class"].unique()).to_numpy()
    busy = routes[routes["edge_id"].isin(walk.edges.loc[drivable, "edge_id"]).to_numpy()].iloc[0]
    closed_id = int(busy["edge_id"])
    edge_geom = walk.edges.loc[walk.edges["edge_id"] == closed_id].geometry.iloc[0]
    point = shapely.line_interpolate_point(edge_geom, 0.5, normalized=True)

    nets, layer = apply_closures({"walk": walk, "drive": drive}, _report(point, walk.crs), distance_m=1.0)
    closed_walk = set(layer.loc[layer["mode"] == "walk", "edge_id"].tolist())
    assert closed_id in closed_walk
    # Walk and drive networks number their edges apart: the same street is closed for cars.
    drive_closed = layer[(layer["mode"] == "drive").to_numpy()]
    assert shapely.equals(drive_closed.geometry.to_numpy(), edge_geom).any()
    # Only edges within 1 m of the point: checked with shapely on every edge.
    near = set(walk.edges.loc[shapely.distance(walk.edges.geometry.to_numpy(), point) <= 1.0, "edge_id"].tolist())
    assert closed_walk == near
    assert nets["walk"].n_edges == walk.n_edges - len(closed_walk)
    assert (layer["report_category"] == "road_closed").all()

    after = _evacuate(nets["walk"], blds, sh)
    assert not set(after.routes["edge_id"].tolist()) & closed_walk  # no route uses a closed edge

    t0 = before.buildings["time_s"].to_numpy()
    t1 = after.buildings["time_s"].to_numpy()
    ok = after.buildings["reachable"].to_numpy()
    # Every time equals the independent search on the network minus the closed edges (dry, 1 m/s).
    oracle = _networkx_metres(walk, blds, sh, closed_walk)
    np.testing.assert_allclose(t1[ok], oracle[ok], rtol=1e-9, atol=1e-6)
    assert np.isinf(oracle[~ok]).all()

    # The buildings whose walk used the edge now take longer; nobody got faster, except where a building
    # or a shelter stood on the closed street (it now joins another street, which may happen to lead closer).
    def on_closed(geoms):
        edge = walk.snap(geoms, max_distance_m=500).edge
        return (edge >= 0) & np.isin(walk.edges["edge_id"].to_numpy()[np.maximum(edge, 0)], list(closed_walk))

    moved = sh["shelter_id"].to_numpy()[on_closed(sh.geometry.to_numpy())]
    touched = before.buildings["shelter_id"].isin(moved).to_numpy() | after.buildings["shelter_id"].isin(moved)
    same = ok & np.isfinite(t0) & ~on_closed(blds.geometry.to_numpy()) & ~touched.to_numpy()
    assert (t1[same] >= t0[same] - 1e-6).all()
    slower = np.isfinite(t0) & (t1 > t0 + 1e-6)
    assert slower.sum() >= 1


def test_retired_or_other_reports_close_nothing(jakarta):
    walk, drive, _, _ = jakarta
    point = shapely.line_interpolate_point(walk.edges.geometry.iloc[0], 0.5, normalized=True)
    for category, status in (("road_closed", "rejected"), ("flooding_observed", "published")):
        nets, layer = apply_closures({"walk": walk}, _report(point, walk.crs, category=category, status=status))
        assert nets["walk"] is walk
        assert len(layer) == 0
    nets, layer = apply_closures({"walk": walk}, _report(point, walk.crs, category="evacuation_obstacle"))
    assert len(layer) >= 1
    assert nets["walk"].n_edges == walk.n_edges - len(layer)


def test_closure_distance_is_measured_in_metres_from_the_report(jakarta):
    walk, _, _, _ = jakarta
    edge = walk.edges.geometry.iloc[100]
    mid = shapely.line_interpolate_point(edge, 0.5, normalized=True)
    pts = gpd.GeoSeries([mid], crs=walk.crs).to_crs(4326)
    for d in (1.0, 15.0, 60.0):
        hit, _ = closed_edges(walk, pts, distance_m=d)
        expect = np.flatnonzero(shapely.distance(walk.edges.geometry.to_numpy(), mid) <= d)
        assert set(hit.tolist()) == set(expect.tolist())
