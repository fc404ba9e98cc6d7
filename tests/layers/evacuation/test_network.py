"""Networks from road lines: topology from shared vertices, walk/drive filters, hazard along edges."""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from layers.errors import InvalidInputError
from layers.evacuation.network import drive_network_from_osm, drive_time_s, network_from_roads, walk_network_from_osm

CRS = "EPSG:32748"


def roads(lines, classes=None, oneway=None) -> gpd.GeoDataFrame:
    n = len(lines)
    return gpd.GeoDataFrame(
        {
            "road_id": np.arange(1, n + 1),
            "road_class": classes or ["residential"] * n,
            "oneway": oneway or [False] * n,
            "name": [f"road {i}" for i in range(1, n + 1)],
        },
        geometry=[LineString(c) for c in lines],
        crs=CRS,
    )


def test_shared_vertex_splits_lines_into_edges():
    """Two unsplit lines sharing a middle vertex: 5 nodes, 4 edges, each edge runs u -> v."""
    net = network_from_roads(roads([[(0, 0), (50, 0), (100, 0)], [(50, -50), (50, 0), (50, 50)]]))
    assert (net.n_nodes, net.n_edges) == (5, 4)
    assert sorted(net.edges["length_m"]) == [50.0] * 4
    for geom, u, v in zip(net.edges.geometry, net.edges["u"], net.edges["v"], strict=False):
        assert Point(geom.coords[0]).equals(Point(net.nodes_xy[u]))
        assert Point(geom.coords[-1]).equals(Point(net.nodes_xy[v]))
    assert set(net.edges["road_id"]) == {1, 2}
    assert set(net.edges["name"]) == {"road 1", "road 2"}


def test_crossing_without_shared_vertex_is_a_bridge():
    """Lines that cross between vertices do not meet (a bridge over a street)."""
    net = network_from_roads(roads([[(0, 0), (100, 0)], [(50, -50), (50, 50)]]))
    assert (net.n_nodes, net.n_edges) == (4, 2)
    assert len(np.unique(net.components())) == 2


def test_interior_vertices_are_kept_in_edge_geometry():
    """A bent line touching another only at its end keeps its bends; T junction at an interior vertex."""
    net = network_from_roads(roads([[(0, 0), (10, 10), (20, 0), (30, 10)], [(20, 0), (20, -40)]]))
    assert (net.n_nodes, net.n_edges) == (4, 3)
    total = shapely.length(shapely.linestrings([(0, 0), (10, 10), (20, 0), (30, 10)])) + 40
    assert net.edges["length_m"].sum() == pytest.approx(total)
    first = net.edges.geometry.iloc[0]
    assert len(first.coords) == 3  # (0,0) (10,10) (20,0)


def test_repeated_vertices_and_loops():
    """A duplicated vertex adds nothing; a closed ring touching the network at one vertex is a loop edge."""
    net = network_from_roads(roads([[(0, 0), (50, 0), (50, 0), (100, 0)], [(100, 0), (100, 50), (150, 50), (100, 0)]]))
    assert net.edges["length_m"].sum() == pytest.approx(100 + 50 + 50 + np.hypot(50, 50))
    assert (net.edges["length_m"] > 0).all()


def test_walk_and_drive_filters():
    lines = [[(0, 0), (100, 0)], [(100, 0), (200, 0)], [(200, 0), (300, 0)]]
    r = roads(lines, classes=["motorway", "footway", "residential"])
    walk = network_from_roads(r, mode="walk")
    drive = network_from_roads(r, mode="drive")
    assert sorted(walk.edges["road_class"]) == ["footway", "residential"]
    assert sorted(drive.edges["road_class"]) == ["motorway", "residential"]


def test_one_way_streets_only_in_drive_mode():
    r = roads([[(0, 0), (100, 0)]], oneway=[True])
    walk = network_from_roads(r, mode="walk")
    drive = network_from_roads(r, mode="drive")
    cost = np.array([1.0])
    assert walk.matrix(cost).nnz == 2
    m = drive.matrix(cost)
    u, v = int(drive.edges["u"].iloc[0]), int(drive.edges["v"].iloc[0])
    assert m.nnz == 1
    assert m[u, v] == 1.0
    assert m[v, u] == 0.0
    assert drive_time_s(drive)[0] == pytest.approx(100 / (20 / 3.6))


def test_parallel_edges_keep_the_cheapest_arc():
    net = network_from_roads(roads([[(0, 0), (100, 0)], [(0, 0), (50, 80), (100, 0)]]))
    assert net.n_edges == 2
    m = net.matrix(net.edges["length_m"].to_numpy())
    assert m.nnz == 2
    assert m.max() == pytest.approx(100.0)


def test_snap_to_nearest_edge():
    net = network_from_roads(roads([[(0, 0), (100, 0)], [(0, 50), (100, 50)]]))
    edge, frac, dist = net.snap([Point(25, 5), Point(80, 44), Point(50, 900)], max_distance_m=100)
    assert edge[2] == -1
    assert np.isinf(dist[2])
    assert frac[0] == pytest.approx(0.25)
    assert dist[0] == pytest.approx(5)
    assert dist[1] == pytest.approx(6)


def test_bad_input():
    with pytest.raises(InvalidInputError, match="geographic CRS"):
        network_from_roads(roads([[(0, 0), (1, 1)]]).set_crs(4326, allow_override=True))
    with pytest.raises(InvalidInputError, match="road_class"):
        network_from_roads(roads([[(0, 0), (1, 1)]]).drop(columns="road_class"))
    with pytest.raises(InvalidInputError, match="mode"):
        network_from_roads(roads([[(0, 0), (1, 1)]]), mode="fly")


def test_kibera_walk_network_from_osm(shared_data):
    """The Kibera OSM file yields a walk network with its footways and paths, matching osmnx's vertices."""
    import osmnx as ox

    osm = shared_data / "kibera" / "kibera_map_2012.osm"
    net = walk_network_from_osm(osm)
    assert net.crs.to_epsg() == 32737
    assert (net.n_nodes, net.n_edges) == (905, 1088)
    classes = net.edges["road_class"].value_counts()
    assert classes["footway"] == 317
    assert classes["path"] == 51
    comps = np.bincount(net.components())
    assert comps.max() > 0.9 * net.n_nodes
    # Independent check: the highway ways osmnx reads from the same file (unsimplified) have the
    # same vertices and length; GDAL puts 7 closed pedestrian areas in its polygon layer instead.
    g = ox.graph_from_xml(osm, simplify=False, retain_all=True, bidirectional=True)
    hw = [(u, v, d) for u, v, d in g.edges(data=True) if d.get("highway") not in (None, "pedestrian")]
    osmnx_nodes = {n for u, v, _ in hw for n in (u, v)}
    ours = np.unique(np.round(shapely.get_coordinates(net.edges.geometry.to_numpy()), 2), axis=0)
    assert abs(len(ours) - len(osmnx_nodes)) <= 0.005 * len(osmnx_nodes)
    osmnx_km = sum(d["length"] for _, _, d in hw) / 2 / 1000
    assert net.edges["length_m"].sum() / 1000 == pytest.approx(osmnx_km, rel=0.01)
    drive = drive_network_from_osm(osm)
    assert not drive.edges["road_class"].isin(["footway", "path"]).any()
    assert drive.n_edges < net.n_edges
    assert len(drive.nodes()) == drive.n_nodes


def test_jakarta_roads_network(sample_area_dir):
    """Jakarta's unsplit road lines become one main connected network, built in well under 10 s."""
    from layers.io.vectors import roads_from_file

    r = roads_from_file(sample_area_dir / "roads.gpkg", crs=CRS)
    t = time.perf_counter()
    net = network_from_roads(r, mode="walk")
    elapsed = time.perf_counter() - t
    assert elapsed < 10
    assert net.n_edges > 2 * len(r)  # lines really were split at their shared vertices
    assert net.edges["length_m"].sum() / 1000 == pytest.approx(
        r[~r.road_class.isin(["motorway", "motorway_link", "construction"])].length.sum() / 1000, rel=1e-6
    )
    comps = np.bincount(net.components())
    assert comps.max() > 0.95 * net.n_nodes


def test_tandale_footway_network(shared_data):
    """Tandale (Dar es Salaam): 805 of 885 unsplit lines are footways; rebuilt, they form one network."""
    from layers.io.crs import working_crs
    from layers.io.vectors import roads_from_file

    r = roads_from_file(shared_data / "dar_es_salaam" / "tandale-roads.shp")
    r = r.to_crs(working_crs(r))
    walk = network_from_roads(r, mode="walk")
    drive = network_from_roads(r, mode="drive")
    assert (walk.n_nodes, walk.n_edges) == (1510, 2086)
    assert (walk.edges["road_class"] == "footway").sum() > 0.75 * walk.n_edges
    assert np.bincount(walk.components()).max() > 0.98 * walk.n_nodes
    # Footways carry most of the walk network; the drive network is a small part of it.
    assert drive.edges["length_m"].sum() < 0.5 * walk.edges["length_m"].sum()


def test_empty_roads_give_an_empty_network_and_a_named_error_where_routing_needs_edges(shared_data):
    """Issue 13 #5: the Jakarta roads file with no rows was an IndexError; now a typed error naming the layer."""
    from layers.errors import EmptyLayerError
    from layers.evacuation.network import require_edges
    from layers.io.vectors import roads_from_frame

    path = shared_data / "jakarta" / "jakarta_roads.shp"
    raw = gpd.read_file(path).iloc[:0]
    net = network_from_roads(roads_from_frame(raw, crs="EPSG:32748"), source=str(path))
    assert (net.n_nodes, net.n_edges) == (0, 0)
    assert list(net.edges.columns[:4]) == ["edge_id", "u", "v", "length_m"]
    with pytest.raises(EmptyLayerError, match=f"{path}: no road line that can be walked"):
        require_edges(net, str(path))
