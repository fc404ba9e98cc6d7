"""Evacuation assignment: tiny hand-made networks with known answers, Kibera against networkx, Jakarta."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from layers.errors import InvalidInputError
from layers.evacuation.assign import evacuate
from layers.evacuation.graph import walk_costs
from layers.evacuation.network import network_from_roads

CRS = "EPSG:32748"


def roads(*lines, classes=None, oneway=None) -> gpd.GeoDataFrame:
    n = len(lines)
    return gpd.GeoDataFrame(
        {
            "road_id": np.arange(1, n + 1),
            "road_class": classes or ["residential"] * n,
            "oneway": oneway or [False] * n,
            "name": [None] * n,
        },
        geometry=[LineString(c) for c in lines],
        crs=CRS,
    )


def buildings(*xy) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"building_id": np.arange(1, len(xy) + 1)}, geometry=[box(x - 2, y - 2, x + 2, y + 2) for x, y in xy], crs=CRS
    )


def shelters(*xy, capacity=None, safe=None) -> gpd.GeoDataFrame:
    n = len(xy)
    return gpd.GeoDataFrame(
        {
            "shelter_id": np.arange(1, n + 1) * 10,
            "capacity": capacity or [np.nan] * n,
            "safe": safe or [True] * n,
        },
        geometry=[Point(x, y) for x, y in xy],
        crs=CRS,
    )


def edge_depth(net, depths: dict[tuple[float, float], float]) -> np.ndarray:
    """Depth per edge, keyed by a point on the edge."""
    out = np.zeros(net.n_edges)
    for (x, y), d in depths.items():
        out[net.edges.distance(Point(x, y)).to_numpy().argmin()] = d
    return out


def test_straight_line_distance_and_time():
    """A building centred 2 m beside the start of a 300 m street walks 2 m + 300 m to the shelter at its end."""
    net = network_from_roads(roads([(0, 0), (100, 0), (200, 0), (300, 0)]))
    res = evacuate(net, buildings((0, 2)), shelters((300, 0)), people=5)
    row = res.buildings.iloc[0]
    assert row["shelter_id"] == 10
    assert row["reachable"]
    assert row["distance_m"] == pytest.approx(302.0)
    assert row["time_s"] == pytest.approx(302.0)
    assert res.summary()["buildings"] == {"total": 1, "reachable": 1, "unreachable": 0}
    assert res.shelters["assigned"].tolist() == [5.0]


def test_walk_speed_scales_time_not_distance():
    net = network_from_roads(roads([(0, 0), (300, 0)]))
    res = evacuate(net, buildings((0, 2)), shelters((300, 0)), walk_speed_m_s=0.5)
    assert res.buildings["distance_m"].iloc[0] == pytest.approx(302.0)
    assert res.buildings["time_s"].iloc[0] == pytest.approx(604.0)


@pytest.mark.parametrize("speed", [float("inf"), float("nan"), 1e-320, 0.01, 0.0, -1.0])
def test_walk_speed_that_is_no_walk_is_an_error(speed):
    """Infinite or vanishing speeds gave silent zeros or an IndexError (times overflowing to inf)."""
    net = network_from_roads(roads([(0, 0), (300, 0)]))
    with pytest.raises(InvalidInputError, match="must be a finite number of at least 0.05"):
        evacuate(net, buildings((0, 2)), shelters((300, 0)), walk_speed_m_s=speed)


def test_flooded_bridge_forces_the_detour():
    """The 100 m bridge is 1 m deep: people walk the 300 m detour instead."""
    net = network_from_roads(roads([(0, 0), (100, 0)], [(0, 0), (0, 100), (100, 100), (100, 0)]))
    b, s = buildings((-2, 0)), shelters((100, 0))
    dry = evacuate(net, b, s)
    assert dry.buildings["distance_m"].iloc[0] == pytest.approx(2 + 100.0)
    wet = evacuate(net, b, s, depth_m=edge_depth(net, {(50, 0): 1.0}))
    assert wet.buildings["distance_m"].iloc[0] == pytest.approx(2 + 300.0)
    assert wet.buildings["time_s"].iloc[0] == pytest.approx(2 + 300.0)


def test_shallow_water_slows_walking():
    """0.25 m of water with the 0.5 m limit: time x (1 + 0.25/0.5) = x1.5."""
    net = network_from_roads(roads([(0, 0), (200, 0)]))
    res = evacuate(net, buildings((0, 2)), shelters((200, 0)), depth_m=np.array([0.25]))
    assert res.buildings["time_s"].iloc[0] == pytest.approx(2 + 200 * 1.5)
    assert res.buildings["distance_m"].iloc[0] == pytest.approx(2 + 200.0)


def test_start_inside_the_flood_wades_out_then_stays_dry():
    """A building on a 1 m deep street wades 50 m (x10) to the dry network; nobody else may cross deep water."""
    net = network_from_roads(
        roads(
            [(0, 0), (100, 0)],
            [(100, 0), (400, 0)],
            [(100, 0), (100, 300), (700, 300), (700, 0)],
            [(400, 0), (700, 0)],
        )
    )
    depth = edge_depth(net, {(50, 0): 1.0, (550, 0): 1.0})
    res = evacuate(net, buildings((50, 2), (250, 2)), shelters((700, 0)), depth_m=depth)
    b = res.buildings.set_index("building_id")
    # Wading 50 m at x10, then 300 + 600 + 300 m dry (the deep stretch 400-700 is closed).
    assert bool(b.loc[1, "start_flooded"])
    assert b.loc[1, "reachable"]
    assert b.loc[1, "time_s"] == pytest.approx(2 + 50 * 10 + 1200)
    assert b.loc[1, "distance_m"] == pytest.approx(2 + 50 + 1200)
    # Building 2 starts dry: it must not wade the deep 400-700 stretch; it goes back via 100,0.
    assert not b.loc[2, "start_flooded"]
    assert b.loc[2, "distance_m"] == pytest.approx(2 + 150 + 1200)


def test_building_at_a_junction_with_a_flooded_street_starts_dry():
    net = network_from_roads(roads([(0, 0), (100, 0)], [(0, 0), (0, 100), (100, 100), (100, 0)]))
    res = evacuate(net, buildings((-2, 0)), shelters((100, 0)), depth_m=edge_depth(net, {(50, 0): 1.0}))
    assert not res.buildings["start_flooded"].iloc[0]


def test_full_shelter_spills_to_next_nearest_with_room():
    """Shelter A holds 5: the nearer building (4 people) fits, the farther one spills to B."""
    net = network_from_roads(roads([(0, 0), (1000, 0)]))
    res = evacuate(
        net, buildings((100, 2), (300, 2)), shelters((0, 0), (1000, 0), capacity=[5, 100]), people=np.array([4.0, 4.0])
    )
    b = res.buildings.set_index("building_id")
    assert b.loc[1, "shelter_id"] == 10
    assert b.loc[2, "shelter_id"] == 20
    assert b.loc[2, "distance_m"] == pytest.approx(700 + 2)
    s = res.shelters.set_index("shelter_id")
    assert s.loc[10, "assigned"] == 4
    assert s.loc[20, "assigned"] == 4
    assert s.loc[10, "load_pct"] == pytest.approx(80.0)
    assert not s["over_capacity"].any()


def test_no_room_anywhere_reports_over_capacity():
    net = network_from_roads(roads([(0, 0), (1000, 0)]))
    res = evacuate(net, buildings((100, 2), (300, 2)), shelters((0, 0), capacity=[5]), people=4.0)
    assert res.buildings["shelter_id"].tolist() == [10, 10]
    assert res.shelters["over_capacity"].tolist() == [True]
    assert res.summary()["shelters"] == {"total": 1, "safe": 1, "used": 1, "over_capacity": 1}


def test_spilled_building_that_cannot_reach_a_shelter_with_room_stays_with_its_nearest():
    """Shelter 10 (room for 5) is full after building 1; shelter 20 has room but lies on another island."""
    net = network_from_roads(roads([(0, 0), (1000, 0)], [(5000, 0), (6000, 0)]))
    res = evacuate(net, buildings((100, 2), (300, 2)), shelters((0, 0), (6000, 0), capacity=[5, 100]), people=4.0)
    assert res.buildings["shelter_id"].tolist() == [10, 10]
    assert res.buildings["reachable"].all()
    assert res.shelters["over_capacity"].tolist() == [True, False]
    assert res.shelters["assigned"].tolist() == [8.0, 0.0]


def test_unsafe_shelter_is_not_used():
    net = network_from_roads(roads([(0, 0), (1000, 0)]))
    res = evacuate(net, buildings((100, 2)), shelters((0, 0), (1000, 0), safe=[False, True]))
    assert res.buildings["shelter_id"].tolist() == [20]
    assert res.shelters["assigned"].tolist() == [0.0, 4.0]


def test_disconnected_building_is_reported_not_dropped():
    net = network_from_roads(roads([(0, 0), (100, 0)], [(500, 0), (600, 0)]))
    res = evacuate(net, buildings((50, 2), (550, 2)), shelters((0, 0)))
    assert len(res.buildings) == 2
    b = res.buildings.set_index("building_id")
    assert b.loc[1, "reachable"]
    assert not b.loc[2, "reachable"]
    assert b.loc[2, "reason"] == "no_route"
    assert pd.isna(b.loc[2, "shelter_id"])
    assert res.summary()["buildings"]["unreachable"] == 1


def test_building_outside_the_network_extent_warns():
    net = network_from_roads(roads([(0, 0), (100, 0)]))
    with pytest.warns(UserWarning, match="more than 500 m from the network"):
        res = evacuate(net, buildings((50, 2), (5000, 5000)), shelters((0, 0)))
    assert (
        res.buildings["reason"].tolist() == [pd.NA, "off_network"] or res.buildings["reason"].iloc[1] == "off_network"
    )
    assert res.buildings["reachable"].tolist() == [True, False]


def test_no_safe_shelter_warns_and_reports_every_building():
    net = network_from_roads(roads([(0, 0), (100, 0)]))
    with pytest.warns(UserWarning, match="no safe shelter"):
        res = evacuate(net, buildings((50, 2)), shelters((0, 0), safe=[False]))
    assert res.buildings["reason"].tolist() == ["no_safe_shelter"]
    assert res.summary()["time_s"] == {"median": None, "p95": None, "max": None}


def test_routes_count_people_on_each_edge():
    """Two buildings west of a junction share the east street; one north-side building uses its own street."""
    net = network_from_roads(roads([(0, 0), (100, 0)], [(100, 0), (200, 0)], [(100, 0), (100, 100)]))
    res = evacuate(
        net,
        buildings((50, 2), (20, 2), (102, 80)),
        shelters((200, 0)),
        people=np.array([3.0, 2.0, 7.0]),
        building_routes=True,
    )
    people = {round(g.centroid.x): p for g, p in zip(res.routes.geometry, res.routes["people"], strict=False)}
    assert people == {50: 5.0, 150: 12.0, 100: 7.0}
    lines = res.building_routes.set_index("building_id")
    assert lines.loc[3].geometry.length == pytest.approx(200.0)


def test_shelter_on_the_same_edge_is_reached_directly():
    net = network_from_roads(roads([(0, 0), (1000, 0)]))
    res = evacuate(net, buildings((400, 2)), shelters((500, 0)))
    assert res.buildings["distance_m"].iloc[0] == pytest.approx(102.0)


def test_edge_depth_is_the_max_along_each_edge(tmp_path):
    """Edges get the deepest cell they cross (via layers.hazard.sources); dry, nodata and outside count as 0."""
    import rasterio
    from affine import Affine

    from layers.evacuation.graph import edge_depth_m

    data = np.array([[0.0, 0.2, -9999], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]], dtype="float32")
    path = tmp_path / "depth.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=3,
        height=3,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=Affine(10, 0, 0, 0, -10, 30),
        nodata=-9999,
    ) as dst:
        dst.write(data, 1)
    net = network_from_roads(
        roads([(1, 25), (29, 25)], [(1, 15), (29, 15)], [(100, 100), (200, 100)], [(21, 5), (29, 5)])
    )
    order = np.argsort(net.edges.geometry.centroid.y.to_numpy())[::-1]  # top row first
    got = edge_depth_m(net, path)[order]
    np.testing.assert_allclose(got, [0.0, 0.2, 2.0, 0.0])


def test_no_shelter_in_the_area_still_reports_every_building():
    from layers.evacuation.step import evacuation_layers

    net = network_from_roads(roads([(0, 0), (100, 0)]))
    fac = gpd.GeoDataFrame(
        {
            "facility_id": [1],
            "category": pd.array(["hospital"], dtype="string"),
            "name": None,
            "capacity": np.nan,
            "building_id": pd.array([pd.NA], dtype="Int64"),
            "source_type": "amenity",
        },
        geometry=[Point(0, 0)],
        crs=CRS,
    )
    with pytest.warns(UserWarning, match="no shelter in the area|no safe shelter") as record:
        layers, res = evacuation_layers(net, buildings((50, 2)), fac)
    messages = " ".join(str(w.message) for w in record)
    assert "no shelter in the area" in messages
    assert "no safe shelter" in messages
    assert layers["evacuation_buildings"]["reason"].tolist() == ["no_safe_shelter"]
    assert layers["unreachable"]["kind"].tolist() == ["building", "zone"]


def test_hazard_that_misses_the_network_warns_and_treats_roads_as_dry(tmp_path):
    import rasterio
    from affine import Affine

    from layers.evacuation.step import evacuation_layers

    path = tmp_path / "far.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=Affine(10, 0, 900_000, 0, -10, 9_000_000),
    ) as dst:
        dst.write(np.full((2, 2), 3.0, dtype="float32"), 1)
    net = network_from_roads(roads([(0, 0), (100, 0)]))
    s = shelters((100, 0)).assign(capacity=np.nan)
    with pytest.warns(UserWarning, match="does not reach any edge"):
        layers, res = evacuation_layers(net, buildings((0, 2)), None, shelters=s, hazard=path)
    assert res.buildings["distance_m"].tolist() == [pytest.approx(102.0)]


def test_bad_inputs_are_clear_errors():
    net = network_from_roads(roads([(0, 0), (100, 0)]))
    with pytest.raises(InvalidInputError, match="walk speed"):
        walk_costs(net, None, walk_speed_m_s=0)
    with pytest.raises(InvalidInputError, match="shelters lack column"):
        evacuate(net, buildings((0, 0)), shelters((0, 0)).drop(columns="safe"))
    with pytest.raises(InvalidInputError, match="reproject"):
        evacuate(net, buildings((0, 0)).to_crs(4326), shelters((0, 0)))


# -- Kibera: per-building distances against an independent networkx Dijkstra --------------


@pytest.fixture(scope="session")
def kibera(shared_data):
    from layers.evacuation.network import walk_network_from_osm
    from layers.io.osm import buildings_from_osm

    osm = shared_data / "kibera" / "kibera_map_2012.osm"
    net = walk_network_from_osm(osm)
    blds = buildings_from_osm(osm, crs=net.crs)
    return net, blds


def test_kibera_distances_equal_networkx(kibera, tmp_path):
    """Synthetic flood band across Kibera; our times equal networkx multi-source Dijkstra on the same costs."""
    net, blds = kibera
    xmin, ymin, xmax, ymax = net.edges.total_bounds
    # A 0.3 m shallow band and a 1 m deep band across the middle.
    mid = (ymin + ymax) / 2
    depth = np.zeros(net.n_edges)
    cy = net.edges.geometry.centroid.y.to_numpy()
    depth[np.abs(cy - mid) < 150] = 0.3
    depth[np.abs(cy - mid - 400) < 100] = 1.0
    rng = np.random.default_rng(5)
    pick = rng.choice(net.n_nodes, 6, replace=False)
    sh = gpd.GeoDataFrame(
        {"shelter_id": np.arange(1, 7), "capacity": np.nan, "safe": True},
        geometry=shapely.points(net.nodes_xy[pick]),
        crs=net.crs,
    )
    res = evacuate(net, blds, sh, depth_m=depth, max_snap_m=300)
    passable, flooded = walk_costs(net, depth)
    # Independent graph: dry layer, flooded layer, one-way step from flooded to dry.
    g = nx.DiGraph()
    e = net.edges
    for u, v, w in zip(e["u"], e["v"], passable, strict=False):
        if np.isfinite(w):
            g.add_edge(("d", v), ("d", u), weight=w)
            g.add_edge(("d", u), ("d", v), weight=w)
    for u, v, w in zip(e["u"], e["v"], flooded, strict=False):
        if np.isfinite(w):
            g.add_edge(("w", v), ("w", u), weight=w)
            g.add_edge(("w", u), ("w", v), weight=w)
            g.add_edge(("d", u), ("w", u), weight=0.0)
            g.add_edge(("d", v), ("w", v), weight=0.0)
    src = [("d", int(i)) for i in pick]
    dist = nx.multi_source_dijkstra_path_length(g, src, weight="weight")
    b_edge, b_frac, b_gap = net.snap(blds.geometry.to_numpy(), max_distance_m=300)
    expected = np.full(len(blds), np.inf)
    for i, (ei, f, gap) in enumerate(zip(b_edge, b_frac, b_gap, strict=False)):
        if ei < 0:
            continue
        u, v = int(e["u"].iloc[ei]), int(e["v"].iloc[ei])
        layer, cost = ("w", flooded[ei]) if not np.isfinite(passable[ei]) else ("d", passable[ei])
        tu = dist.get((layer, u), np.inf) + f * cost
        tv = dist.get((layer, v), np.inf) + (1 - f) * cost
        expected[i] = min(tu, tv) + gap
    got = res.buildings["time_s"].to_numpy()
    assert len(blds) > 100
    assert np.isfinite(expected).sum() > 0.9 * len(blds)
    np.testing.assert_array_equal(np.isfinite(expected), res.buildings["reachable"].to_numpy())
    ok = np.isfinite(expected)
    # Shelters sit on nodes, so the only difference can be the 1e-9 s floor on zero-cost steps.
    np.testing.assert_allclose(got[ok], expected[ok], rtol=1e-9, atol=1e-6)
    # Dry, at 1 m/s: distances in metres equal networkx's length-weighted distances.
    dry = evacuate(net, blds, sh, max_snap_m=300)
    g2 = nx.Graph()
    g2.add_weighted_edges_from(zip(e["u"], e["v"], e["length_m"], strict=False))
    d2 = nx.multi_source_dijkstra_path_length(g2, {int(i) for i in pick})
    length = e["length_m"].to_numpy()
    want = np.array(
        [
            min(
                d2.get(int(e["u"].iloc[ei]), np.inf) + f * length[ei],
                d2.get(int(e["v"].iloc[ei]), np.inf) + (1 - f) * length[ei],
            )
            + gap
            if ei >= 0
            else np.inf
            for ei, f, gap in zip(b_edge, b_frac, b_gap, strict=False)
        ]
    )
    have = dry.buildings["distance_m"].to_numpy()
    fin = np.isfinite(want)
    np.testing.assert_array_equal(fin, dry.buildings["reachable"].to_numpy())
    np.testing.assert_allclose(have[fin], want[fin], rtol=1e-9, atol=1e-6)


def test_people_per_building_share_cells_by_footprint_area(tmp_path):
    """A 10-person cell with a 300 m2 and a 100 m2 building: 7.5 and 2.5; off the raster: the default; nodata: 0."""
    import rasterio
    from affine import Affine

    from layers.evacuation.step import people_per_building

    path = tmp_path / "pop.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=2,
        height=1,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=Affine(100, 0, 0, 0, -100, 100),
        nodata=-1,
    ) as dst:
        dst.write(np.array([[10.0, -1]], dtype="float32"), 1)
    b = gpd.GeoDataFrame(
        {"building_id": [1, 2, 3, 4]},
        geometry=[box(10, 10, 40, 20), box(60, 60, 70, 70), box(500, 500, 510, 510), box(150, 50, 160, 60)],
        crs=CRS,
    )
    np.testing.assert_allclose(people_per_building(b, path, default=4), [7.5, 2.5, 4, 0])
    # As a density: 10 per km2 on a 100 m cell (0.01 km2) = 0.1 people, times scale 200 = 20.
    np.testing.assert_allclose(people_per_building(b, path, units="per_km2", scale=200.0, default=0)[:2], [15.0, 5.0])
    np.testing.assert_allclose(people_per_building(b, None, default=3), [3, 3, 3, 3])


@pytest.fixture(scope="session")
def jakarta_build(sample_area_dir):
    """The evacuation build step on the Jakarta sample (both scenarios)."""
    from layers.area import load_area
    from layers.evacuation.step import evacuation_step

    area = load_area(sample_area_dir)
    with pytest.warns(UserWarning, match="from the network"):
        layers = evacuation_step(
            area, {"buildings": area.buildings(), "roads": area.roads(), "facilities": area.facilities()}
        )
    return area, layers


def test_jakarta_every_building_assigned_or_reported(jakarta_build):
    """Both scenarios: every building is assigned to a safe shelter or reported unreachable with a reason."""
    area, layers = jakarta_build
    n = len(area.buildings())
    eb_all, sh_all = layers["evacuation_buildings"], layers["shelters"]
    assert set(eb_all["scenario"]) == {"current", "design"}
    for scenario in ("current", "design"):
        eb = eb_all[eb_all["scenario"] == scenario]
        sh = sh_all[sh_all["scenario"] == scenario]
        assert len(eb) == n
        assert eb["building_id"].is_unique
        assert set(eb.loc[eb["reachable"], "shelter_id"]) <= set(sh.loc[sh["safe"], "shelter_id"])
        assert eb.loc[~eb["reachable"], "reason"].notna().all()
        lost = layers["unreachable"][layers["unreachable"]["scenario"] == scenario]
        assert (lost["kind"] == "building").sum() == (~eb["reachable"]).sum()
        catch = layers["catchments"][layers["catchments"]["scenario"] == scenario]
        assert len(catch) == (sh["assigned"] > 0).sum()
        # People are conserved: everyone reachable is counted in exactly one shelter.
        assert sh["assigned"].sum() == pytest.approx(eb.loc[eb["reachable"], "people"].sum())
        assert 100_000 < eb["people"].sum() < 300_000
        assert eb["reachable"].mean() > 0.5


def test_jakarta_build_step_layers(jakarta_build):
    """Every evacuation and access layer, for both scenarios, in the area's CRS."""
    area, layers = jakarta_build
    names = {
        "shelters",
        "evacuation_buildings",
        "evacuation_routes",
        "catchments",
        "unreachable",
        "emergency_access",
        "isochrones",
    }
    assert names <= set(layers)
    for name in names:
        assert set(layers[name]["scenario"]) == {"current", "design"}, name
        assert layers[name].crs.equals(area.crs), name
    ea = layers["emergency_access"]
    assert len(ea) == 2 * len(area.boundary_layer())
    assert (ea["delay_s"].dropna() >= -1e-6).all()
