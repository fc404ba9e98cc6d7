"""Dashboard figures: counted from the built layers exactly as the exposure summary counts them."""

import json

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from layers.hazard.needs import minimum_needs
from layers.publish.dashboard import BuiltLayers, area_ranking, dashboard, layer_dates, participation, scenario_figures
from layers.publish.export import write_geopackage

CLASSES = ["low", "medium", "high"]
CRS = "EPSG:32748"


def _sq(i):
    return box(700_000 + 100 * i, 9_310_000, 700_050 + 100 * i, 9_310_050)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("dash") / "area.gpkg"
    layers = {
        "exposure_buildings": gpd.GeoDataFrame(
            {
                "building_id": [1, 2, 3, 4] * 2,
                "hazard_class": ["high", "low", None, "low", None, "low", None, None],
                "scenario": ["current"] * 4 + ["design"] * 4,
            },
            geometry=[_sq(i) for i in range(4)] * 2,
            crs=CRS,
        ),
        "exposure_roads": gpd.GeoDataFrame(
            {
                "road_id": [1, 1, 2],
                "hazard_class": ["medium", None, "high"],
                "length_m": [1500.0, 500.0, 250.0],
                "scenario": ["current"] * 3,
            },
            geometry=[LineString([(700_000, 9_310_000), (700_100, 9_310_000)])] * 3,
            crs=CRS,
        ),
        "exposure_facilities": gpd.GeoDataFrame(
            {
                "facility_id": [1, 2, 3],
                "category": ["school", "hospital", "school"],
                "hazard_class": ["high", None, "low"],
                "scenario": ["current"] * 3,
            },
            geometry=[Point(700_010, 9_310_010)] * 3,
            crs=CRS,
        ),
        "exposure_areas": gpd.GeoDataFrame(
            {
                "boundary": ["rw", "rw", "rw", "kel"],
                "area_id": [1, 2, 3, 1],
                "name": ["RW 01", "RW 02", "RW 03", "Kel A"],
                "pop_total": [100.0, 200.0, 50.0, 350.0],
                "pop_affected": [40.0, 10.0, 25.0, 75.0],
                "pop_low": [10.0, 10.0, 0.0, 20.0],
                "pop_medium": [20.0, 0.0, 5.0, 25.0],
                "pop_high": [10.0, 0.0, 20.0, 30.0],
                "displaced": [16.0, 0.0, 21.5, 37.5],
                "buildings_affected": [2, 0, 1, 3],
                "scenario": ["current"] * 4,
            },
            geometry=[_sq(0), _sq(1), _sq(2), box(699_000, 9_309_000, 701_000, 9_311_000)],
            crs=CRS,
        ),
        "evacuation_buildings": gpd.GeoDataFrame(
            {"building_id": [1, 2, 3, 4], "reachable": [True, False, True, False], "scenario": ["current"] * 4},
            geometry=[_sq(i) for i in range(4)],
            crs=CRS,
        ),
        "shelters": gpd.GeoDataFrame(
            {"shelter_id": [1, 2], "over_capacity": [True, False], "scenario": ["current"] * 2},
            geometry=[Point(700_000, 9_310_000)] * 2,
            crs=CRS,
        ),
    }
    write_geopackage(layers, path)
    return BuiltLayers(path)


def test_headline_figures_of_one_scenario(built):
    fig = scenario_figures(built, "current", CLASSES, boundary="rw")
    assert fig["population"]["total"] == 350.0
    assert fig["population"]["affected"] == 75.0
    assert fig["population"]["by_class"] == {"low": 20.0, "medium": 25.0, "high": 30.0}
    assert fig["population"]["displaced"] == 37.5
    assert (
        fig["population"]["needs"]
        == minimum_needs(37.5)
        == {"rice_kg": 105, "drinking_water_l": 657, "clean_water_l": 2513, "family_kits": 8, "toilets": 2}
    )
    assert fig["buildings"] == {"total": 4, "affected": 3, "by_class": {"low": 2, "medium": 0, "high": 1}}
    assert fig["roads"] == {"affected_km": 1.75, "by_class_km": {"low": 0.0, "medium": 1.5, "high": 0.25}}
    assert fig["facilities"]["affected"] == 2
    assert fig["facilities"]["by_category"] == {"school": 2}
    assert fig["evacuation"] == {"buildings": 4, "unreachable": 2}
    assert fig["shelters"] == {"total": 2, "over_capacity": 1}


def test_a_scenario_without_some_analyses_has_only_what_exists(built):
    fig = scenario_figures(built, "design", CLASSES, boundary="rw")
    assert fig["buildings"]["affected"] == 1
    assert fig["roads"]["affected_km"] == 0.0
    assert fig["population"]["affected"] == 0.0
    missing = BuiltLayers(built.path.parent / "absent.gpkg")
    assert scenario_figures(missing, "current", CLASSES) == {"scenario": "current"}


def test_ranking_sorted_by_people_affected(built):
    table = area_ranking(built, "current", boundary="rw")
    assert table["name"].tolist() == ["RW 01", "RW 03", "RW 02"]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table.columns.tolist() == ["rank", "name", "pop_affected", "displaced", "buildings_affected"]
    assert area_ranking(built, "current", boundary="kel")["name"].tolist() == ["Kel A"]
    assert area_ranking(BuiltLayers(built.path.parent / "absent.gpkg"), "current").empty


def test_participation_counts_statuses_contributors_and_mapped_neighbourhoods():
    units = gpd.GeoDataFrame({"area_id": [1, 2, 3]}, geometry=[_sq(0), _sq(1), _sq(2)], crs=CRS).to_crs(4326)
    pts = gpd.GeoSeries([_sq(0).centroid, _sq(0).centroid, _sq(1).centroid, _sq(2).centroid, Point(0, 0)], crs=CRS)
    reports = gpd.GeoDataFrame(
        {"status": ["published", "published", "pending", "rejected", "published"], "created_by": [1, 2, 2, None, 1]},
        geometry=pts.to_crs(4326).to_numpy(),
        crs=4326,
    )
    assert participation(reports, units) == {
        "reports_received": 5,
        "published": 3,
        "pending": 1,
        "rejected": 1,
        "contributors": 2,
        "neighbourhoods_mapped": 1,
        "neighbourhoods_total": 3,
    }
    assert participation(reports.iloc[:0], None)["reports_received"] == 0


def test_layer_dates_from_geopackage_contents(built, tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("x")
    rows = {r["layer"]: r for r in layer_dates({"build": built.path, "notes": other})}
    assert rows["build"]["how"] == "GeoPackage last_change"
    assert len(rows["build"]["date"]) == 10
    assert rows["notes"]["how"] == "file modified"


def test_dashboard_prefers_the_summary_the_build_stored(sample_area_dir, tmp_path):
    """When the build stored the exposure summary, headline people are the analysis' own figures."""
    from layers.area import load_area

    area = load_area(sample_area_dir)
    path = tmp_path / "area.gpkg"
    summary = {
        "population": {
            "total": 8899690.759,
            "affected": 2480451.449,
            "displaced": 752171.354,
            "by_class": {"low": 1.0, "medium": 2.0, "high": 3.0},
            "needs": {"rice_kg": 1},
        },
        "buildings": {"total": 7689, "affected": 4249, "by_class": {"low": 2306, "medium": 1549, "high": 394}},
    }
    areas = gpd.GeoDataFrame(
        {
            "boundary": ["rw"],
            "area_id": [1],
            "name": ["X"],
            "pop_total": [5.0],
            "pop_affected": [1.0],
            "displaced": [0.0],
            "scenario": ["current"],
        },
        geometry=[_sq(0)],
        crs=CRS,
    )
    write_geopackage({"exposure_areas": areas}, path, metadata={"exposure_summary:current": json.dumps(summary)})
    d = dashboard(area, path)
    current = d["scenarios"][0]
    assert current["population"]["affected"] == 2480451.449
    assert current["population_scope"] == "area"
    assert current["buildings"]["affected"] == 4249
    assert d["scenarios"][1]["population_scope"] == "neighbourhoods"
    assert d["ranking"]["name"].tolist() == ["X"]
    assert d["participation"] is None
    assert {r["layer"] for r in d["dates"]} >= {"buildings", "population", "build"}
