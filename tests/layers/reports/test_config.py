"""The [reports] section of an area: categories, labels, blur grids, outside-area rule."""

from __future__ import annotations

import pytest

from layers.errors import AreaConfigError
from layers.reports.config import ReportConfig


def test_report_config_from_area_section():
    cfg = ReportConfig.from_section(
        {
            "categories": {"need_water": {"blur_m": 200}, "pothole": "Pot hole"},
            "blur_m": {"pothole": 10},
            "outside_area": "reject",
        }
    )
    assert cfg.names == ["need_water", "pothole"]
    assert cfg.outside_area == "reject"
    assert cfg.blur_m("need_water") == 200
    assert cfg.blur_m("pothole") == 10
    assert cfg.categories["pothole"].label == "Pot hole"
    assert (
        ReportConfig.from_section({"categories": ["need_food"], "blur_m": 50}).blur_m("need_food") == 100
    )  # known default kept
    with pytest.raises(AreaConfigError, match="outside_area"):
        ReportConfig.from_section({"outside_area": "drop"})
    with pytest.raises(AreaConfigError, match="unknown categories"):
        ReportConfig.from_section({"blur_m": {"nope": 1}})
