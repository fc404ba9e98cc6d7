"""Blurring report locations to a per-category grid, and what the public may see."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from layers.reports.config import ReportConfig
from layers.reports.privacy import apply_privacy, blur_lonlat, snap_to_grid

UTM = "EPSG:32748"


def test_snap_to_grid_exact_values():
    """x' = (floor(x / c) + 0.5) * c; cell 0 leaves the point alone."""
    x, y = snap_to_grid(
        np.array([0.0, 149.9, 150.0, -1.0, 37.0]),
        np.array([0.0, 0.0, 99.0, -1.0, 12.0]),
        np.array([100, 100, 100, 100, 0]),
    )
    np.testing.assert_array_equal(x, [50, 150, 150, -50, 37])
    np.testing.assert_array_equal(y, [50, 50, 50, -50, 12])


def test_blur_moves_points_to_cell_centres_within_half_a_diagonal():
    rng = np.random.default_rng(1)
    lon = 106.8 + rng.random(1000) * 0.1
    lat = -6.25 + rng.random(1000) * 0.1
    blon, blat = blur_lonlat(lon, lat, 100.0, crs=UTM)
    to_utm = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
    x, y = to_utm.transform(lon, lat)
    bx, by = to_utm.transform(blon, blat)
    dist = np.hypot(bx - x, by - y)
    assert dist.max() <= 50 * np.sqrt(2) + 1e-6
    assert dist.mean() > 20  # really moved
    np.testing.assert_allclose(np.mod(bx, 100), 50, atol=1e-6)
    np.testing.assert_allclose(np.mod(by, 100), 50, atol=1e-6)
    # Deterministic: blurring again (or a point in the same cell) gives the same place.
    again = blur_lonlat(lon, lat, 100.0, crs=UTM)
    np.testing.assert_array_equal(again[0], blon)
    assert len(set(zip(np.round(bx), np.round(by), strict=False))) < 1000  # many reports share a cell


def test_zero_blur_keeps_exact_points_and_nan_passes():
    lon, lat = np.array([106.8, np.nan]), np.array([-6.2, np.nan])
    blon, blat = blur_lonlat(lon, lat, np.array([0.0, 100.0]), crs=UTM)
    assert blon[0] == 106.8
    assert blat[0] == -6.2
    assert np.isnan(blon[1])


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "category": ["need_food", "blocked_drain", "community_boundary"],
            "lon": [106.81234, 106.81234, 106.805],
            "lat": [-6.21234, -6.21234, -6.205],
            "geometry_wkt": [None, None, "POLYGON ((106.8 -6.2, 106.81 -6.2, 106.81 -6.21, 106.8 -6.2))"],
            "attributes": [{"family": "Budi", "people": 5}, {"depth_m": 0.2}, {"name": "RW 05", "phone": "0812"}],
            "reporter_name": ["Ani", None, "Budi"],
            "reporter_contact": ["0812", None, None],
            "accuracy_m": [4.0, 3.0, None],
            "altitude_m": [None, None, None],
            "created_by": [1, None, 2],
            "original": [{}, {}, {}],
            "outside_area": [False, False, False],
        }
    )


def test_public_view_blurs_household_categories_and_drops_personal_fields():
    out = apply_privacy(_frame(), config=ReportConfig(), crs=UTM)
    for col in (
        "reporter_name",
        "reporter_contact",
        "accuracy_m",
        "altitude_m",
        "created_by",
        "original",
        "outside_area",
    ):
        assert col not in out
    assert out["location_precision_m"].tolist() == [100.0, 0.0, 0.0]
    assert out.loc[0, "lon"] != 106.81234
    assert out.loc[1, "lon"] == 106.81234
    assert out.loc[2, "lon"] == 106.805  # polygons are never moved
    assert out["attributes"].tolist() == [{}, {}, {"name": "RW 05"}]  # only each category's public attributes


@pytest.mark.parametrize(("exact", "personal"), [(True, False), (True, True)])
def test_planners_and_moderators_see_exact_points(exact, personal):
    out = apply_privacy(_frame(), config=ReportConfig(), crs=UTM, exact=exact, personal=personal)
    assert out["lon"].tolist() == [106.81234, 106.81234, 106.805]
    assert ("reporter_name" in out) is personal
    assert (out.loc[0, "attributes"] == {"family": "Budi", "people": 5}) is personal
