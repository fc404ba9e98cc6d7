"""EdgeLines: a network's lines kept as coordinates agree with the shapely lines they stand for."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from layers.evacuation.assign import evacuate
from layers.evacuation.edge_lines import EdgeLines
from layers.evacuation.network import Network, network_from_roads
from layers.evacuation.snap import edge_pieces

CRS = "EPSG:32748"


@pytest.fixture
def lines() -> np.ndarray:
    rng = np.random.default_rng(7)
    out = []
    for k in range(200):
        n = int(rng.integers(2, 7))
        xy = np.cumsum(rng.normal(0, 30, (n, 2)), axis=0) + [500_000 + 17.3 * k, 9_300_000]
        out.append(LineString(xy))
    return np.array(out, dtype=object)


def test_round_trip_bounds_and_lengths_equal_shapely(lines):
    el = EdgeLines.from_geoms(lines)
    assert len(el) == len(lines)
    assert np.array_equal(el.counts(), shapely.get_num_coordinates(lines))
    assert shapely.equals_exact(el.geoms(), lines, tolerance=0).all()
    assert np.array_equal(el.bounds(), shapely.bounds(lines))
    # Summed segment by segment in the same order as GEOS: the same float, not just close.
    assert np.array_equal(el.lengths(), shapely.length(lines))


def test_a_subset_in_any_order(lines):
    el = EdgeLines.from_geoms(lines)
    ids = np.array([199, 3, 3, 0, 57])
    assert shapely.equals_exact(el.geoms(ids), lines[ids], tolerance=0).all()
    sub = el.take(ids)
    assert shapely.equals_exact(sub.geoms(), lines[ids], tolerance=0).all()
    assert np.array_equal(sub.lengths(), shapely.length(lines[ids]))
    assert len(el.geoms(np.array([], dtype=np.int64))) == 0


def test_pieces_from_coordinates_equal_pieces_from_lines(lines):
    a, b = edge_pieces(EdgeLines.from_geoms(lines)), edge_pieces(lines)
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def grid_roads(n: int = 6, step: float = 100.0) -> gpd.GeoDataFrame:
    # A vertex at every crossing: lines are split only where they share one.
    at = np.arange(n) * step
    geoms = [LineString([(x, i * step) for x in at]) for i in range(n)]
    geoms += [LineString([(i * step, y) for y in at]) for i in range(n)]
    return gpd.GeoDataFrame(
        {"road_id": np.arange(1, len(geoms) + 1), "road_class": ["residential"] * len(geoms), "oneway": False},
        geometry=geoms,
        crs=CRS,
    )


def test_a_network_from_roads_equals_one_given_its_edges():
    built = network_from_roads(grid_roads(), mode="walk")
    given = Network(edges=built.edges.copy(), nodes_xy=built.nodes_xy, mode="walk", crs=built.crs)
    assert built.n_edges == given.n_edges == 60
    assert built.table.equals(given.table)
    assert np.array_equal(built.lines.xy, given.lines.xy)
    assert np.array_equal(built.lines.start, given.lines.start)
    # Every edge is 100 m: the coordinates' lengths are the table's.
    assert np.allclose(built.table["length_m"], 100.0)
    with pytest.raises(TypeError):
        Network(nodes_xy=built.nodes_xy, table=built.table)


def test_routing_leaves_the_edge_geodataframe_unmade_and_builds_only_the_used_lines():
    net = network_from_roads(grid_roads(), mode="walk")
    houses = gpd.GeoDataFrame({"building_id": [1, 2]}, geometry=[box(48, 8, 52, 12), box(448, 488, 452, 492)], crs=CRS)
    shelters = gpd.GeoDataFrame(
        {"shelter_id": [10], "capacity": [np.nan], "safe": [True]}, geometry=[Point(0, 0)], crs=CRS
    )
    res = evacuate(net, houses, shelters)
    assert net._edges is None  # the edge GeoDataFrame was never needed
    # House 1: 10 m to the bottom street, 50 m along it. House 2: 10 m to the street at y=500, 450 m
    # along it and 500 m down the x=0 street.
    assert res.buildings.sort_values("building_id")["distance_m"].round(6).tolist() == [60.0, 960.0]
    used = res.routes
    assert len(used) > 0
    assert np.allclose(shapely.length(used.geometry.to_numpy()), used["length_m"])
    assert used.crs == net.crs
