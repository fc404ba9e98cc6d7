"""Shelters: categories, capacity (attribute, SPHERE floor area, default), safety of the site."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, box

from layers.errors import InvalidInputError
from layers.evacuation.shelters import shelters_from_facilities

CRS = "EPSG:32748"


def facilities(rows) -> gpd.GeoDataFrame:
    """rows: (category, capacity text, building_id or None, x, y)."""
    return gpd.GeoDataFrame(
        {
            "facility_id": np.arange(1, len(rows) + 1),
            "category": pd.array([r[0] for r in rows], dtype="string"),
            "name": [f"site {i}" for i in range(1, len(rows) + 1)],
            "capacity": [r[1] for r in rows],
            "building_id": pd.array([r[2] for r in rows], dtype="Int64"),
            "source_type": "amenity",
        },
        geometry=[Point(r[3], r[4]) for r in rows],
        crs=CRS,
    )


def footprints() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"building_id": [100, 200], "levels": [2.0, np.nan]},
        geometry=[box(0, 0, 10, 7), box(50, 50, 60, 60)],  # 70 m2 x 2 levels; 100 m2 x 1
        crs=CRS,
    )


def test_categories_and_capacity_rules():
    f = facilities(
        [
            ("school", "100 Orang", 100, 5, 5),  # attribute wins
            ("place_of_worship", None, 100, 5, 5),  # floor area via building_id: 70 * 2 / 3.5 = 40
            ("community_centre", "fix me", None, 55, 55),  # point inside footprint 200: 100 / 3.5 = 28
            ("hospital", "500", None, 0, 0),  # not a shelter category
            ("shelter", None, None, 500, 500),  # no footprint, no attribute
        ]
    )
    with pytest.warns(UserWarning, match="1 shelters have no capacity"):
        s = shelters_from_facilities(f, buildings=footprints())
    assert s["facility_id"].tolist() == [1, 2, 3, 5]
    assert s["capacity"].tolist()[:3] == [100.0, 40.0, 28.0]
    assert np.isnan(s["capacity"].iloc[3])
    assert s["capacity_source"].tolist() == ["attribute", "floor_area", "floor_area", "unknown"]
    assert s["floor_area_m2"].iloc[1] == pytest.approx(140.0)
    assert s["safe"].all()
    assert s["shelter_id"].tolist() == [1, 2, 3, 4]


def test_default_capacity_and_custom_rules():
    f = facilities([("shelter", None, None, 500, 500), ("school", None, 100, 5, 5)])
    s = shelters_from_facilities(
        f, buildings=footprints(), categories=["shelter", "school"], default_capacity=50, m2_per_person=7
    )
    assert s["capacity"].tolist() == [50.0, 20.0]
    assert s["capacity_source"].tolist() == ["default", "floor_area"]


def test_capacity_field_is_parsed():
    f = facilities([("school", None, None, 5, 5)])
    f["KAPASITAS"] = ["1.500 orang"]
    s = shelters_from_facilities(f, capacity_field="KAPASITAS")
    assert s["capacity"].tolist() == [1500.0]
    with pytest.raises(InvalidInputError, match="capacity field 'nope'"):
        shelters_from_facilities(f, capacity_field="nope")


def test_field_reports_become_shelters():
    f = facilities([("school", "10", None, 5, 5)])
    reports = gpd.GeoDataFrame(
        {"name": ["Masjid field"], "capacity": ["80 people"]}, geometry=[Point(106.8, -6.2)], crs=4326
    )
    s = shelters_from_facilities(f, extra=reports)
    assert s["source"].tolist() == ["facility", "field_report"]
    assert s["capacity"].tolist() == [10.0, 80.0]
    assert s.crs.equals(f.crs)
    assert s.geometry.iloc[1].x > 600_000


def test_site_safety_from_hazard_raster(tmp_path):
    """A footprint touching a 0.3 m cell is unsafe (class low); a dry site is safe."""
    path = tmp_path / "depth.tif"
    data = np.zeros((10, 10), dtype="float32")
    data[9, 0] = 0.3  # the cell at x 0-10, y 0-10 (footprint 100)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=10,
        height=10,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=Affine(10, 0, 0, 0, -10, 100),
    ) as dst:
        dst.write(data, 1)
    f = facilities([("school", "10", 100, 5, 5), ("school", "10", 200, 55, 55)])
    s = shelters_from_facilities(f, buildings=footprints(), hazard=path)
    assert s["safe"].tolist() == [False, True]
    assert s["hazard_class"].tolist()[0] == "low"
    assert s["depth_m"].iloc[0] == pytest.approx(0.3)
    # A custom first class at 0.5 m makes 0.3 m safe.
    s2 = shelters_from_facilities(f, buildings=footprints(), hazard=path, classes="high:0.5-")
    assert s2["safe"].all()


def test_no_shelter_in_the_area_warns_and_returns_empty():
    f = facilities([("hospital", "10", None, 5, 5)])
    with pytest.warns(UserWarning, match="no shelter in the area"):
        s = shelters_from_facilities(f)
    assert len(s) == 0
    assert "safe" in s.columns


def test_jakarta_shelters(sample_area_dir):
    """Jakarta: schools, places of worship... from the building footprints; capacities from CAPACITY or floor area."""
    from layers.area import load_area

    area = load_area(sample_area_dir)
    s = shelters_from_facilities(
        area.facilities(),
        buildings=area.buildings(),
        categories=area.shelters["categories"],
        hazard=area.hazard("current"),
    )
    assert len(s) > 900
    assert set(s["capacity_source"]) <= {"attribute", "floor_area"}
    assert (s["capacity"] > 0).all()
    assert 0.2 < s["safe"].mean() < 0.6  # much of Jakarta floods in the current scenario


def test_only_published_shelter_site_reports_become_shelters():
    from layers.evacuation.step import _published_shelter_sites

    reports = gpd.GeoDataFrame(
        {
            "category": ["shelter_site", "flood_depth", "shelter_site"],
            "status": ["published", "published", "pending"],
            "name": ["Masjid", None, "Hall"],
            "capacity": ["120", None, "50"],
        },
        geometry=[Point(1, 1), Point(2, 2), Point(3, 3)],
        crs=CRS,
    )
    sites = _published_shelter_sites(reports)
    assert sites["name"].tolist() == ["Masjid"]
    assert _published_shelter_sites(reports.iloc[[1]]) is None
    assert _published_shelter_sites(None) is None
