"""`build_area` on the Jakarta sample: every layer, figures that agree across layers, skipped steps,
and the built GeoPackage read back as input."""

import json
import shutil

import pyogrio
import pytest

from layers.errors import AmbiguousLayerError
from layers.io.vectors import boundaries_from_file, buildings_from_file, facilities_from_file, roads_from_file
from layers.publish.export import read_metadata

EXPECTED_LAYERS = {
    "buildings",
    "roads",
    "facilities",
    "boundaries_rw",
    "boundaries_kelurahan",
    "exposure_buildings",
    "exposure_roads",
    "exposure_facilities",
    "exposure_areas",
    "exposure_scenario_diff",
    "shelters",
    "evacuation_buildings",
    "evacuation_routes",
    "catchments",
    "unreachable",
    "emergency_access",
    "isochrones",
    "precarity_cells",
    "precarity_areas",
    "precarious_neighbourhoods",
}


@pytest.fixture(scope="module")
def layers(built_area):
    return {name: pyogrio.read_info(built_area, layer=name)["features"] for name, _ in pyogrio.list_layers(built_area)}


def test_every_layer_is_built(layers):
    assert set(layers) >= EXPECTED_LAYERS
    assert layers["buildings"] == 7689
    assert layers["exposure_buildings"] == 2 * 7689  # one row per building per scenario
    assert layers["evacuation_buildings"] == 2 * 7689
    assert "metadata" not in layers


def test_stored_summaries_match_the_layers(built_area):
    meta = read_metadata(built_area)
    assert meta["area"] == "jakarta"
    assert meta["crs"] == "EPSG:32748"
    for scenario in ("current", "design"):
        summary = json.loads(meta[f"exposure_summary:{scenario}"])
        eb = pyogrio.read_dataframe(
            built_area, layer="exposure_buildings", where=f"scenario = '{scenario}'", read_geometry=False
        )
        assert summary["buildings"]["total"] == 7689
        assert summary["buildings"]["affected"] == int(eb["hazard_class"].notna().sum())
        assert summary["population"]["total"] == pytest.approx(8_899_691, rel=1e-6)
        assert 0 < summary["population"]["affected"] < summary["population"]["total"]


def test_full_build_skips_nothing(built_area):
    assert json.loads(read_metadata(built_area)["skipped_steps"]) == {}


def test_area_without_roads_builds_what_it_can(shared_data, tmp_path):
    """Issue 13 #6: exposure and precarity need no roads; evacuation is skipped, with a warning and a metadata row."""
    from layers.area import load_area
    from layers.build import build_area

    fixtures = shared_data / "inasafe_fixtures"
    for path in [*fixtures.glob("buildings.*"), *fixtures.glob("continuous_flood_20_20.*")]:
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "area.toml").write_text(
        '[area]\nname = "dry_roads"\n[layers]\nbuildings = "buildings.shp"\n'
        '[[hazard]]\nid = "flood"\nfile = "continuous_flood_20_20.asc"\n'
    )
    with pytest.warns(UserWarning, match="skipped the evacuation step: area 'dry_roads' has no roads"):
        out = build_area(load_area(tmp_path), tmp_path / "out.gpkg", progress=False)
    skipped = json.loads(read_metadata(out)["skipped_steps"])
    assert list(skipped) == ["evacuation"]
    assert "has no roads" in skipped["evacuation"]
    counts = {name: pyogrio.read_info(out, layer=name)["features"] for name, _ in pyogrio.list_layers(out)}
    assert counts["buildings"] == 181
    assert counts["exposure_buildings"] == 181
    assert counts["precarity_cells"] > 0
    assert "roads" not in counts
    assert "evacuation_buildings" not in counts


def test_build_output_reads_back_as_input(built_area):
    """Issue 13 #2 and #8: geoapp reads the GeoPackage it writes. Without a layer named, each loader takes
    its own layer (not the first one) and says which; the facilities layer keeps its categories and ids."""
    stored = {
        name: pyogrio.read_dataframe(built_area, layer=name, read_geometry=False)
        for name in ("buildings", "roads", "facilities")
    }
    with pytest.warns(UserWarning, match="reading 'buildings'"):
        b = buildings_from_file(built_area)
    assert len(b) == 7689
    assert (b.building_id.to_numpy() == stored["buildings"].building_id.to_numpy()).all()
    assert (b.building_type.to_numpy() == stored["buildings"].building_type.to_numpy()).all()
    with pytest.warns(UserWarning, match="reading 'roads'"):
        r = roads_from_file(built_area)
    assert len(r) == 18574
    assert (r.road_id.to_numpy() == stored["roads"].road_id.to_numpy()).all()
    assert r.oneway.sum() == stored["roads"].oneway.astype(bool).sum()
    f = facilities_from_file(f"{built_area}:facilities")
    assert len(f) == len(stored["facilities"])
    assert f.category.value_counts().to_dict() == stored["facilities"].category.value_counts().to_dict()
    assert f.category.value_counts()["hospital"] == 31
    assert (f.facility_id.to_numpy() == stored["facilities"].facility_id.to_numpy()).all()
    assert (f.building_id.to_numpy() == stored["facilities"].building_id.to_numpy()).all()


def test_wrong_layer_of_a_build_is_refused(built_area):
    """Boundaries from a build: several polygon layers and none called 'boundaries' -> an error listing them."""
    with pytest.raises(AmbiguousLayerError, match="boundaries_rw \\(.*Polygon\\)") as info:
        boundaries_from_file(built_area, name_field="name")
    assert ("buildings", "MultiPolygon") in info.value.layers or ("buildings", "Polygon") in info.value.layers
