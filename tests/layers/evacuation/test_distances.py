"""What ``distance_m`` measures (issue 13 #1), on Jakarta and Kibera with schools as unlimited shelters, all dry.

The walk runs from the building's representative point straight to its street, along the streets and
straight to the shelter: at 1 m/s ``time_s == distance_m`` exactly, no walk is shorter than the straight
line, and every building's distance equals an independent networkx Dijkstra on the same edges and snaps.
Jakarta's network (33k nodes, 67k graph nodes) is large enough that scipy's int32 predecessors overflowed
``pred * size`` and gave 6,000 wrong distances, some shorter than the straight line.
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from layers.evacuation.assign import evacuate
from layers.evacuation.network import Network, network_from_roads


def _schools(facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    s = facilities[facilities["category"].astype("string").eq("school").fillna(False).to_numpy()]
    return gpd.GeoDataFrame(
        {"shelter_id": np.arange(1, len(s) + 1), "capacity": np.nan, "safe": True},
        geometry=s.geometry.to_numpy(),
        crs=s.crs,
    )


@pytest.fixture(scope="module")
def jakarta(shared_data):
    from layers.io.crs import working_crs
    from layers.io.vectors import buildings_from_frame, facilities_from_buildings, read_vector, roads_from_file

    d = shared_data / "jakarta"
    raw = read_vector(d / "jakarta_building.gpkg", what="buildings")
    crs = working_crs(raw)
    net = network_from_roads(roads_from_file(d / "jakarta_roads.shp", crs=crs))
    blds = buildings_from_frame(raw, crs=crs)
    return net, blds, _schools(facilities_from_buildings(raw, crs=crs))


@pytest.fixture(scope="module")
def kibera(shared_data):
    from layers.evacuation.network import walk_network_from_osm
    from layers.io.osm import buildings_from_osm, facilities_from_osm

    osm = shared_data / "kibera" / "kibera_map_2012.osm"
    net = walk_network_from_osm(osm)
    return net, buildings_from_osm(osm, crs=net.crs), _schools(facilities_from_osm(osm, crs=net.crs))


def _evacuate(net, blds, sh, speed):
    with warnings.catch_warnings():  # Jakarta: 38 buildings lie beyond the roads file (a known, tested warning)
        warnings.filterwarnings("ignore", message=".* m from the network")
        return evacuate(net, blds, sh, walk_speed_m_s=speed)


def _networkx_distances(net: Network, blds: gpd.GeoDataFrame, sh: gpd.GeoDataFrame) -> np.ndarray:
    """Metres from each building to its nearest shelter: a virtual source joined to both ends of each
    shelter's edge (plus its straight leg), networkx Dijkstra, then the building's cheaper edge end or a
    straight walk along its edge to a shelter on it."""
    e = net.edges
    length = e["length_m"].to_numpy()
    u, v = e["u"].to_numpy(), e["v"].to_numpy()
    g = nx.Graph()
    for a, b, w in zip(u.tolist(), v.tolist(), length.tolist(), strict=True):
        if not g.has_edge(a, b) or g[a][b]["weight"] > w:
            g.add_edge(a, b, weight=w)
    s_edge, s_frac, s_gap = net.snap(sh.geometry.to_numpy(), max_distance_m=500)
    for j in np.flatnonzero(s_edge >= 0):
        k = s_edge[j]
        for node, part in ((u[k], s_frac[j]), (v[k], 1 - s_frac[j])):
            w = s_gap[j] + part * length[k]
            if not g.has_edge("S", node) or g["S"][node]["weight"] > w:
                g.add_edge("S", node, weight=w)
    dist = nx.single_source_dijkstra_path_length(g, "S", weight="weight")
    b_edge, b_frac, b_gap = net.snap(blds.geometry.to_numpy(), max_distance_m=500)
    out = np.full(len(blds), np.inf)
    for i in np.flatnonzero(b_edge >= 0):
        k, f = b_edge[i], b_frac[i]
        best = min(dist.get(u[k], np.inf) + f * length[k], dist.get(v[k], np.inf) + (1 - f) * length[k])
        for j in np.flatnonzero(s_edge == k):
            best = min(best, abs(f - s_frac[j]) * length[k] + s_gap[j])
        out[i] = best + b_gap[i]
    return out


@pytest.mark.parametrize("place", ["jakarta", "kibera"])
def test_dry_walk_distance_is_time_times_speed_and_matches_networkx(place, request):
    net, blds, sh = request.getfixturevalue(place)
    res = _evacuate(net, blds, sh, 1.0)
    b = res.buildings
    ok = b["reachable"].to_numpy()
    assert ok.sum() > 0.9 * len(b)
    if place == "jakarta":
        assert ok.sum() == 7591  # 38 buildings are off the network, 60 cut off from every school
    dist, time_s = b["distance_m"].to_numpy()[ok], b["time_s"].to_numpy()[ok]
    np.testing.assert_array_equal(time_s, dist)  # exactly, at 1 m/s
    # Never shorter than the straight line from the building's representative point to its shelter.
    start = shapely.point_on_surface(b.geometry.to_numpy()[ok])
    target = sh.set_index("shelter_id").geometry.loc[b["shelter_id"].to_numpy()[ok].astype(int)].to_numpy()
    assert (dist >= shapely.distance(start, target) - 1e-6).all()
    np.testing.assert_allclose(dist, _networkx_distances(net, blds, sh)[ok], rtol=1e-9, atol=1e-6)


def test_other_speeds_scale_the_same_walk(jakarta):
    net, blds, sh = jakarta
    one = _evacuate(net, blds, sh, 1.0).buildings
    slow = _evacuate(net, blds, sh, 1.3).buildings
    ok = one["reachable"].to_numpy()
    np.testing.assert_allclose(slow["distance_m"].to_numpy()[ok], one["distance_m"].to_numpy()[ok], rtol=1e-12)
    np.testing.assert_allclose(slow["time_s"].to_numpy()[ok], one["distance_m"].to_numpy()[ok] / 1.3, rtol=1e-12)


def test_route_lines_are_connected_paths(jakarta):
    """The same int32 overflow sent 6,244 of 7,591 Jakarta route lines (and 470 edges' people counts) along
    arcs of other parts of the tree: each route must be one connected line from the building to its shelter."""
    net, blds, sh = jakarta
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".* m from the network")
        res = evacuate(net, blds, sh, building_routes=True)
    routes = res.building_routes
    assert len(routes) == int(res.buildings["reachable"].sum())
    pieces = shapely.get_num_geometries(shapely.buffer(routes.geometry.to_numpy(), 0.01))
    assert (pieces == 1).all()
    # Each line reaches its shelter's street: the shelter is within its snap distance of the line.
    target = sh.set_index("shelter_id").geometry.loc[routes["shelter_id"].astype(int)].to_numpy()
    s_gap = net.snap(target, max_distance_m=500).gap_m
    assert (shapely.distance(routes.geometry.to_numpy(), target) <= s_gap + 1e-6).all()
