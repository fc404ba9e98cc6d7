"""The shortcuts of a city-scale evacuation give the answers of the plain computations they skip:
edges far from any wet cell, nearest-edge search by chunks, the catchments' hull from qhull candidates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from layers.evacuation import catchments, snap
from layers.evacuation.graph import edge_depth_m, near_wet_cells
from layers.evacuation.network import network_from_roads
from layers.hazard.sampling import max_depth_along_lines
from layers.hazard.sources import open_hazard

CRS = "EPSG:32748"


def _grid_network(side: int = 30, block: float = 50.0, seed: int = 3):
    """A jittered street grid of ``side`` x ``side`` nodes, lines unsplit at junctions."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    xy = np.stack([jj * block, ii * block], axis=-1) + rng.uniform(-8, 8, (side, side, 2)) + [500_000.0, 9_300_000.0]
    rows = shapely.linestrings(xy.reshape(-1, 2), indices=np.repeat(np.arange(side), side))
    cols = shapely.linestrings(xy.transpose(1, 0, 2).reshape(-1, 2), indices=np.repeat(np.arange(side), side))
    lines = np.concatenate([rows, cols])
    roads = gpd.GeoDataFrame(
        {"road_id": np.arange(1, len(lines) + 1), "road_class": "residential", "oneway": False},
        geometry=lines,
        crs=CRS,
    )
    return network_from_roads(roads, mode="walk")


def _raster(path, values: np.ndarray, x0: float, y0: float, cell: float, nodata=-9999.0, crs=CRS) -> str:
    profile = {
        "driver": "GTiff",
        "width": values.shape[1],
        "height": values.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": crs,
        "transform": from_origin(x0, y0, cell, cell),
        "nodata": nodata,
        "tiled": True,
        "blockxsize": 16,
        "blockysize": 16,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values.astype(np.float32)[None])
    return str(path)


def _plain_depth(net, hazard) -> np.ndarray:
    return np.nan_to_num(max_depth_along_lines(net.edges.geometry, hazard), nan=0.0, posinf=np.inf)


@pytest.fixture(scope="module")
def net():
    return _grid_network()


@pytest.fixture(scope="module")
def patchy_raster(net, tmp_path_factory):
    """Wet patches, a negative cell, a nodata block; the raster covers only part of the network."""
    xmin, ymin, xmax, ymax = net.edges.total_bounds
    cell = 5.0
    h, w = int((ymax - ymin) / cell * 0.7), int((xmax - xmin) / cell * 0.8)
    v = np.zeros((h, w))
    v[20:40, 30:90] = np.linspace(0.1, 1.9, 60)  # a wet patch
    v[150, 5:200] = 0.3  # a thin wet line across several blocks
    v[100, 100] = -0.2  # a negative value is not dry
    v[170:190, 10:40] = -9999.0  # nodata
    v[195, 220] = 2.5  # one wet cell alone
    return _raster(tmp_path_factory.mktemp("wet") / "wet.tif", v, xmin + 30, ymax - 20, cell)


def test_edge_depth_equals_sampling_every_edge(net, patchy_raster):
    hazard = open_hazard(patchy_raster)
    plain = _plain_depth(net, hazard)
    fast = edge_depth_m(net, hazard)
    assert np.array_equal(fast, plain)
    assert (plain > 0).sum() > 20  # wet edges were sampled: the check is not vacuous
    assert plain.max() > 1.0


def test_edge_depth_in_another_crs_equals_sampling(net, tmp_path):
    """The raster in UTM 49S: edges are brought into its CRS once, for the check and the sampling."""
    edges = net.edges.to_crs("EPSG:32749")
    xmin, ymin, xmax, ymax = edges.total_bounds
    v = np.zeros((int((ymax - ymin) / 5) + 4, int((xmax - xmin) / 5) + 4))
    v[50:60, 40:120] = 0.8
    hazard = open_hazard(_raster(tmp_path / "h49.tif", v, xmin - 10, ymax + 10, 5.0, crs="EPSG:32749"))
    plain = _plain_depth(net, hazard)
    assert np.array_equal(edge_depth_m(net, hazard), plain)
    assert np.isclose(plain, 0.8).sum() > 5


def test_dry_raster_and_raster_beside_the_network_give_zero_depth(net, tmp_path):
    xmin, ymin, xmax, ymax = net.edges.total_bounds
    dry = open_hazard(_raster(tmp_path / "dry.tif", np.zeros((300, 300)), xmin, ymax, 5.0))
    away = open_hazard(_raster(tmp_path / "away.tif", np.full((50, 50), 3.0), xmax + 500, ymax, 5.0))
    for hazard in (dry, away):
        assert np.array_equal(edge_depth_m(net, hazard), np.zeros(net.n_edges))
        assert np.array_equal(_plain_depth(net, hazard), np.zeros(net.n_edges))


def testnear_wet_cells_uses_coarse_blocks_when_the_raster_is_large(net, patchy_raster, monkeypatch):
    """Blocks of several cells (a large raster) flag more edges, never fewer; the depths stay exact."""
    hazard = open_hazard(patchy_raster)
    bounds = shapely.bounds(net.edges.geometry.to_numpy())
    fine = near_wet_cells(bounds, hazard)
    from layers.evacuation import graph

    monkeypatch.setattr(graph, "WET_GRID_CELLS", 50)
    coarse = near_wet_cells(bounds, hazard)
    assert coarse[fine].all()
    assert coarse.sum() > fine.sum()
    assert np.array_equal(edge_depth_m(net, hazard), _plain_depth(net, hazard))


def _wet_by_cells(bounds: np.ndarray, values: np.ndarray, x0: float, y0: float, cell: float) -> np.ndarray:
    """The oracle: each box grown by one cell, its cells read one by one."""
    out = np.zeros(len(bounds), dtype=bool)
    wet = (values != 0) & (values != -9999.0)
    for k, (minx, miny, maxx, maxy) in enumerate(bounds):
        if not np.isfinite([minx, miny, maxx, maxy]).all():
            continue
        c0, c1 = int(np.floor((minx - x0) / cell)) - 1, int(np.floor((maxx - x0) / cell)) + 1
        r0, r1 = int(np.floor((y0 - maxy) / cell)) - 1, int(np.floor((y0 - miny) / cell)) + 1
        if c1 >= 0 and r1 >= 0:
            out[k] = wet[max(r0, 0) : r1 + 1, max(c0, 0) : c1 + 1].any()
    return out


@pytest.mark.parametrize("density", [0.0, 0.002, 0.05])
def test_near_wet_cells_equals_reading_each_box(tmp_path, density):
    """Boxes inside, astride and beside the raster (two corners only: the boxes' extent reaches the raster
    but none of them does), empty boxes, on dry, sparse and wet rasters: the blocks answer as the cells do."""
    rng = np.random.default_rng(11)
    values = np.where(rng.random((60, 80)) < density, 1.0, 0.0)
    values[rng.random(values.shape) < 0.02] = -9999.0
    x0, y0, cell = 1000.0, 5000.0, 10.0
    hazard = open_hazard(_raster(tmp_path / "h.tif", values, x0, y0, cell))
    x, y = rng.uniform(x0 - 150, x0 + 950, 4000), rng.uniform(y0 - 750, y0 + 150, 4000)
    boxes = np.column_stack([x, y, x + rng.uniform(0, 40, 4000), y + rng.uniform(0, 40, 4000)])
    boxes[::97] = np.nan
    corners = np.array([[x0 - 300, y0 + 10, x0 - 250, y0 + 40], [x0 + 1000, y0 - 900, x0 + 1100, y0 - 800]])
    for b in (boxes, corners, boxes[:1], boxes[::97]):
        assert np.array_equal(near_wet_cells(b, hazard), _wet_by_cells(b, values, x0, y0, cell))
    expected = _wet_by_cells(boxes, values, x0, y0, cell)
    assert expected.any() == (density > 0)  # not vacuous: wet rasters flag boxes, the dry one none


def test_snapping_by_chunks_equals_one_pass(net, monkeypatch):
    rng = np.random.default_rng(7)
    xmin, ymin, xmax, ymax = net.edges.total_bounds
    x, y = rng.uniform(xmin - 100, xmax + 100, 3000), rng.uniform(ymin - 100, ymax + 100, 3000)
    boxes = shapely.box(x - 4, y - 3, x + 4, y + 3)
    usable = np.arange(net.n_edges) % 5 != 0
    one = [net.snap(boxes, max_distance_m=60), net.snap(boxes, max_distance_m=60, usable=usable)]
    monkeypatch.setattr(snap, "SNAP_CHUNK", 37)
    chunked = [net.snap(boxes, max_distance_m=60), net.snap(boxes, max_distance_m=60, usable=usable)]
    for a, b in zip(one, chunked, strict=True):
        for u, v in zip(a, b, strict=True):
            assert np.array_equal(u, v)
    # Exact nearest edge: the same distance as GEOS measures to every edge.
    pts = shapely.point_on_surface(boxes)
    lines = net.edges.geometry.to_numpy()
    ok = one[0].edge >= 0
    assert ok.sum() > 2000
    nearest = shapely.distance(pts[ok], lines[one[0].edge[ok]])
    brute = np.array([shapely.distance(p, lines).min() for p in pts[ok][:300]])
    assert np.allclose(nearest[:300], brute, atol=1e-9)
    assert np.allclose(one[0].gap_m[ok], nearest, atol=1e-9)


def test_edge_pieces_split_long_edges_evenly():
    lines = np.array([shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(0, 0), (0, 30), (30, 30)])])
    p = snap.edge_pieces(lines)
    assert p["owner"].tolist() == [0, 0, 0, 1, 1]
    assert np.allclose(p["a"][:3, 0], [0, 100 / 3, 200 / 3])
    assert np.allclose(p["b"][2], [100, 0])
    assert np.allclose(p["before"], [0, 100 / 3, 200 / 3, 0, 30])


def test_hull_from_candidates_equals_hull_of_every_point():
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(5000, 2)) * [300, 100] + [500_000, 9_300_000]
    full = shapely.convex_hull(shapely.multipoints(xy))
    fast = shapely.convex_hull(shapely.multipoints(catchments._hull_candidates(xy)))
    assert shapely.to_wkb(fast) == shapely.to_wkb(full)
    line = np.column_stack([np.arange(40.0), np.arange(40.0) * 2])  # collinear: qhull fails, GEOS copes
    assert np.array_equal(catchments._hull_candidates(line), line)
    assert shapely.convex_hull(shapely.multipoints(line)).geom_type == "LineString"


def test_site_safety_samples_only_sites_near_wet_cells_and_answers_as_sampling_all(net, patchy_raster):
    """Shelter sites (points and footprints): depth, class and safety as geometry_hazard gives for every site."""
    from layers.evacuation.shelters import _site_safety
    from layers.hazard.classes import class_names
    from layers.hazard.sampling import geometry_hazard

    hazard = open_hazard(patchy_raster)
    rng = np.random.default_rng(5)
    xmin, ymin, xmax, ymax = net.edges.total_bounds
    x, y = rng.uniform(xmin, xmax, 400), rng.uniform(ymin, ymax, 400)
    geoms = np.where(np.arange(400) % 2 == 0, shapely.points(x, y), shapely.box(x - 6, y - 6, x + 6, y + 6))
    site = gpd.GeoSeries(geoms, crs=CRS)
    got = _site_safety(site, hazard, None)
    res = geometry_hazard(site, hazard)
    cls = res["hazard_class"].to_numpy()
    assert np.array_equal(got["depth_m"], np.nan_to_num(res["depth_max_m"].to_numpy(), nan=0.0))
    assert np.array_equal(got["safe"], cls < 0)
    assert list(got["hazard_class"]) == list(class_names(cls, hazard.classes.names))
    assert 0 < (~got["safe"]).sum() < 400  # some sites are wet: both paths were taken


def test_points_left_unproven_are_answered_by_geos_alike(net, monkeypatch):
    """One candidate, then eight: many points stay unproven and go to the GEOS fallback, same answers."""
    rng = np.random.default_rng(11)
    xmin, ymin, xmax, ymax = net.edges.total_bounds
    x, y = rng.uniform(xmin, xmax, 2000), rng.uniform(ymin, ymax, 2000)
    geoms = np.where(np.arange(2000) % 3 == 0, shapely.points(x, y), shapely.box(x - 5, y - 4, x + 5, y + 4))
    ref = net.snap(geoms, max_distance_m=500)
    calls = []
    real = shapely.STRtree

    def counting(lines):
        calls.append(len(lines))
        return real(lines)

    monkeypatch.setattr(snap, "SNAP_K", 1)
    monkeypatch.setattr(snap.shapely, "STRtree", counting)
    got = net.snap(geoms, max_distance_m=500)
    assert calls == [net.n_edges]  # the fallback ran
    assert (got.edge == ref.edge).mean() > 0.999
    same = got.edge == ref.edge
    assert np.allclose(got.gap_m, ref.gap_m, atol=1e-9)
    assert np.allclose(got.frac[same], ref.frac[same], atol=1e-9)


def test_dropping_the_snap_index_after_snapping_changes_no_answer(net):
    from layers.evacuation.assign import evacuate

    rng = np.random.default_rng(2)
    xmin, ymin, xmax, ymax = net.edges.total_bounds
    x, y = rng.uniform(xmin, xmax, 500), rng.uniform(ymin, ymax, 500)
    buildings = gpd.GeoDataFrame(
        {"building_id": np.arange(1, 501)}, geometry=shapely.box(x - 4, y - 4, x + 4, y + 4), crs=CRS
    )
    shelters = gpd.GeoDataFrame(
        {"shelter_id": [1, 2, 3], "capacity": [np.nan, 400.0, np.nan], "safe": [True, True, True]},
        geometry=shapely.points(net.nodes_xy[[10, 400, 800]]),
        crs=CRS,
    )
    kept = evacuate(net, buildings, shelters)
    assert net._piece_cache is not None
    dropped = evacuate(net, buildings, shelters, keep_snap_index=False)
    assert net._piece_cache is None
    assert kept.buildings.drop(columns="geometry").equals(dropped.buildings.drop(columns="geometry"))
    assert kept.routes.drop(columns="geometry").equals(dropped.routes.drop(columns="geometry"))
    assert kept.buildings["reachable"].all()
    assert net.pieces()["a"].shape[1] == 2  # rebuilt when needed again


def test_edge_pieces_by_chunks_of_edges_equal_one_pass(net, monkeypatch):
    geoms = net.edges.geometry.to_numpy()
    whole = snap.edge_pieces(geoms)
    monkeypatch.setattr(snap, "PIECE_CHUNK", 7)
    chunked = snap.edge_pieces(geoms)
    for key in ("a", "b", "owner", "before"):
        assert np.array_equal(whole[key], chunked[key])
    assert len(whole["owner"]) > net.n_edges  # edges of ~50 m: some are cut in two
    assert whole["before"].max() > 0
