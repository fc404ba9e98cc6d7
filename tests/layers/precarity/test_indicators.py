"""Precarity indicators on hand-made buildings, roads and units with exact answers."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from layers.errors import InvalidInputError
from layers.precarity import indicators as ind

CRS = "EPSG:32737"  # UTM 37S (Dar es Salaam)
X0, Y0 = 520_000.0, 9_250_000.0


def sq(x, y, w, h=None):
    """A w×h rectangle whose lower-left corner is (x, y) relative to the origin."""
    return box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + (h if h is not None else w))


@pytest.fixture
def units():
    # Two 1-ha units side by side: A = [0,100]², B = [100,200]×[0,100].
    return gpd.GeoDataFrame(geometry=[sq(0, 0, 100), sq(100, 0, 100)], index=pd.Index(["A", "B"]), crs=CRS)


@pytest.fixture
def buildings():
    geoms = [
        sq(10, 5, 10),
        sq(30, 5, 10),  # A, near the road at y=-30 (35 m away)
        sq(10, 80, 10),
        sq(30, 80, 10),  # A, 110 m from the road
        sq(120, 5, 20, 10),
        sq(150, 5, 30, 10),  # B, 200 and 300 m², near the road
    ]
    return gpd.GeoDataFrame(
        {
            "building_id": np.arange(1, 7),
            "building_type": ["residential", "yes", "unknown", "school", "unknown", "unknown"],
            "levels": [np.nan, 2.0, np.nan, np.nan, np.nan, 1.0],
        },
        geometry=geoms,
        crs=CRS,
    )


@pytest.fixture
def roads():
    return gpd.GeoDataFrame(
        {"road_id": [1, 2], "road_class": ["residential", "footway"]},
        geometry=[
            LineString([(X0, Y0 - 30), (X0 + 200, Y0 - 30)]),
            LineString([(X0, Y0 + 70), (X0 + 200, Y0 + 70)]),  # a footway 10 m from the top row: does not count
        ],
        crs=CRS,
    )


@pytest.fixture
def unit_of(buildings, units):
    return ind.units_of_points(buildings.geometry, units)


def test_units_of_points_assigns_by_footprint_centre(unit_of):
    """Buildings fall in the unit holding their centre; outside points are NA."""
    assert unit_of.tolist() == ["A", "A", "A", "A", "B", "B"]


def test_units_of_points_outside_is_na(units):
    pts = gpd.GeoSeries([Point(X0 + 50, Y0 + 50), Point(X0 - 50, Y0 + 50)], crs=CRS)
    out = ind.units_of_points(pts, units)
    assert out.iloc[0] == "A"
    assert pd.isna(out.iloc[1])


def test_building_density_per_ha(units, buildings, unit_of):
    """4 buildings in 1 ha and 2 in 1 ha."""
    out = ind.building_density_per_ha(units, buildings, unit_of=unit_of)
    assert out.to_dict() == pytest.approx({"A": 4.0, "B": 2.0})


def test_built_up_ratio(units, buildings, unit_of):
    """A: 4×100 m² / 10,000 m²; B: (200+300) / 10,000."""
    out = ind.built_up_ratio(units, buildings, unit_of=unit_of)
    assert out.to_dict() == pytest.approx({"A": 0.04, "B": 0.05})


def test_median_footprint(units, buildings, unit_of):
    out = ind.median_footprint_m2(units, buildings, unit_of=unit_of)
    assert out.to_dict() == pytest.approx({"A": 100.0, "B": 250.0})


def test_unit_without_buildings_is_nan_not_zero(units, buildings):
    unit_of = pd.Series(["A"] * 6, index=buildings.index, dtype=object)
    med = ind.median_footprint_m2(units, buildings, unit_of=unit_of)
    assert np.isnan(med["B"])
    assert np.isnan(ind.building_density_per_ha(units, buildings, unit_of=unit_of)["B"])
    assert np.isnan(ind.built_up_ratio(units, buildings, unit_of=unit_of)["B"])
    assert ind.building_count(units, buildings, unit_of=unit_of)["B"] == 0


def test_vehicle_usable_classes():
    out = ind.vehicle_usable(["residential", "footway", "Cycleway, footpath, etc.", "steps", None, "track", "crossing"])
    assert out.tolist() == [True, False, False, False, True, True, False]


def test_share_far_from_vehicle_road(units, buildings, roads, unit_of):
    """The top row of A is 110 m from the only vehicle road (the footway beside it does not count)."""
    far = ind.far_from_vehicle_road(buildings, roads, max_distance_m=50)
    assert far.tolist() == [False, False, True, True, False, False]
    out = ind.share_far_from_vehicle_road(units, buildings, roads, unit_of=unit_of, max_distance_m=50)
    assert out.to_dict() == pytest.approx({"A": 0.5, "B": 0.0})
    # With a 120 m threshold everything is near.
    out = ind.share_far_from_vehicle_road(units, buildings, roads, unit_of=unit_of, max_distance_m=120)
    assert out.to_dict() == pytest.approx({"A": 0.0, "B": 0.0})


def test_no_vehicle_road_means_everyone_is_far(buildings, roads):
    assert ind.far_from_vehicle_road(buildings, roads[roads.road_class == "footway"]).all()


def test_walk_distance_is_median_per_unit(units, buildings, unit_of):
    out = ind.walk_distance_m(units, buildings, [100, 200, 300, np.inf, 50, 70], unit_of=unit_of)
    assert out.to_dict() == pytest.approx({"A": 250.0, "B": 60.0})


def test_people_in_classes_and_hazard_shares(units):
    people = [10.0, 30.0, 60.0, 5.0, 5.0]
    cls = [-1, 0, 2, 1, -1]
    unit_of = ["A", "A", "A", "B", "B"]
    counts = ind.people_in_classes(units, people, cls, ["low", "medium", "high"], unit_of=unit_of)
    assert counts.loc["A"].to_dict() == pytest.approx({"total": 100, "low": 30, "medium": 0, "high": 60})
    shares = ind.hazard_class_shares(counts, ["low", "medium", "high"])
    assert shares.loc["A"].tolist() == pytest.approx([0.3, 0.0, 0.6])
    assert shares.loc["B"].tolist() == pytest.approx([0.0, 0.5, 0.0])
    score = ind.hazard_score(shares)
    # A: 0.3·1/3 + 0.6·3/3 = 0.7; B: 0.5·2/3
    assert score.to_dict() == pytest.approx({"A": 0.7, "B": 1 / 3})


def test_hazard_shares_nan_where_nobody_lives(units):
    counts = ind.people_in_classes(units, [0.0], [2], ["low", "high"], unit_of=["A"])
    assert ind.hazard_class_shares(counts, ["low", "high"]).isna().all().all()


def test_reports_per_1000(units):
    reports = gpd.GeoDataFrame(
        {
            "category": ["need_water", "damaged_building", "flooding_observed", "need_food", "need_medical"],
            "status": ["published", "published", "published", "pending", "published"],
        },
        geometry=[
            Point(X0 + 10, Y0 + 10),
            Point(X0 + 20, Y0 + 10),
            Point(X0 + 30, Y0 + 10),
            Point(X0 + 40, Y0 + 10),
            Point(X0 + 150, Y0 + 50),
        ],
        crs=CRS,
    )
    pop = pd.Series({"A": 500.0, "B": 0.0})
    out = ind.reports_per_1000(units, reports, pop)
    # A: 2 published needs/damage reports per 500 people; B has no people: unknown.
    assert out["A"] == pytest.approx(4.0)
    assert np.isnan(out["B"])
    assert ind.reports_per_1000(units, None, pd.Series({"A": 10.0, "B": 20.0})).tolist() == [0.0, 0.0]


def test_reports_need_a_category(units):
    reports = gpd.GeoDataFrame({"kind": ["x"]}, geometry=[Point(X0 + 1, Y0 + 1)], crs=CRS)
    with pytest.raises(InvalidInputError, match="category"):
        ind.reports_per_1000(units, reports, pd.Series({"A": 1.0, "B": 1.0}))


def test_data_completeness(units, buildings, unit_of):
    """A: residential, levels=2, school known, 'unknown' without levels not; B: one of two has levels."""
    out = ind.data_completeness(units, buildings, unit_of=unit_of)
    assert out.to_dict() == pytest.approx({"A": 0.75, "B": 0.5})


def test_units_must_be_metric_and_unique(buildings):
    geo = gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=4326)
    with pytest.raises(InvalidInputError, match="projected"):
        ind.building_density_per_ha(geo, buildings, unit_of=pd.Series([0] * 6))
    dup = gpd.GeoDataFrame(geometry=[sq(0, 0, 1), sq(1, 0, 1)], index=["A", "A"], crs=CRS)
    with pytest.raises(InvalidInputError, match="unique"):
        ind.building_density_per_ha(dup, buildings, unit_of=pd.Series(["A"] * 6))


def test_unit_of_must_match_buildings(units, buildings):
    with pytest.raises(InvalidInputError, match="one unit id per row"):
        ind.median_footprint_m2(units, buildings, unit_of=pd.Series(["A"]))


def test_far_from_vehicle_road_matches_brute_force():
    """The two-stage KD-tree / GEOS test agrees with every pairwise footprint-to-road distance."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 1000, (400, 2))
    w = rng.uniform(4, 40, (400, 2))
    buildings = gpd.GeoDataFrame(geometry=[sq(x, y, a, b) for (x, y), (a, b) in zip(xy, w, strict=False)], crs=CRS)
    ends = rng.uniform(0, 1000, (12, 2, 2))
    roads = gpd.GeoDataFrame(
        {"road_class": rng.choice(["residential", "footway", "primary"], 12)},
        geometry=[LineString([(X0 + a, Y0 + b), (X0 + c, Y0 + d)]) for (a, b), (c, d) in ends],
        crs=CRS,
    )
    far = ind.far_from_vehicle_road(buildings, roads, max_distance_m=50)
    usable = roads[ind.vehicle_usable(roads.road_class)]
    dist = np.array([[g.distance(r) for r in usable.geometry] for g in buildings.geometry]).min(axis=1)
    assert (far == (dist > 50)).all()
    assert 0 < far.sum() < len(far)
