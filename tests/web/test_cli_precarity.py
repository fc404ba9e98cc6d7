"""`geoapp precarity`: the command line contract (layers, --json keys) and its error paths."""

import json

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
from click.testing import CliRunner
from shapely.geometry import box

from geoapp.cli import main


@pytest.fixture(scope="module")
def dar(shared_data):
    return shared_data / "dar_es_salaam"


@pytest.fixture(scope="module")
def halves(dar, tmp_path_factory):
    """Tandale's buildings cut into a west and an east half, as a boundaries file."""
    b = gpd.read_file(dar / "tandale-buildings.shp")
    x0, y0, x1, y1 = b.total_bounds
    mid = (x0 + x1) / 2
    gdf = gpd.GeoDataFrame({"ward": ["West", "East"]}, geometry=[box(x0, y0, mid, y1), box(mid, y0, x1, y1)], crs=4326)
    path = tmp_path_factory.mktemp("precarity") / "halves.gpkg"
    gdf.to_file(path)
    return path


def test_json_contract_and_geopackage(dar, halves, tmp_path):
    out = tmp_path / "p.gpkg"
    args = [
        "precarity",
        "--buildings",
        str(dar / "tandale-buildings.shp"),
        "--roads",
        str(dar / "tandale-roads.shp"),
        "--boundaries",
        str(halves),
        "--boundary-name",
        "ward",
        "--out",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cells"] > 15
    assert sorted(a["name"] for a in data["areas"]) == ["East", "West"]
    first = data["areas"][0]
    assert {"name", "index", "rank", "components"} <= set(first)
    assert first["rank"] == 1
    assert 0 <= first["index"] <= 1
    comp = first["components"]["share_far_from_road"]
    assert set(comp) == {"value", "score", "weight"}
    assert 0 <= comp["value"] <= 1
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"precarity_cells", "precarity_areas", "precarious_neighbourhoods"} <= layers
    cells = gpd.read_file(out, layer="precarity_cells")
    assert len(cells) == data["cells"]
    assert cells["h3_id"].str.len().eq(15).all()
    assert cells.crs.to_epsg() == 32737


def test_resolution_and_weights(dar):
    base = ["precarity", "--buildings", str(dar / "tandale-buildings.shp"), "--json"]
    r8 = json.loads(CliRunner().invoke(main, base + ["--h3-resolution", "8"]).stdout)
    r9 = json.loads(CliRunner().invoke(main, base).stdout)
    assert r8["cells"] < r9["cells"]
    assert "share_far_from_road" in r9["skipped"]  # no roads given: left out, with why
    result = CliRunner().invoke(main, base + ["--weights", "built_up_ratio:3,median_footprint_m2:0"])
    assert result.exit_code == 0, result.output


def test_text_output_lists_left_out_indicators(dar):
    result = CliRunner().invoke(main, ["precarity", "--buildings", str(dar / "tandale-buildings.shp")])
    assert result.exit_code == 0
    assert "cells" in result.stdout
    assert "left out: walk_health_m" in result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--weights", "nonsense:2"], "not an indicator"),
        (["--weights", "hazard_score"], "INDICATOR:WEIGHT"),
        (["--threshold", "2"], "threshold"),
        (["--boundaries", "BOUNDARIES"], "--boundary-name"),
    ],
)
def test_errors_are_one_clear_line(dar, halves, extra, message):
    extra = [str(halves) if e == "BOUNDARIES" else e for e in extra]
    result = CliRunner().invoke(main, ["precarity", "--buildings", str(dar / "tandale-buildings.shp"), *extra])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_file_is_one_error_line(tmp_path):
    """--buildings may be PATH:LAYER, so the loader (not click) names the missing file: one line, exit 1."""
    result = CliRunner().invoke(main, ["precarity", "--buildings", str(tmp_path / "nope.gpkg")])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: buildings file {tmp_path / 'nope.gpkg'} does not exist"
    nothing = CliRunner().invoke(main, ["precarity"])
    assert nothing.exit_code == 1
    assert "--buildings FILE or --osm FILE" in nothing.output


def test_hazard_and_population_on_the_sample_area(sample_area_dir, tmp_path):
    """Jakarta sample: people on the flood grid give hazard shares per cell and per kelurahan."""
    d = sample_area_dir
    out = tmp_path / "jk.gpkg"
    args = [
        "precarity",
        "--buildings",
        str(d / "buildings.gpkg"),
        "--hazard",
        str(d / "flood_current.tif"),
        "--population",
        str(d / "population.tif"),
        "--population-scale",
        "0.025",
        "--boundaries",
        str(d / "kelurahan.gpkg"),
        "--boundary-name",
        "KEL_NAME2",
        "--out",
        str(out),
        "--json",
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "hazard_score" not in data["skipped"]
    assert len(data["areas"]) == 261
    areas = gpd.read_file(out, layer="precarity_areas")
    # Every person of the grid lands in some kelurahan or outside them all; none is created.
    assert 7.5e6 < areas["population"].sum() < 8.95e6
    shares = areas[["pop_share_low", "pop_share_medium", "pop_share_high"]].sum(axis=1)
    assert (shares.dropna() <= 1 + 1e-9).all()
    assert shares.max() > 0.5
    top = data["areas"][0]["components"]["hazard_score"]
    assert top["weight"] == 2.0
    assert top["value"] is not None


def test_hazard_without_population_uses_buildings(sample_area_dir):
    """Without population the hazard shares are over buildings (all-touched class of each footprint)."""
    d = sample_area_dir
    args = ["precarity", "--buildings", str(d / "buildings.gpkg"), "--hazard", str(d / "flood_current.tif"), "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "hazard_score" not in data["skipped"]
    assert "reports_per_1000" in data["skipped"]


def test_hazard_outside_the_buildings_is_an_error(sample_area_dir, dar):
    args = [
        "precarity",
        "--buildings",
        str(dar / "tandale-buildings.shp"),
        "--hazard",
        str(sample_area_dir / "flood_current.tif"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "does not overlap" in result.output


def test_census_polygons_as_population(shared_data, tmp_path):
    """InaSAFE fixtures: census wards shared by area over the hazard classes; people are neither created nor lost."""
    f = shared_data / "inasafe_fixtures"
    out = tmp_path / "c.gpkg"
    args = [
        "precarity",
        "--buildings",
        str(f / "buildings.shp"),
        "--roads",
        str(f / "roads.shp"),
        "--hazard",
        str(f / "continuous_flood_20_20.asc"),
        "--population",
        str(f / "census.geojson"),
        "--population-field",
        "population",
        "--boundaries",
        str(f / "census.geojson"),
        "--boundary-name",
        "population",
        "--h3-resolution",
        "10",
        "--out",
        str(out),
        "--json",
    ]
    # Two published needs inside the first ward, as a GeoJSON export of field reports.
    wards = gpd.read_file(f / "census.geojson")
    inside = wards.geometry.iloc[0].representative_point()
    reports = gpd.GeoDataFrame(
        {"category": ["need_water", "need_food"], "status": ["published", "published"]},
        geometry=[inside, inside],
        crs=wards.crs,
    )
    reports.to_file(tmp_path / "reports.geojson")
    args += ["--reports", str(tmp_path / "reports.geojson")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    # The fixture's 4th ward has no geometry: said once, as a plain warning line.
    assert "warning: " in result.stderr
    assert "empty or have no area" in result.stderr
    areas = gpd.read_file(out, layer="precarity_areas")
    placed = wards.loc[~(wards.geometry.isna() | wards.geometry.is_empty), "population"].sum()
    assert areas["population"].sum() == pytest.approx(placed, rel=1e-5)  # overlay pieces: float noise only
    assert "hazard_score" not in json.loads(result.stdout)["skipped"]
    first = areas.loc[areas["area_id"] == 1].iloc[0]
    assert first["reports_per_1000"] == pytest.approx(2000.0 / first["population"])
    assert (areas.loc[areas["area_id"] != 1, "reports_per_1000"].dropna() == 0).all()


def test_facilities_default_to_tagged_buildings(dar):
    """Tandale's buildings include schools and a hospital: with roads, walks are computed without --facilities."""
    args = [
        "precarity",
        "--buildings",
        str(dar / "tandale-buildings.shp"),
        "--roads",
        str(dar / "tandale-roads.shp"),
        "--json",
    ]
    data = json.loads(CliRunner().invoke(main, args).stdout)
    assert "walk_school_m" not in data["skipped"]
    assert "walk_health_m" not in data["skipped"]
    assert "water_point" in data["skipped"]["walk_water_m"]


def _run_json(args):
    result = CliRunner().invoke(main, ["precarity", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_osm_file_gives_buildings_roads_and_facilities(shared_data, tmp_path):
    """Issue 13 #8: `geoapp precarity --osm FILE` on raw Kibera OSM; every building is counted, walks computed."""
    from layers.io.osm import buildings_from_osm

    osm = shared_data / "kibera" / "kibera_map_2012.osm"
    out = tmp_path / "k.gpkg"
    summary = _run_json(["--osm", str(osm), "--out", str(out)])
    cells = pyogrio.read_dataframe(out, layer="precarity_cells")
    assert summary["cells"] == len(cells) > 10
    assert int(cells["buildings"].sum()) == len(buildings_from_osm(osm))
    for name in ("walk_health_m", "walk_school_m", "share_far_from_road"):
        assert name not in summary["skipped"], name
        assert cells[name].notna().any(), name
    bad = CliRunner().invoke(main, ["precarity", "--osm", str(shared_data / "kibera" / "health.shp")])
    assert bad.exit_code == 1
    assert "is not an OSM file" in bad.output
    assert "Traceback" not in bad.output


def test_facilities_layer_geoapp_writes_is_accepted(shared_data, tmp_path):
    """Issue 13 #8: --facilities takes geoapp's own `facilities` layer (category column) from a GeoPackage it wrote."""
    from layers.io.osm import buildings_from_osm, facilities_from_osm, roads_from_osm
    from layers.publish.export import write_geopackage

    osm = shared_data / "kibera" / "kibera_map_2012.osm"
    b = buildings_from_osm(osm)
    built = write_geopackage(
        {"buildings": b, "roads": roads_from_osm(osm, crs=b.crs), "facilities": facilities_from_osm(osm, crs=b.crs)},
        tmp_path / "area.gpkg",
    )
    assert "category" in pyogrio.read_info(built, layer="facilities")["fields"]
    mine = tmp_path / "mine.gpkg"
    _run_json(
        [
            "--buildings",
            f"{built}:buildings",
            "--roads",
            f"{built}:roads",
            "--facilities",
            f"{built}:facilities",
            "--out",
            str(mine),
        ]
    )
    ref = tmp_path / "ref.gpkg"
    _run_json(["--osm", str(osm), "--out", str(ref)])
    got = pyogrio.read_dataframe(mine, layer="precarity_cells").set_index("h3_id").sort_index()
    want = pyogrio.read_dataframe(ref, layer="precarity_cells").set_index("h3_id").sort_index()
    assert got.index.tolist() == want.index.tolist()
    for col in ("walk_health_m", "walk_school_m", "precarity_index"):
        assert got[col].notna().any(), col
        assert got[col].to_numpy() == pytest.approx(want[col].to_numpy(), rel=1e-6, nan_ok=True), col


def test_reports_without_a_category_are_one_error_line(sample_area_dir):
    """Building footprints given as field reports: no 'category' column, so nothing could be counted."""
    d = sample_area_dir
    args = ["precarity", "--buildings", str(d / "buildings.gpkg"), "--reports", str(d / "buildings.gpkg")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "has no 'category' column" in result.stderr
    assert "Traceback" not in result.output


def test_layers_away_from_the_buildings_and_nodata_hazard_warn(sample_area_dir, tmp_path):
    """Facilities 100 degrees west of the buildings and a hazard grid of nodata only: warnings, not silent zeros."""
    d = sample_area_dir
    far = pyogrio.read_dataframe(d / "buildings.gpkg", max_features=200)
    far = far.set_geometry(far.geometry.translate(-100.0)).assign(amenity="school")
    pyogrio.write_dataframe(far[["amenity", "geometry"]], tmp_path / "far.gpkg")
    with rasterio.open(d / "flood_current.tif") as src:
        profile, shape = src.profile, src.shape
    with rasterio.open(tmp_path / "nodata.tif", "w", **profile) as dst:
        dst.write(np.full(shape, profile["nodata"], dtype=profile["dtype"]), 1)
    args = ["precarity", "--buildings", str(d / "buildings.gpkg"), "--roads", str(d / "roads.gpkg"), "--json"]
    result = CliRunner().invoke(main, [*args, "--facilities", str(tmp_path / "far.gpkg")])
    assert result.exit_code == 0, result.output
    assert "warning: the facilities layer lies wholly outside the buildings" in result.stderr
    result = CliRunner().invoke(main, [*args, "--hazard", str(tmp_path / "nodata.tif")])
    assert result.exit_code == 0, result.output
    assert "every building lies on nodata cells of the hazard" in result.stderr


def test_weights_only_on_indicators_left_out_are_one_error_line(sample_area_dir):
    """Only hazard_score and reports weighted, neither hazard nor population given: the index would be blank."""
    d = sample_area_dir
    zero = ",".join(f"{n}:0" for n in ("building_density_per_ha", "built_up_ratio", "median_footprint_m2"))
    zero += ",share_far_from_road:0,walk_health_m:0,walk_school_m:0,walk_water_m:0,hazard_score:5"
    args = ["precarity", "--buildings", str(d / "buildings.gpkg"), "--roads", str(d / "roads.gpkg"), "--weights", zero]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "no weighted indicator can be computed here (hazard_score: no hazard classes" in result.stderr
    assert "Traceback" not in result.output
