"""`build_area` on the Jakarta sample: every layer, and figures that agree across layers."""

import json

import pyogrio
import pytest

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
    assert EXPECTED_LAYERS <= set(layers)
    assert layers["buildings"] == 7689
    assert layers["exposure_buildings"] == 2 * 7689  # one row per building per scenario
    assert layers["evacuation_buildings"] == 2 * 7689
    assert "metadata" not in layers


def test_stored_summaries_match_the_layers(built_area):
    meta = read_metadata(built_area)
    assert meta["area"] == "jakarta" and meta["crs"] == "EPSG:32748"
    for scenario in ("current", "design"):
        summary = json.loads(meta[f"exposure_summary:{scenario}"])
        eb = pyogrio.read_dataframe(
            built_area, layer="exposure_buildings", where=f"scenario = '{scenario}'", read_geometry=False
        )
        assert summary["buildings"]["total"] == 7689
        assert summary["buildings"]["affected"] == int(eb["hazard_class"].notna().sum())
        assert summary["population"]["total"] == pytest.approx(8_899_691, rel=1e-6)
        assert 0 < summary["population"]["affected"] < summary["population"]["total"]
