"""`geoapp exposure`: the DESIGN.md contract (options, --json keys, output layers) and its errors."""

from __future__ import annotations

import json

import pyogrio
import pytest
from click.testing import CliRunner

from geoapp.cli import main


@pytest.fixture(scope="module")
def jakarta_run(sample_area_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("exposure") / "exposure.gpkg"
    d = sample_area_dir
    result = CliRunner().invoke(
        main,
        [
            "exposure",
            "--hazard",
            str(d / "flood_current.tif"),
            "--buildings",
            str(d / "buildings.gpkg"),
            "--roads",
            str(d / "roads.gpkg"),
            "--population",
            str(d / "population.tif"),
            "--population-scale",
            "0.025",
            "--boundaries",
            str(d / "kelurahan.gpkg"),
            "--boundary-name",
            "KEL_NAME2",
            "--displacement",
            "high:1.0,medium:0.3",
            "--out",
            str(out),
            "--json",
        ],
    )
    return result, out


def test_json_keys_per_contract(jakarta_run):
    result, _ = jakarta_run
    assert result.exit_code == 0, result.output
    s = json.loads(result.stdout)
    assert set(s) == {"classes", "population", "buildings", "roads", "by_area"}  # no --facilities: no key
    assert s["classes"] == ["low", "medium", "high"]
    assert {"total", "affected", "by_class", "displaced", "needs"} <= set(s["population"])
    assert set(s["population"]["needs"]) == {"rice_kg", "drinking_water_l", "clean_water_l", "family_kits", "toilets"}
    assert {"total", "affected", "by_class", "by_type"} <= set(s["buildings"])
    assert {"total_km", "affected_km", "by_class_km"} <= set(s["roads"])
    assert len(s["by_area"]) == 261 and all("name" in a for a in s["by_area"])


def test_json_values(jakarta_run):
    s = json.loads(jakarta_run[0].stdout)
    p = s["population"]
    assert p["total"] == pytest.approx(8.9e6, rel=0.01)
    assert p["affected"] == pytest.approx(sum(p["by_class"].values()), abs=0.01)
    assert p["displaced"] == pytest.approx(p["by_class"]["high"] + 0.3 * p["by_class"]["medium"], abs=0.01)
    assert p["needs"]["rice_kg"] >= 2.8 * p["displaced"]
    assert s["buildings"]["total"] == 7689 and s["buildings"]["affected"] == sum(s["buildings"]["by_class"].values())
    assert s["roads"]["total_km"] == pytest.approx(5692, rel=0.01)
    assert sum(a["pop_affected"] for a in s["by_area"]) <= p["affected"] + 1


def test_out_layers(jakarta_run):
    _, out = jakarta_run
    assert set(pyogrio.list_layers(out)[:, 0]) >= {"exposure_buildings", "exposure_roads", "exposure_areas"}
    b = pyogrio.read_dataframe(out, layer="exposure_buildings", read_geometry=False)
    assert list(b.columns) == ["building_id", "building_type", "hazard_class", "depth_max_m", "flooded_share"]


def test_text_output_and_vector_hazard(shared_data):
    d = shared_data / "inasafe_fixtures"
    result = CliRunner().invoke(
        main,
        [
            "exposure",
            "--hazard",
            str(d / "flood_multipart_polygons.shp"),
            "--hazard-field",
            "FLOODPRONE",
            "--classes",
            "wet:yes",
            "--buildings",
            str(d / "buildings.shp"),
            "--needs",
            "none",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "buildings: 181, affected" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--classes", "low:0.1-0.5,high:0.7-"], "gap between classes"),
        (["--boundaries", "{d}/kelurahan.gpkg"], "--boundaries needs --boundary-name"),
        (["--displacement", "extreme:1"], "not one of the hazard classes"),
        (["--buildings", "{shared}/dar_es_salaam/tandale-buildings.shp"], "does not overlap the hazard"),
    ],
)
def test_errors_are_one_line(sample_area_dir, shared_data, args, message):
    args = [a.format(d=sample_area_dir, shared=shared_data) for a in args]
    base = ["exposure", "--hazard", str(sample_area_dir / "flood_current.tif")]
    if "--buildings" not in args:
        base += ["--buildings", str(sample_area_dir / "buildings.gpkg")]
    result = CliRunner().invoke(main, base + args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


def test_crs_less_and_far_away_inputs(sample_area_dir, tmp_path):
    """A shapefile without .prj and a population grid on another continent: one clear line each."""
    import geopandas as gpd
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin
    from shapely.geometry import box

    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"type": ["house"]}, geometry=[box(106.85, -6.15, 106.8501, -6.1499)]).to_file(
            tmp_path / "b.shp"
        )
    with rasterio.open(
        tmp_path / "pop.tif",
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(10, 10, 0.01, 0.01),
    ) as dst:
        dst.write(np.ones((1, 2, 2), dtype="float32"))
    hazard = ["exposure", "--hazard", str(sample_area_dir / "flood_current.tif")]
    result = CliRunner().invoke(main, hazard + ["--buildings", str(tmp_path / "b.shp")])
    assert result.exit_code != 0 and "has no CRS" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, hazard + ["--population", str(tmp_path / "pop.tif")])
    assert result.exit_code != 0 and "does not overlap the hazard" in result.output
