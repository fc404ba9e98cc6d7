"""`geoapp exposure`: the README contract (options, --json keys, output layers), --osm, PATH:LAYER and its errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
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
    # no --facilities: no "facilities" key
    assert set(s) == {"kind", "units", "classes", "population", "buildings", "roads", "by_area"}
    assert s["classes"] == ["low", "medium", "high"]
    assert {"total", "affected", "by_class", "displaced", "needs"} <= set(s["population"])
    assert set(s["population"]["needs"]) == {"rice_kg", "drinking_water_l", "clean_water_l", "family_kits", "toilets"}
    assert {"total", "affected", "by_class", "by_type"} <= set(s["buildings"])
    assert {"total_km", "affected_km", "by_class_km"} <= set(s["roads"])
    assert len(s["by_area"]) == 261
    assert all("name" in a for a in s["by_area"])


def test_json_values(jakarta_run):
    s = json.loads(jakarta_run[0].stdout)
    p = s["population"]
    assert p["total"] == pytest.approx(8.9e6, rel=0.01)
    assert p["affected"] == pytest.approx(sum(p["by_class"].values()), abs=0.01)
    assert p["displaced"] == pytest.approx(p["by_class"]["high"] + 0.3 * p["by_class"]["medium"], abs=0.01)
    assert p["needs"]["rice_kg"] >= 2.8 * p["displaced"]
    assert s["buildings"]["total"] == 7689
    assert s["buildings"]["affected"] == sum(s["buildings"]["by_class"].values())
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
    ("args", "message"),
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
    assert message in result.output
    assert "Traceback" not in result.output


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
    assert result.exit_code != 0
    assert "has no CRS" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, hazard + ["--population", str(tmp_path / "pop.tif")])
    assert result.exit_code != 0
    assert "does not overlap the hazard" in result.output


def _invoke_recording_warnings(args: list[str]):
    """Run the CLI; return the result and everything it warned (as Python warnings or printed lines)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(main, args)
    return result, result.output + "\n".join(str(w.message) for w in caught)


@pytest.fixture(scope="module")
def kibera(shared_data, tmp_path_factory):
    """Kibera's raw OSM file and a synthetic 10 m depth grid over it (EPSG:32737): 1 m south of y = 9,855,500."""
    from rasterio.transform import from_origin

    from tests.helpers import write_raster

    depth = np.zeros((520, 910), dtype=np.float32)  # origin (247000, 9858000): rows 250.. lie south of the line
    depth[250:, :] = 1.0
    tif = write_raster(
        tmp_path_factory.mktemp("kibera") / "depth.tif",
        depth,
        transform=from_origin(247_000, 9_858_000, 10, 10),
        crs="EPSG:32737",
    )
    return shared_data / "kibera" / "kibera_map_2012.osm", tif


def test_osm_file_gives_buildings_roads_and_facilities(kibera):
    """`geoapp exposure --osm`: every layer of the Kibera OSM file, with figures checked against shapely."""
    from shapely.geometry import box

    from layers.io.osm import buildings_from_osm, facilities_from_osm, roads_from_osm

    osm, tif = kibera
    result = CliRunner().invoke(
        main, ["exposure", "--osm", str(osm), "--hazard", str(tif), "--needs", "none", "--json"]
    )
    assert result.exit_code == 0, result.output
    s = json.loads(result.stdout)
    crs, south = "EPSG:32737", 9_855_500
    b = buildings_from_osm(osm, crs=crs)
    r = roads_from_osm(osm, crs=crs)
    f = facilities_from_osm(osm, crs=crs)
    # A footprint shares area with the wet half exactly when it reaches below the line.
    wet_b = int((b.geometry.bounds["miny"] < south).sum())
    assert s["buildings"]["total"] == len(b) == 159
    assert s["buildings"]["by_class"] == {"low": 0, "medium": wet_b, "high": 0}
    assert 0 < wet_b < 159
    wet_km = r.geometry.intersection(box(247_000, 9_852_800, 256_100, south)).length.sum() / 1000
    assert s["roads"]["total_km"] == pytest.approx(r.length.sum() / 1000, abs=1e-3)
    assert s["roads"]["by_class_km"]["medium"] == pytest.approx(wet_km, abs=2e-3)
    assert s["roads"]["affected_km"] == pytest.approx(wet_km, abs=2e-3)
    assert s["facilities"]["total"] == len(f) == 1091
    assert s["facilities"]["affected"] == int((f.geometry.bounds["miny"] < south).sum())


def test_osm_layers_given_as_files_win(kibera, shared_data):
    """A file option replaces that layer of the OSM file; the others still come from it."""
    from layers.io.vectors import facilities_from_file

    osm, tif = kibera
    health = shared_data / "kibera" / "health.shp"
    result = CliRunner().invoke(
        main, ["exposure", "--osm", str(osm), "--facilities", str(health), "--hazard", str(tif), "--json"]
    )
    assert result.exit_code == 0, result.output
    s = json.loads(result.stdout)
    assert s["facilities"]["total"] == len(facilities_from_file(health)) == 191  # Map Kibera's health points
    assert s["buildings"]["total"] == 159


def test_osm_option_needs_an_osm_file(sample_area_dir):
    result = CliRunner().invoke(
        main,
        [
            "exposure",
            "--osm",
            str(sample_area_dir / "buildings.gpkg"),
            "--hazard",
            str(sample_area_dir / "flood_current.tif"),
        ],
    )
    assert result.exit_code == 1
    assert "is not an OSM file" in result.output
    assert "Traceback" not in result.output


def test_empty_input_layer_is_a_warning_naming_it(shared_data, sample_area_dir, tmp_path):
    """Buildings that hold no feature: a warning names the layer and its file, not a silent 0."""
    empty = tmp_path / "no_buildings.gpkg"
    jakarta = pyogrio.read_dataframe(shared_data / "jakarta" / "jakarta_building.gpkg", max_features=1)
    pyogrio.write_dataframe(jakarta.iloc[:0], empty, layer="buildings")
    args = ["exposure", "--hazard", str(sample_area_dir / "flood_current.tif"), "--buildings", str(empty)]
    args += ["--roads", str(sample_area_dir / "roads.gpkg")]
    result, said = _invoke_recording_warnings(args)
    assert result.exit_code == 0, result.output
    assert f"the buildings layer ({empty}) is empty; its figures are 0" in said
    assert "buildings: 0, affected 0" in result.stdout
    assert "roads layer" not in said  # only the empty layer is named


def test_reads_the_geopackage_geoapp_build_wrote(built_area, sample_area_dir):
    """`--buildings/--roads/--facilities build/area.gpkg`: the layers named after them, and the build's figures."""
    from layers.publish.export import read_metadata

    args = ["exposure", "--hazard", str(sample_area_dir / "flood_current.tif"), "--needs", "none", "--json"]
    for option in ("--buildings", "--roads", "--facilities"):
        args += [option, str(built_area)]
    result, said = _invoke_recording_warnings(args)  # the loaders say which layer they read
    assert result.exit_code == 0, result.output
    assert "reading 'facilities'" in said
    s = json.loads(result.stdout)
    built = json.loads(read_metadata(built_area)["exposure_summary:current"])
    assert s["buildings"] == built["buildings"]
    assert s["buildings"]["total"] == 7689
    assert s["roads"] == built["roads"]
    assert s["facilities"] == built["facilities"]


def test_volcano_radii_on_the_command_line(tmp_path):
    """`--radii` (the reserved contract name) and `--radii-km` give the same rings: people 1, 4, 7 and 12 km east
    of a vent; rings of 2 and 13 km put the first in the inner ring and the other three in the outer one."""
    import geopandas as gpd
    import numpy as np
    from click.testing import CliRunner
    from rasterio.transform import from_origin
    from shapely.geometry import Point

    from geoapp.cli import main
    from tests.helpers import UTM, write_raster

    gpd.GeoDataFrame({"NAME": ["v"]}, geometry=[Point(500_000, 9_300_000)], crs=UTM).to_file(tmp_path / "vent.gpkg")
    row = np.zeros((1, 14))
    for km, n in ((1, 10), (4, 20), (7, 30), (12, 40)):
        row[0, km] = n
    write_raster(tmp_path / "pop.tif", row, transform=from_origin(500_000, 9_300_500, 1000, 1000))
    base = ["exposure", "--hazard", str(tmp_path / "vent.gpkg"), "--kind", "volcano"]
    base += ["--population", str(tmp_path / "pop.tif"), "--json"]
    answers = []
    for flag in ("--radii", "--radii-km"):
        result = CliRunner().invoke(main, [*base, flag, "2,13"])
        assert result.exit_code == 0, result.output
        answers.append(json.loads(result.stdout)["population"]["by_class"])
    assert answers[0] == answers[1] == {"low": 0.0, "medium": 90.0, "high": 10.0}
