"""Messy attribute values from real HOT exports are parsed, not dropped."""

import math

from layers.io.values import parse_bool, parse_capacity, parse_levels, snake


def _same(a, b):
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def test_capacity_reads_people_counts_in_indonesian_exports():
    got = parse_capacity(
        ["100 Orang", "200 orang", "100 ORANG", "fix me", None, "1.000 orang", "200-300", "0"]
    ).tolist()
    assert _same(got, [100, 200, 100, math.nan, math.nan, 1000, 200, math.nan])


def test_levels_read_ranges_and_open_ends():
    got = parse_levels(["10+", "4-7", ">7", "2", "fix me", "Tarihuniyah", "0", None]).tolist()
    assert _same(got, [10, 5.5, 7, 2, math.nan, math.nan, math.nan, math.nan])


def test_snake_and_bool():
    assert snake(["Place of Worship - Islam", "CLINIC/DOCTOR"]).tolist() == ["place_of_worship_islam", "clinic_doctor"]
    assert parse_bool(["yes", "no", None, "-1", "TRUE"]).tolist() == [True, False, False, True, True]
