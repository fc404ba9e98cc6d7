"""Catchments from the assignment: every building lies in its own shelter's polygon, borders included."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.evacuation.catchments import catchments_and_unreachable

CRS = "EPSG:32748"


def _buildings(xy: np.ndarray, shelter: np.ndarray, reason=None) -> gpd.GeoDataFrame:
    n = len(xy)
    reach = shelter >= 0
    return gpd.GeoDataFrame(
        {
            "building_id": np.arange(1, n + 1),
            "shelter_id": pd.Series(shelter, dtype="Int64").where(reach, pd.NA),
            "time_s": np.where(reach, np.arange(n, dtype=float), np.nan),
            "reachable": reach,
            "people": np.full(n, 4.0),
            "reason": pd.array(np.where(reach, None, reason or "no_route"), dtype="string"),
        },
        geometry=shapely.box(xy[:, 0] - 3, xy[:, 1] - 3, xy[:, 0] + 3, xy[:, 1] + 3),
        crs=CRS,
    )


def _check_partition(b: gpd.GeoDataFrame, catch: gpd.GeoDataFrame, lost: gpd.GeoDataFrame) -> None:
    """Each building's centroid is covered by its shelter's catchment (or its reason's zone) and by no
    other polygon; the polygons do not overlap."""
    cent = shapely.centroid(b.geometry.to_numpy())
    polys = {f"s{int(s)}": g for s, g in zip(catch["shelter_id"], catch.geometry, strict=True)}
    zones = lost[lost["kind"] == "zone"]
    polys.update({f"r{r}": g for r, g in zip(zones["reason"], zones.geometry, strict=True)})
    own = np.where(
        b["reachable"].to_numpy(bool),
        "s" + b["shelter_id"].astype("string").fillna("").to_numpy(dtype=object),
        "r" + b["reason"].astype("string").fillna("").to_numpy(dtype=object),
    )
    for key, poly in polys.items():
        inside = shapely.covers(poly, cent)
        mine = own == key
        assert inside[mine].all(), f"{key}: {int((~inside[mine]).sum())} of its buildings outside"
        # Strictly inside another polygon: never (a point on a shared border is covered by both).
        assert not shapely.contains_properly(poly, cent[~mine]).any(), f"{key} holds another's building"
    areas = sum(shapely.area(p) for p in polys.values())
    union = shapely.union_all(list(polys.values()))
    assert areas == pytest.approx(shapely.area(union), rel=1e-6)  # no overlaps


def test_interleaved_borders_each_building_in_its_own_catchment():
    """Three shelters whose buildings interleave along their borders (as capacity spills make them)."""
    rng = np.random.default_rng(3)
    n = 6_000
    xy = rng.uniform(0, 3_000, size=(n, 2))
    shelter = np.where(xy[:, 0] < 1_000, 1, np.where(xy[:, 0] < 2_000, 2, 3))
    border = np.abs(xy[:, 0] - 1_000) < 150
    shelter[border] = rng.choice([1, 2], size=border.sum())  # a 300 m wide band of mixed neighbours
    shelter[(xy[:, 1] > 2_800) & (xy[:, 0] > 2_500)] = -1  # a cut-off corner
    b = _buildings(xy, shelter)
    catch, lost = catchments_and_unreachable(b)
    assert catch["shelter_id"].tolist() == [1, 2, 3]
    ok = b[b["reachable"]]
    expected = ok.groupby(ok["shelter_id"].astype("int64"))["people"].agg(["size", "sum"])
    assert catch["buildings"].tolist() == expected["size"].tolist()
    assert catch["people"].tolist() == expected["sum"].tolist()
    assert catch.is_valid.all()
    assert (lost["kind"] == "building").sum() == int((shelter < 0).sum())
    _check_partition(b, catch, lost)
    # Together they cover the buildings' hull grown by 100 m.
    hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(shapely.centroid(b.geometry.to_numpy()))), 100)
    total = shapely.union_all(list(catch.geometry) + list(lost.loc[lost["kind"] == "zone"].geometry))
    assert shapely.area(total) == pytest.approx(shapely.area(hull), rel=1e-3)


@pytest.mark.parametrize("cell_m", [None, 7.0, 400.0])
def test_every_cell_size_keeps_buildings_in_their_catchment(cell_m):
    """Fine grids (few buildings per cell) and coarse ones (every cell mixed) give the same guarantee."""
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 800, size=(1_500, 2))
    shelter = rng.integers(1, 6, size=len(xy))  # salt and pepper: the worst case for a grid
    b = _buildings(xy, shelter)
    catch, lost = catchments_and_unreachable(b, cell_m=cell_m)
    assert len(catch) == 5
    _check_partition(b, catch, lost)


def test_catchments_of_a_real_assignment(shared_data):
    """Kibera from its OSM file, shelters with small capacities so people spill across borders."""
    from layers.evacuation.assign import evacuate
    from layers.evacuation.network import walk_network_from_osm
    from layers.io.osm import buildings_from_osm

    osm = shared_data / "kibera" / "kibera_map_2012.osm"
    net = walk_network_from_osm(osm)
    crs = net.crs
    b = buildings_from_osm(osm, crs=crs)
    rng = np.random.default_rng(0)
    nodes = rng.choice(net.n_nodes, 6, replace=False)
    shelters = gpd.GeoDataFrame(
        {"shelter_id": np.arange(1, 7), "capacity": np.full(6, 4.0 * len(b) / 6 * 0.8), "safe": True},
        geometry=shapely.points(net.nodes_xy[nodes]),
        crs=crs,
    )
    res = evacuate(net, b, shelters, people=4.0)
    catch, lost = catchments_and_unreachable(res.buildings)
    assert set(catch["shelter_id"]) == set(res.buildings.loc[res.buildings["reachable"], "shelter_id"])
    _check_partition(res.buildings, catch, lost)


def test_labels_of_shelters_and_of_several_reasons():
    """Shelters and two unreachable reasons, scattered among each other: each label (named per distinct
    shelter or reason) gets its own polygon, the inner ones untouched by the hull and the outer ones cut
    to it, and together they tile the hull."""
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 2_000, size=(4_000, 2))
    shelter = 1 + (xy[:, 0] // 500).astype(np.int64) + 4 * (xy[:, 1] // 500).astype(np.int64)  # 16 blocks
    scattered = rng.random(len(xy)) < 0.03
    shelter[scattered] = -1
    b = _buildings(xy, shelter)
    b.loc[scattered & (xy[:, 0] < 1_000), "reason"] = "flooded"
    catch, lost = catchments_and_unreachable(b)
    assert catch["shelter_id"].tolist() == list(range(1, 17))
    zones = lost[lost["kind"] == "zone"]
    assert zones["reason"].tolist() == ["flooded", "no_route"]
    assert zones["buildings"].tolist() == [
        int((scattered & (xy[:, 0] < 1_000)).sum()),
        int((scattered & (xy[:, 0] >= 1_000)).sum()),
    ]
    _check_partition(b, catch, lost)
    hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy)), 100)
    shapes = list(catch.geometry) + list(zones.geometry)
    assert all(shapely.covers(hull.buffer(1e-6), s) for s in shapes)
    assert sum(shapely.area(s) for s in shapes) == pytest.approx(shapely.area(hull), rel=1e-6)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_one_shelter_or_a_few_buildings_on_a_line(n):
    """A single label is the hull itself; a handful of collinear buildings still split the hull."""
    xy = np.column_stack([np.arange(n) * 10.0, np.arange(n) * 10.0])
    for shelter in (np.ones(n, np.int64), 1 + np.arange(n) % 2):
        b = _buildings(xy, shelter)
        catch, lost = catchments_and_unreachable(b)
        assert catch["shelter_id"].tolist() == sorted(set(shelter.tolist()))
        _check_partition(b, catch, lost)
        hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy)), 100)
        assert catch.area.sum() == pytest.approx(shapely.area(hull), rel=1e-6)


def test_pieces_merged_per_cell_or_left_apart_give_the_same_catchments(monkeypatch):
    """The coverage union of a cell's pieces per label is only a shortcut: when GEOS refuses it (edges not
    matched) the pieces go to the union per label unmerged, and the catchments are the same."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 800, size=(1_500, 2))
    b = _buildings(xy, rng.integers(1, 4, size=len(xy)))
    merged, _ = catchments_and_unreachable(b)

    def refuse(*args, **kwargs):
        raise shapely.errors.GEOSException("CoverageUnion cannot process incorrectly noded inputs")

    monkeypatch.setattr(shapely, "coverage_union_all", refuse)
    apart, lost = catchments_and_unreachable(b)
    _check_partition(b, apart, lost)
    assert apart.drop(columns="geometry").equals(merged.drop(columns="geometry"))
    diff = shapely.area(shapely.symmetric_difference(apart.geometry.to_numpy(), merged.geometry.to_numpy()))
    assert (diff <= 1e-6 * apart.area.to_numpy()).all()
