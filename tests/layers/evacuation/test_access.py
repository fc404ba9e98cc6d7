"""Emergency access (drive times, flooded roads closed, one-way streets), isochrones, catchments."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from layers.errors import InvalidInputError
from layers.evacuation.access import catchments_and_unreachable, emergency_access, isochrones
from layers.evacuation.network import network_from_roads

CRS = "EPSG:32748"
V = 20 / 3.6  # residential streets: 20 km/h in m/s


def drive_net(lines, oneway=None):
    n = len(lines)
    r = gpd.GeoDataFrame(
        {
            "road_id": np.arange(1, n + 1),
            "road_class": ["residential"] * n,
            "oneway": oneway or [False] * n,
            "name": None,
        },
        geometry=[LineString(c) for c in lines],
        crs=CRS,
    )
    return network_from_roads(r, mode="drive")


def stations(*xy, category="hospital"):
    return gpd.GeoDataFrame(
        {"facility_id": np.arange(1, len(xy) + 1), "category": category, "name": None},
        geometry=[Point(x, y) for x, y in xy],
        crs=CRS,
    )


def hoods(*xy):
    return gpd.GeoDataFrame(
        {"area_id": np.arange(1, len(xy) + 1), "name": [f"RW {i:02d}" for i in range(1, len(xy) + 1)]},
        geometry=[box(x - 10, y - 10, x + 10, y + 10) for x, y in xy],
        crs=CRS,
    )


# A square block: direct street 0,0 -> 500,0 and the long way round via 0,300 and 500,300.
SQUARE = [[(0, 0), (500, 0)], [(0, 0), (0, 300), (500, 300), (500, 0)]]


def test_drive_time_to_a_neighbourhood():
    net = drive_net(SQUARE)
    out, node_time = emergency_access(net, stations((0, 0)), hoods((500, 0)))
    assert out["time_s"].iloc[0] == pytest.approx(500 / V)
    assert out["time_dry_s"].iloc[0] == pytest.approx(500 / V)
    assert out["delay_s"].iloc[0] == pytest.approx(0)
    assert out["facility_id"].iloc[0] == 1
    assert out["facility_category"].iloc[0] == "hospital"
    assert np.isfinite(node_time).all()


def test_one_drive_speed_for_every_road():
    net = drive_net(SQUARE)
    out, _ = emergency_access(net, stations((0, 0)), hoods((500, 0)), drive_speed_kph=36.0)
    assert out["time_s"].iloc[0] == pytest.approx(50.0)
    with pytest.raises(InvalidInputError, match="must be positive"):
        emergency_access(net, stations((0, 0)), hoods((500, 0)), drive_speed_kph=0)


def test_one_way_street_against_the_direction_forces_the_detour():
    net = drive_net([[(500, 0), (0, 0)], SQUARE[1]], oneway=[True, False])
    out, _ = emergency_access(net, stations((0, 0)), hoods((500, 0)))
    assert out["time_s"].iloc[0] == pytest.approx(1100 / V)


def test_flooded_road_over_limit_is_closed():
    """0.35 m > 0.3 m: the direct street is closed, the ambulance goes round (delay shown); 0.25 m stays open."""
    net = drive_net(SQUARE)
    depth = np.zeros(net.n_edges)
    direct = int(np.argmin(net.edges["length_m"]))
    depth[direct] = 0.35
    out, _ = emergency_access(net, stations((0, 0)), hoods((500, 0)), depth_m=depth)
    assert out["time_s"].iloc[0] == pytest.approx(1100 / V)
    assert out["delay_s"].iloc[0] == pytest.approx(600 / V)
    depth[direct] = 0.25
    out, _ = emergency_access(net, stations((0, 0)), hoods((500, 0)), depth_m=depth)
    assert out["time_s"].iloc[0] == pytest.approx(500 / V)


def test_cut_off_neighbourhood_is_unreachable():
    net = drive_net(SQUARE + [[(2000, 0), (2500, 0)]])
    out, _ = emergency_access(net, stations((0, 0), (10, 300), category="fire_station"), hoods((500, 0), (2200, 0)))
    assert out["reachable"].tolist() == [True, False]
    assert np.isnan(out["time_s"].iloc[1])
    assert pd.isna(out["facility_id"].iloc[1])


def test_nearest_of_several_stations_wins():
    net = drive_net(SQUARE)
    out, _ = emergency_access(net, stations((0, 0), (500, 290)), hoods((500, 0)))
    assert out["facility_id"].iloc[0] == 2
    assert out["time_s"].iloc[0] == pytest.approx(290 / V)


def test_no_station_warns_and_walk_network_is_refused():
    net = drive_net(SQUARE)
    with pytest.warns(UserWarning, match="no facility of categories"):
        out, _ = emergency_access(net, stations((0, 0), category="school"), hoods((500, 0)))
    assert not out["reachable"].any()
    walk = network_from_roads(net.edges.assign(road_class="residential"), mode="walk")
    with pytest.raises(InvalidInputError, match="drive network"):
        emergency_access(walk, stations((0, 0)), hoods((500, 0)))


def test_isochrone_bands_are_rings():
    """A 10 km straight street from the station: each band covers the stretch driven in it."""
    net = drive_net([[(x, 0), (x + 100, 0)] for x in range(0, 10_000, 100)])
    _, node_time = emergency_access(net, stations((0, 0)), hoods((500, 0)))
    iso = isochrones(net, node_time, minutes=[5, 10, 15])
    assert iso["band"].tolist() == ["0-5 min", "5-10 min", "10-15 min"]
    # 5 min at 20 km/h = 1,667 m; a band holds whole 100 m edges whose far end is reached in time.
    first = iso.geometry.iloc[0]
    assert first.bounds[2] == pytest.approx(1600 + 50, abs=30)
    assert not iso.geometry.iloc[0].intersection(iso.geometry.iloc[1]).area > 1e-6
    with pytest.raises(InvalidInputError, match="positive"):
        isochrones(net, node_time, minutes=[0, 5])


def test_catchments_and_unreachable_zones():
    """Buildings of two shelters get two polygons holding their centroids; the cut-off ones form a zone."""
    xy = [(0, 0), (10, 0), (100, 0), (110, 0), (300, 0)]
    eb = gpd.GeoDataFrame(
        {
            "building_id": [1, 2, 3, 4, 5],
            "shelter_id": pd.array([7, 7, 9, 9, pd.NA], dtype="Int64"),
            "time_s": [10.0, 20.0, 30.0, 40.0, np.nan],
            "reachable": [True, True, True, True, False],
            "people": [1.0, 2.0, 3.0, 4.0, 5.0],
            "reason": pd.array([pd.NA] * 4 + ["no_route"], dtype="string"),
        },
        geometry=[box(x - 2, y - 2, x + 2, y + 2) for x, y in xy],
        crs=CRS,
    )
    catch, lost = catchments_and_unreachable(eb)
    assert catch["shelter_id"].tolist() == [7, 9]
    assert catch["people"].tolist() == [3.0, 7.0]
    assert catch["time_max_s"].tolist() == [20.0, 40.0]
    for sid, ids in ((7, [1, 2]), (9, [3, 4])):
        poly = catch.set_index("shelter_id").geometry.loc[sid]
        assert all(poly.contains(g.centroid) for g in eb.geometry[eb["building_id"].isin(ids)])
    assert not catch.geometry.iloc[0].intersection(catch.geometry.iloc[1]).area > 1e-6
    assert lost["kind"].tolist() == ["building", "zone"]
    assert lost["reason"].tolist() == ["no_route", "no_route"]
    assert lost.geometry.iloc[1].contains(Point(300, 0))
    assert lost["people"].tolist() == [5.0, 5.0]


def test_jakarta_emergency_access(sample_area_dir):
    """RW neighbourhoods, current flood: most are reached, the flood only ever delays, never speeds up."""
    from layers.area import load_area
    from layers.evacuation.graph import edge_depth_m

    area = load_area(sample_area_dir)
    net = network_from_roads(area.roads(), mode="drive")
    rw = area.boundary_layer("rw")
    depth = edge_depth_m(net, area.hazard("current"))
    out, node_time = emergency_access(net, area.facilities(), rw, depth_m=depth)
    assert len(out) == len(rw) == 2685
    assert 0.4 < out["reachable"].mean() < 1.0
    assert (out["delay_s"].dropna() >= -1e-6).all()
    assert (out["time_dry_s"].dropna() > 0).all()
    assert out.loc[out["reachable"], "facility_category"].isin(["hospital", "fire_station"]).all()
    iso = isochrones(net, node_time)
    assert iso["band"].tolist() == ["0-5 min", "5-10 min", "10-15 min", "15-30 min"]
    assert iso.is_valid.all()
    assert shapely.area(iso.geometry.to_numpy()).sum() > 50e6
