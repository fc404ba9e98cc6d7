"""Evacuation per hazard kind: earthquake destinations are open spaces (OSM parks, pitches, grass,
marketplaces), roads beside heavily damaged buildings are closed by debris; worked by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from layers.evacuation.closures import without_edges
from layers.evacuation.network import network_from_roads
from layers.evacuation.shelters import debris_closed_edges, open_space_shelters, open_spaces_from_osm
from layers.evacuation.step import evacuation_layers

CRS = "EPSG:32748"

TAGS = [
    ("leisure", "park"),
    ("leisure", "pitch"),
    ("landuse", "grass"),
    ("amenity", "marketplace"),
    ("building", "yes"),
]


def _osm(nodes: list[str]) -> str:
    ways = []
    for w, (k, v) in enumerate(TAGS):
        refs = "".join(f'<nd ref="{4 * w + i + 1}"/>' for i in (0, 1, 2, 3, 0))
        name = '<tag k="name" v="Taman"/>' if v == "park" else ""
        ways.append(f'  <way id="{w + 1}">{refs}<tag k="{k}" v="{v}"/>{name}</way>')
    body = "\n".join(nodes + ways)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n{body}\n</osm>\n'


def _square_nodes(first_id: int, lon: float, lat: float, d: float) -> list[str]:
    corners = [(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)]
    return [f'  <node id="{first_id + i}" lat="{y:.7f}" lon="{x:.7f}"/>' for i, (x, y) in enumerate(corners)]


def test_open_spaces_from_osm_and_their_capacity(tmp_path):
    nodes = []
    for i, lon in enumerate((106.80, 106.81, 106.82, 106.83, 106.84)):
        nodes += _square_nodes(1 + 4 * i, lon, -6.2, 0.001)
    path = tmp_path / "city.osm"
    path.write_text(_osm(nodes))
    spaces = open_spaces_from_osm(path, crs=CRS)
    assert sorted(spaces["category"]) == ["grass", "marketplace", "park", "pitch"]  # not the building
    assert spaces.loc[spaces["category"] == "park", "name"].iloc[0] == "Taman"
    sh = open_space_shelters(spaces)
    assert sh["safe"].all()
    assert (sh["source"] == "open_space").all()
    # capacity: the area in UTM (about 110 m × 110 m) at 2 m² per person, recomputed with pyproj's geodesic area
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    for row, poly in zip(sh.itertuples(), spaces.to_crs(4326).geometry, strict=True):
        area = abs(geod.geometry_area_perimeter(poly)[0])
        assert row.capacity == pytest.approx(area / 2.0, rel=2e-3)
        assert poly.contains(gpd.GeoSeries([row.geometry], crs=CRS).to_crs(4326).iloc[0])


def _city():
    lines = [
        [(0, 0), (200, 0)],
        [(200, 0), (300, 0)],  # beside the damaged building
        [(300, 0), (500, 0)],
        [(200, 0), (200, 100), (300, 100), (300, 0)],  # the detour
    ]
    roads = gpd.GeoDataFrame(
        {"road_id": np.arange(1, 5), "road_class": ["residential"] * 4, "oneway": [False] * 4, "name": [None] * 4},
        geometry=[LineString(c) for c in lines],
        crs=CRS,
    )
    return network_from_roads(roads)


def test_earthquake_people_go_to_the_park_around_debris():
    net = _city()
    home = gpd.GeoDataFrame({"building_id": [1]}, geometry=[box(-2, 2, 2, 6)], crs=CRS)  # 2 m north of (0, 0)
    park = gpd.GeoDataFrame(
        {"category": ["park"], "name": ["Lapangan"]}, geometry=[box(490, -60, 600, -1)], crs=CRS
    )  # its representative point is off the street: people walk to the nearest node and on
    dest = open_space_shelters(park)
    layers, res = evacuation_layers(net, home, None, shelters=dest, people_default=4)
    free = res.buildings["distance_m"].iloc[0]
    damaged = gpd.GeoDataFrame(
        {"building_id": [9], "damage_class": ["high"]}, geometry=[box(240, 2, 260, 12)], crs=CRS
    )  # 2 m from the street between 200 and 300, 88 m from the detour
    closed = debris_closed_edges(net, damaged)
    assert len(closed) == 1
    assert net.edges.geometry.iloc[closed[0]].equals(LineString([(200, 0), (300, 0)]))
    _, res2 = evacuation_layers(without_edges(net, closed), home, None, shelters=dest, people_default=4)
    blocked = res2.buildings["distance_m"].iloc[0]
    assert blocked - free == pytest.approx(200.0)  # the detour is 300 m instead of 100 m
    assert res2.buildings["shelter_id"].iloc[0] == dest["shelter_id"].iloc[0]
    assert "open_space" in set(layers["shelters"]["source"])
    # a damage class below high closes nothing
    assert len(debris_closed_edges(net, damaged.assign(damage_class="medium"))) == 0


def test_zone_hazards_leave_every_road_walkable(tmp_path):
    """A volcano zone over the street: with hazard_on_roads False people walk out through it."""
    from layers.hazard.sources import open_hazard

    net = _city()
    zone = gpd.GeoDataFrame({"KRB": ["Kawasan Rawan Bencana III"]}, geometry=[box(-50, -50, 350, 150)], crs=CRS)
    zone.to_file(tmp_path / "krb.gpkg")
    hazard = open_hazard(tmp_path / "krb.gpkg", field="KRB", kind="volcano")
    home = gpd.GeoDataFrame({"building_id": [1]}, geometry=[box(-2, 2, 2, 6)], crs=CRS)
    inside = Point(100, 0)
    outside = Point(500, 0)
    sh = gpd.GeoDataFrame(
        {"shelter_id": [1, 2], "capacity": [np.nan, np.nan], "safe": [False, True]}, geometry=[inside, outside], crs=CRS
    )
    _, res = evacuation_layers(net, home, None, hazard=hazard, shelters=sh, hazard_on_roads=False)
    assert res.buildings["shelter_id"].iloc[0] == 2  # the safe one, outside the zone
    assert res.buildings["reachable"].iloc[0]
