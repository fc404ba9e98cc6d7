"""`geoapp evacuate`: the contract in docs/contracts.md (options, --json keys, output layers) and its errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pyogrio
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from geoapp.cli import main


@pytest.fixture(scope="module")
def jakarta_run(sample_area_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("evac") / "evac.gpkg"
    d = sample_area_dir
    result = CliRunner().invoke(
        main,
        [
            "evacuate",
            "--roads",
            str(d / "roads.gpkg"),
            "--buildings",
            str(d / "buildings.gpkg"),
            "--hazard",
            str(d / "flood_current.tif"),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert "warning: " in result.stderr
    assert re.search("38 of 7689 buildings are more than 500 m from the network", result.stderr), (
        result.stderr
    )  # the CLI prints warnings as lines
    return result, out


def test_json_summary_keys_and_totals(jakarta_run):
    result, _ = jakarta_run
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary) == {"buildings", "time_s", "shelters"}
    assert set(summary["buildings"]) == {"total", "reachable", "unreachable"}
    assert set(summary["time_s"]) == {"median", "p95", "max"}
    assert set(summary["shelters"]) == {"total", "safe", "used", "over_capacity"}
    b = summary["buildings"]
    assert b["total"] == 7689
    assert b["reachable"] + b["unreachable"] == 7689
    assert 0 < summary["time_s"]["median"] <= summary["time_s"]["p95"] <= summary["time_s"]["max"]
    s = summary["shelters"]
    assert 0 < s["used"] <= s["safe"] < s["total"]


def test_output_layers_follow_the_contract(jakarta_run):
    result, out = jakarta_run
    names = set(pyogrio.list_layers(out)[:, 0])
    assert {"shelters", "evacuation_buildings", "evacuation_routes", "catchments", "unreachable"} <= names
    eb = pyogrio.read_dataframe(out, layer="evacuation_buildings")
    assert list(eb.columns[:5]) == ["building_id", "shelter_id", "distance_m", "time_s", "reachable"]
    assert len(eb) == 7689
    assert eb["building_id"].is_unique
    summary = json.loads(result.stdout)
    assert int(eb["reachable"].sum()) == summary["buildings"]["reachable"]
    routes = pyogrio.read_dataframe(out, layer="evacuation_routes")
    assert (routes["people"] > 0).all()
    sh = pyogrio.read_dataframe(out, layer="shelters")
    assert {"capacity", "assigned", "load_pct", "safe"} <= set(sh.columns)


def test_kibera_osm_with_shelter_tags_and_synthetic_flood(shared_data, tmp_path):
    """A 1 m flood over the western half of Kibera: schools there are unsafe, and fewer are used."""
    osm = shared_data / "kibera" / "kibera_map_2012.osm"
    hazard = tmp_path / "flood.tif"
    # EPSG:32737 around Kibera (x 252,500-255,500, y 9,853,500-9,856,500): west half 1 m deep.
    data = np.zeros((30, 30), dtype="float32")
    data[:, :15] = 1.0
    with rasterio.open(
        hazard,
        "w",
        driver="GTiff",
        width=30,
        height=30,
        count=1,
        dtype="float32",
        crs="EPSG:32737",
        transform=Affine(100, 0, 252_500, 0, -100, 9_856_500),
    ) as dst:
        dst.write(data, 1)
    args = ["evacuate", "--osm", str(osm), "--hazard", str(hazard), "--shelter-tags", "amenity=school", "--json"]
    result = CliRunner().invoke(main, args)
    assert "warning: " in result.stderr
    assert re.search("capacity unknown", result.stderr), result.stderr  # the CLI prints warnings as lines
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["buildings"]["total"] == 159
    assert summary["shelters"]["total"] == 184
    assert 0 < summary["shelters"]["safe"] < 184
    assert summary["buildings"]["reachable"] > 0


def test_shelters_file_with_capacity_field(sample_area_dir, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    d = sample_area_dir
    pts = gpd.GeoDataFrame(
        {"nama": ["Posko A", "Posko B"], "KAPASITAS": ["200 orang", "1.000"]},
        geometry=[Point(106.8456, -6.2088), Point(106.80, -6.18)],
        crs=4326,
    )
    path = tmp_path / "posko.geojson"
    pts.to_file(path)
    out = tmp_path / "o.gpkg"
    result = CliRunner().invoke(
        main,
        [
            "evacuate",
            "--roads",
            str(d / "roads.gpkg"),
            "--buildings",
            str(d / "buildings.gpkg"),
            "--hazard",
            str(d / "flood_design.tif"),
            "--shelters",
            str(path),
            "--capacity-field",
            "KAPASITAS",
            "--out",
            str(out),
        ],
    )
    assert "warning: " in result.stderr
    assert re.search("from the network", result.stderr), result.stderr  # the CLI prints warnings as lines
    assert result.exit_code == 0, result.output
    assert "shelters: 2" in result.output
    sh = pyogrio.read_dataframe(out, layer="shelters")
    assert sorted(sh["capacity"]) == [200.0, 1000.0]
    assert set(sh["capacity_source"]) == {"attribute"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hazard", "H"], "exactly one of --osm FILE or --roads PATH"),
        (["--hazard", "H", "--roads", "R"], "no buildings"),
        (["--hazard", "H", "--roads", "R", "--buildings", "B", "--shelter-tags", "amenity"], "must be KEY=VALUE"),
        (
            ["--hazard", "H", "--roads", "R", "--buildings", "B", "--shelter-tags", "amenity=bank"],
            "no known facility type",
        ),
        (["--hazard", "H", "--roads", "R", "--buildings", "B", "--capacity-field", "nope"], "--capacity-field 'nope'"),
        (["--hazard", "H", "--roads", "R", "--buildings", "B", "--shelter-tags", ""], "--shelter-tags is empty"),
        (["--hazard", "H", "--roads", "R", "--buildings", "B", "--walk-speed", "inf"], "walk speed inf m/s"),
        (["--hazard", "H", "--roads", "R", "--buildings", "B", "--walk-speed", "1e-320"], "must be a finite number"),
        (["--hazard", "H", "--roads", "R", "--buildings", "B", "--shelters", "R"], "expected shelter points or"),
    ],
)
def test_bad_input_is_one_clear_line(sample_area_dir, args, message):
    d = sample_area_dir
    paths = {"H": str(d / "flood_current.tif"), "R": str(d / "roads.gpkg"), "B": str(d / "buildings.gpkg")}
    result = CliRunner().invoke(main, ["evacuate", *[paths.get(a, a) for a in args]])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_vector_hazard_zones_close_the_roads_they_touch(shared_data, tmp_path):
    """InaSAFE's flood zones (FLOODPRONE yes/no, mixed case): shelters in a wet zone are unsafe."""
    d = shared_data / "inasafe_fixtures"
    out = tmp_path / "zones.gpkg"
    result = CliRunner().invoke(
        main,
        [
            "evacuate",
            "--roads",
            str(d / "roads.shp"),
            "--buildings",
            str(d / "buildings.shp"),
            "--hazard",
            str(d / "flood_multipart_polygons.shp"),
            "--hazard-field",
            "FLOODPRONE",
            "--classes",
            "wet:yes",
            "--shelter-tags",
            "amenity=school,amenity=place_of_worship,amenity=hospital",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["buildings"]["total"] == 181
    assert 0 < summary["shelters"]["safe"] < summary["shelters"]["total"]
    sh = pyogrio.read_dataframe(out, layer="shelters")
    assert set(sh.loc[~sh["safe"], "hazard_class"]) == {"wet"}
    # Buildings on streets inside a wet zone wade out and still reach a shelter.
    eb = pyogrio.read_dataframe(out, layer="evacuation_buildings")
    wet = eb["start_flooded"].astype(bool)
    assert wet.any()
    assert eb.loc[wet, "reachable"].astype(bool).any()


def test_empty_roads_layer_is_one_error_line(sample_area_dir, tmp_path):
    """Issue 13 #5: an empty roads layer was an IndexError traceback in network.py."""
    import geopandas as gpd

    d = sample_area_dir
    empty = tmp_path / "empty_roads.gpkg"
    gpd.read_file(d / "roads.gpkg").iloc[:0].to_file(empty)
    args = ["evacuate", "--roads", str(empty), "--buildings", str(d / "buildings.gpkg")]
    result = CliRunner().invoke(main, [*args, "--hazard", str(d / "flood_current.tif"), "--json"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {empty}: no road line that can be walked (the layer is empty or has no such road)"]
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_empty_footprints_are_skipped_with_a_warning_not_a_traceback(sample_area_dir, tmp_path):
    """A buildings file with empty polygons (as some exports write a deleted shape) was a ValueError
    traceback in snapping; they are left out, as roads and facilities already leave theirs, and said so."""
    import geopandas as gpd
    from shapely.geometry import Polygon

    d = sample_area_dir
    raw = gpd.read_file(d / "buildings.gpkg")
    raw.loc[[10, 500], "geometry"] = Polygon()
    path = tmp_path / "with_empty.gpkg"
    raw.to_file(path)
    out = tmp_path / "o.gpkg"
    args = ["evacuate", "--roads", str(d / "roads.gpkg"), "--buildings", str(path), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--hazard", str(d / "flood_current.tif"), "--json"])
    assert result.exit_code == 0, result.output
    assert f"warning: {path}: skipped 2 features with an empty footprint" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["buildings"]["total"] == 7689 - 2
    eb = pyogrio.read_dataframe(out, layer="evacuation_buildings")
    assert len(eb) == 7687
    assert not eb.geometry.is_empty.any()
    assert summary["buildings"]["reachable"] + summary["buildings"]["unreachable"] == 7687


def test_building_points_are_buildings_with_a_default_footprint(shared_data, tmp_path):
    """Issue 13 #7: InaSAFE's 198 building points of central Jakarta (a structure survey) were refused."""
    import geopandas as gpd
    from rasterio.transform import from_origin

    from layers.evacuation.files import POINT_FOOTPRINT_M2
    from tests.helpers import write_raster

    hazard = write_raster(
        tmp_path / "dry.tif", np.zeros((100, 100)), transform=from_origin(694_000, 9_322_000, 100, 100)
    )
    out = tmp_path / "points.gpkg"
    points = shared_data / "multihazard" / "exposure" / "building-points.shp"
    args = ["evacuate", "--roads", str(shared_data / "jakarta" / "jakarta_roads.shp"), "--buildings", str(points)]
    result = CliRunner().invoke(
        main, [*args, "--hazard", str(hazard), "--shelter-tags", "amenity=school", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["buildings"] == {"total": 198, "reachable": 196, "unreachable": 2}
    assert summary["shelters"]["total"] == 9
    eb = gpd.read_file(out, layer="evacuation_buildings")
    np.testing.assert_allclose(eb.area, POINT_FOOTPRINT_M2)
    assert (eb["people"] == 4.0).all()
    sh = gpd.read_file(out, layer="shelters")
    by_area = sh[sh["capacity_source"] == "floor_area"]
    assert len(by_area) > 0
    # One storey of 36 m2 at 3.5 m2 per person (SPHERE): 10 people.
    assert (by_area.loc[by_area["floor_area_m2"] == POINT_FOOTPRINT_M2, "capacity"] == 10).all()


def test_build_with_an_empty_roads_layer_is_one_error_line(sample_area_dir, tmp_path):
    """Issue 13 #5, through `geoapp build`: the evacuation step names the empty roads file."""
    import shutil

    import geopandas as gpd

    d = sample_area_dir
    for name in ("buildings.gpkg", "flood_current.tif"):
        shutil.copy(d / name, tmp_path / name)
    gpd.read_file(d / "roads.gpkg").iloc[:0].to_file(tmp_path / "roads.gpkg")
    (tmp_path / "area.toml").write_text(
        '[area]\nname = "empty_roads"\ncrs = "EPSG:32748"\n\n[layers]\nbuildings = "buildings.gpkg"\n'
        'roads = "roads.gpkg"\n\n[[hazard]]\nid = "current"\nfile = "flood_current.tif"\nunits = "m"\n'
    )
    result = CliRunner().invoke(main, ["build", str(tmp_path), "--out", str(tmp_path / "out.gpkg"), "--quiet"])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    roads = tmp_path / "roads.gpkg"
    assert errors == [f"error: {roads}: no road line that can be walked (the layer is empty or has no such road)"]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.gpkg").exists()
