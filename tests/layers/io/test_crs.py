"""The working CRS check: metric projected CRSs pass, anything else is one clear InvalidInputError."""

from __future__ import annotations

import pytest

from layers.errors import InvalidInputError
from layers.io.crs import check_metric


def test_a_utm_zone_is_a_working_crs():
    assert check_metric("EPSG:32748").to_epsg() == 32748


@pytest.mark.parametrize(
    ("crs", "message"),
    [("EPSG:4326", "not a projected CRS in metres"), ("EPSG:0", "not a CRS PROJ knows"), ("bogus", "PROJ knows")],
)
def test_other_crs_are_clear_errors(crs, message):
    """Geographic CRSs and codes PROJ does not know are InvalidInputError naming the value, not pyproj's CRSError."""
    with pytest.raises(InvalidInputError, match=message):
        check_metric(crs, what="area.crs")
