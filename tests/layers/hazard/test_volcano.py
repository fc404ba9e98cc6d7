"""Volcano: KRB polygons and rings around vent points, InaSAFE's way, on InaSAFE's test data.

Oracles recomputed here: a population cell belongs to the zone holding its centre (InaSAFE 3.5's rule
for polygon hazard on a population raster); a ring is the distance of the cell centre from the vent in
the vent's UTM zone (InaSAFE's ``buffer_points`` radii 3, 5, 10 km); a building takes the most severe
zone it shares area with.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from shapely.geometry import Point

from layers.errors import InvalidInputError
from layers.hazard.exposure import exposure, exposure_from_files
from layers.hazard.population import read_people
from layers.hazard.sources import open_hazard
from tests.helpers import SHARED_DATA, UTM, write_raster

MH = SHARED_DATA / "multihazard"
POP = MH / "exposure/pop_binary_raster_20_20.asc"
SEVERITY = {"Kawasan Rawan Bencana I": "low", "Kawasan Rawan Bencana II": "medium", "Kawasan Rawan Bencana III": "high"}


def _cells():
    with rasterio.open(POP) as src:
        pop = src.read(1).astype(float)
        rows, cols = np.nonzero(pop > 0)
        xs, ys = rasterio.transform.xy(src.transform, rows, cols)
    return np.asarray(xs), np.asarray(ys), pop[rows, cols]


def test_krb_polygons_on_population_and_buildings():
    r = exposure_from_files(
        hazard=str(MH / "hazard/volcano_krb.shp"),
        hazard_field="KRB",
        kind="volcano",
        population=str(POP),
        buildings=str(MH / "exposure/buildings.shp"),
    ).summary()
    zones = gpd.read_file(MH / "hazard/volcano_krb.shp")
    xs, ys, people = _cells()
    pts = gpd.GeoDataFrame({"people": people}, geometry=gpd.points_from_xy(xs, ys), crs=zones.crs)
    hit = gpd.sjoin(pts, zones[["KRB", "geometry"]], predicate="within")
    expected = hit.groupby(hit["KRB"].map(SEVERITY))["people"].sum()
    for zone in ("low", "medium", "high"):
        assert r["population"]["by_class"][zone] == pytest.approx(expected.get(zone, 0.0))
    assert r["population"]["by_class"]["high"] > 0
    # displaced: everyone in KRB II and III (InaSAFE volcano_hazard_classes displacement_rate 1.0), none in KRB I
    assert r["population"]["displaced"] == pytest.approx(expected.get("medium", 0) + expected.get("high", 0))
    # buildings: the most severe zone each shares area with, by a geopandas overlay in UTM
    b = gpd.read_file(MH / "exposure/buildings.shp").to_crs(UTM).reset_index(names="bid")
    parts = gpd.overlay(b[["bid", "geometry"]], zones.to_crs(UTM)[["KRB", "geometry"]], how="intersection")
    parts = parts[parts.area > 1e-6]
    rank = {"low": 0, "medium": 1, "high": 2}
    best = parts.assign(r=parts["KRB"].map(SEVERITY).map(rank)).groupby("bid")["r"].max()
    names = {v: k for k, v in rank.items()}
    counts = best.map(names).value_counts()
    assert r["buildings"]["by_class"] == {z: int(counts.get(z, 0)) for z in ("low", "medium", "high")}


def test_vent_point_rings_on_population():
    r = exposure_from_files(hazard=str(MH / "hazard/volcano_point.shp"), kind="volcano", population=str(POP)).summary()
    vent = gpd.read_file(MH / "hazard/volcano_point.shp")
    utm = vent.estimate_utm_crs()
    to_utm = Transformer.from_crs(vent.crs, utm, always_xy=True)
    vx, vy = to_utm.transform(vent.geometry.x.iloc[0], vent.geometry.y.iloc[0])
    xs, ys, people = _cells()
    px, py = to_utm.transform(xs, ys)
    d_km = np.hypot(px - vx, py - vy) / 1000.0
    zone = np.select([d_km <= 3, d_km <= 5, d_km <= 10], ["high", "medium", "low"], "none")
    for z in ("high", "medium", "low"):
        assert r["population"]["by_class"][z] == pytest.approx(people[zone == z].sum())
    assert r["population"]["by_class"]["high"] > 0
    assert r["population"]["by_class"]["medium"] > 0


def test_hand_worked_rings_and_radii(tmp_path):
    """A vent at the middle; people 1, 4, 7 and 12 km east: high, medium, low, outside (radii 3, 5, 10 km)."""
    vent = gpd.GeoDataFrame({"NAME": ["v"]}, geometry=[Point(500_000, 9_300_000)], crs=UTM)
    vent.to_file(tmp_path / "vent.gpkg")
    t = rasterio.transform.from_origin(500_000, 9_300_500, 1000, 1000)
    row = np.zeros((1, 14))
    for km, n in ((1, 10), (4, 20), (7, 30), (12, 40)):
        row[0, km] = n  # cell k spans k..k+1 km east: centre k + 0.5 km
    write_raster(tmp_path / "pop.tif", row, transform=t)
    pop = read_people(str(tmp_path / "pop.tif"))
    res = exposure(open_hazard(tmp_path / "vent.gpkg", kind="volcano"), population=pop).summary()["population"]
    assert res["by_class"] == {"low": 30.0, "medium": 20.0, "high": 10.0}
    assert res["displaced"] == 30.0  # high and medium
    wide = exposure(open_hazard(tmp_path / "vent.gpkg", kind="volcano", radii_km=[2, 13]), population=pop).summary()
    assert wide["population"]["by_class"] == {"low": 0.0, "medium": 90.0, "high": 10.0}
    with pytest.raises(InvalidInputError, match="radii"):
        open_hazard(tmp_path / "vent.gpkg", kind="volcano", radii_km=[-1])
