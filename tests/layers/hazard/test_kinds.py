"""Hazard kinds: the registry, each kind's InaSAFE classes and displacement worked by hand, every kind
through `geoapp exposure`, and the combined view of several hazards recomputed independently."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from shapely.geometry import box

from geoapp.cli import main as cli
from layers.errors import InvalidInputError
from layers.hazard.combined import combined_exposure
from layers.hazard.exposure import exposure
from layers.hazard.kinds import get_kind, kinds
from layers.hazard.population import read_people
from layers.hazard.sources import open_hazard
from tests.helpers import SHARED_DATA, UTM, write_raster

MH = SHARED_DATA / "multihazard"
ALL = ("cyclone", "earthquake", "flood", "generic", "landslide", "tsunami", "volcanic_ash", "volcano")

# InaSAFE's tables (HAZARDS.md §3, safe/definitions/hazard_classifications.py): value -> (class, displacement rate),
# one value inside each class and one exactly on an upper bound (min < x <= max).
CASES = {
    "tsunami": [(0.05, None, 0), (0.7, "low", 0.0), (0.71, "medium", 1.0), (3.0, "medium", 1.0), (3.5, "high", 1.0)],
    "volcanic_ash": [
        (0.01, None, 0),
        (0.1, "very_low", 0.0),
        (2.0, "low", 0.0),
        (5.0, "medium", 0.0),
        (10.0, "high", 1.0),
        (11.0, "very_high", 1.0),
    ],
    "cyclone": [
        (90, None, 0),
        (126, "category_1", 0.0),
        (167, "category_2", 0.06),
        (224, "category_3", 0.55),
        (283, "category_4", 0.97),
        (300, "category_5", 1.0),
    ],
    "generic": [(0, None, 0), (2, "low", 0.0), (3, "medium", 1.0), (4, "high", 1.0)],
    "landslide": [(0, None, 0), (1, "low", 0.0), (2.5, "medium", 1.0), (3, "medium", 1.0), (3.2, "high", 1.0)],
    "earthquake": [(1.5, None, 0), (4.0, "IV", 0.0), (5.5, "V", 0.0), (5.6, "VI", 1.0), (10.2, "X", 1.0)],
    # flood keeps geoapp's rule: lower bound inclusive; everyone in the most severe class displaced
    "flood": [(0.05, None, 0), (0.1, "low", 0.0), (0.7, "medium", 0.0), (1.5, "high", 1.0)],
}


def test_registry_has_every_kind():
    assert tuple(kinds()) == ALL
    for key, kind in kinds().items():
        assert kind.key == key
        assert set(kind.displacement) == set(kind.scheme().names)
    with pytest.raises(InvalidInputError, match="unknown.*earthquake"):
        get_kind("meteor")


@pytest.mark.parametrize("key", sorted(CASES))
def test_hand_worked_classes_and_displacement(tmp_path, key):
    """One 1 km cell per value, 100 people each: people per class and displaced from InaSAFE's table."""
    values = [v for v, _, _ in CASES[key]]
    t = rasterio.transform.from_origin(0, 1000, 1000, 1000)
    write_raster(tmp_path / "h.tif", [values], transform=t)
    write_raster(tmp_path / "p.tif", [[100.0] * len(values)], transform=t)
    res = exposure(open_hazard(tmp_path / "h.tif", kind=key), population=read_people(str(tmp_path / "p.tif")))
    pop = res.summary()["population"]
    expected: dict[str, float] = {}
    for _, cls, _ in CASES[key]:
        if cls:
            expected[cls] = expected.get(cls, 0.0) + 100.0
    for cls, people in expected.items():
        assert pop["by_class"][cls] == people, (key, cls)
    assert pop["affected"] == sum(expected.values())
    dead = 0.0
    if key == "earthquake":  # ITB deaths leave the displaced (InaSAFE v4: (population - fatalities) * rate)
        dead = sum(100 * 10 ** (0.62275231 * round(v) - 8.03314466) for v, c, r in CASES[key] if c and r)
    assert pop["displaced"] == pytest.approx(sum(100 * r for _, c, r in CASES[key] if c) - dead, abs=1e-3)
    assert pop["needs"]["rice_kg"] == math.ceil(round(pop["displaced"] * 2.8, 6))


def test_text_zones_use_the_kinds_words(tmp_path):
    """Zones named in InaSAFE's string_defaults: tsunami 'very high', ash 'very low', cyclone 'cat 3'."""
    for key, word, cls in (
        ("tsunami", "very high", "high"),
        ("volcanic_ash", "very low", "very_low"),
        ("cyclone", "Cat 3", "category_3"),
        ("generic", "High Hazard Zone", "high"),
        ("landslide", "moderate", "medium"),
        ("volcano", "Kawasan Rawan Bencana II", "medium"),
        ("earthquake", "severe", "VIII"),
    ):
        zones = gpd.GeoDataFrame({"z": [word]}, geometry=[box(0, 0, 100, 100)], crs=UTM)
        zones.to_file(tmp_path / f"{key}.gpkg")
        b = gpd.GeoDataFrame({"building_id": [1]}, geometry=[box(10, 10, 20, 20)], crs=UTM)
        res = exposure(open_hazard(tmp_path / f"{key}.gpkg", field="z", kind=key), buildings=b).summary()
        assert res["buildings"]["by_class"][cls] == 1, key


def test_cyclone_units(tmp_path):
    t = rasterio.transform.from_origin(0, 1000, 1000, 1000)
    write_raster(tmp_path / "w.tif", [[30.0, 50.0]], transform=t)  # m/s: category 1 (24-34], category 3 (47-63]
    write_raster(tmp_path / "p.tif", [[10.0, 20.0]], transform=t)
    pop = exposure(
        open_hazard(tmp_path / "w.tif", kind="cyclone", units="m/s"), population=read_people(str(tmp_path / "p.tif"))
    ).summary()["population"]
    assert pop["by_class"]["category_1"] == 10
    assert pop["by_class"]["category_3"] == 20
    assert pop["displaced"] == pytest.approx(20 * 0.55)


def test_tsunami_grid_on_inasafe_population():
    """tsunami_wgs84.tif × the 20×20 population: people per class against an area-weighted oracle."""
    from layers.hazard.exposure import exposure_from_files

    r = exposure_from_files(
        hazard=str(MH / "hazard/tsunami_wgs84.tif"),
        kind="tsunami",
        population=str(MH / "exposure/pop_binary_raster_20_20.asc"),
    ).summary()["population"]
    # Oracle: each populated cell's people shared by the share of its area (50×50 samples) in each class.
    with (
        rasterio.open(MH / "exposure/pop_binary_raster_20_20.asc") as p,
        rasterio.open(MH / "hazard/tsunami_wgs84.tif") as h,
    ):
        pop = p.read(1).astype(float)
        depth = h.read(1, masked=True).filled(np.nan)
        got = {"low": 0.0, "medium": 0.0, "high": 0.0}
        off = (np.arange(50) + 0.5) / 50
        for r_, c_ in zip(*np.nonzero(pop > 0), strict=True):
            pt = p.transform
            xs = pt.c + (c_ + off[None, :] + 0 * off[:, None]) * pt.a
            ys = pt.f + (r_ + off[:, None] + 0 * off[None, :]) * pt.e
            rows, cols = rasterio.transform.rowcol(h.transform, xs.ravel(), ys.ravel())
            rows, cols = np.asarray(rows), np.asarray(cols)
            ok = (rows >= 0) & (rows < h.height) & (cols >= 0) & (cols < h.width)
            d = np.full(rows.shape, np.nan)
            d[ok] = depth[rows[ok], cols[ok]]
            for name, lo, hi in (("low", 0.1, 0.7), ("medium", 0.7, 3), ("high", 3, np.inf)):
                got[name] += pop[r_, c_] * np.mean((d > lo) & (d <= hi))
    for name, people in got.items():
        assert r["by_class"][name] == pytest.approx(people, abs=0.5)
    assert r["displaced"] == pytest.approx(r["by_class"]["medium"] + r["by_class"]["high"])


@pytest.mark.parametrize("key", ALL)
def test_every_kind_through_the_cli(key):
    runner = CliRunner()
    hazard = {
        "earthquake": ["--hazard", str(MH / "hazard/earthquake.tif")],
        "tsunami": ["--hazard", str(MH / "hazard/tsunami_wgs84.tif")],
        "flood": ["--hazard", str(MH / "hazard/continuous_flood_20_20.asc")],
        "volcano": ["--hazard", str(MH / "hazard/volcano_krb.shp"), "--hazard-field", "KRB"],
        "volcanic_ash": ["--hazard", str(MH / "hazard/ash_raster_wgs84.tif")],
        "generic": ["--hazard", str(MH / "hazard/classified_generic_polygon.shp"), "--hazard-field", "h_zone"],
        "landslide": ["--hazard", str(MH / "hazard/classified_flood_20_20.asc")],
        "cyclone": [
            "--hazard",
            str(MH / "hazard/classified_flood_20_20.asc"),
            "--classes",
            "category_1:0-2,category_2:2-",
        ],
    }[key]
    out = runner.invoke(
        cli,
        [
            "exposure",
            "--kind",
            key,
            *hazard,
            "--buildings",
            str(MH / "exposure/buildings.shp"),
            "--population",
            str(MH / "exposure/pop_binary_raster_20_20.asc"),
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    s = json.loads(out.output)
    assert s["kind"] == key
    assert s["buildings"]["total"] == 181
    assert s["population"]["total"] == 200
    assert s["population"]["affected"] > 0
    bad = runner.invoke(cli, ["exposure", "--kind", "meteor", *hazard, "--json"])
    assert bad.exit_code == 2


def test_combined_view_is_a_union(tmp_path):
    """Two hazards, four 1 km cells of 100 people: quake on the west half, flood on the north half."""
    t = rasterio.transform.from_origin(0, 2000, 1000, 1000)
    write_raster(tmp_path / "mmi.tif", [[8.0, 4.0], [7.0, 1.0]], transform=t)  # 1.0 is MMI I: not in a class
    write_raster(tmp_path / "depth.tif", [[0.5, 2.0], [0.0, 0.0]], transform=t)
    write_raster(tmp_path / "pop.tif", [[100, 200], [300, 400]], transform=t)
    hazards = {
        "quake": open_hazard(tmp_path / "mmi.tif", kind="earthquake"),
        "flood": open_hazard(tmp_path / "depth.tif"),
    }
    units = gpd.GeoDataFrame({"area_id": [1], "name": ["all"]}, geometry=[box(0, 0, 2000, 2000)], crs=UTM)
    row = combined_exposure(hazards, units, population=read_people(str(tmp_path / "pop.tif"))).iloc[0]
    assert row["pop_quake"] == 100 + 200 + 300
    assert row["pop_flood"] == 100 + 200
    assert row["pop_any_hazard"] == 600  # not 900: nobody counted twice
    assert row["pop_several_hazards"] == 300
    assert row["hazards_here"] == "quake,flood"
