"""Hazard class specs: parsing, classification at the range boundaries, and every error path."""

import math

import numpy as np
import pytest

from layers.errors import InvalidInputError
from layers.hazard.classes import DEFAULT_FLOOD_CLASSES, parse_classes, parse_displacement


def test_default_flood_classes_follow_inasafe():
    """low 0.1-0.7, medium 0.7-1.5, high >= 1.5; below 0.1 is not affected; lower bound inclusive."""
    scheme = parse_classes(DEFAULT_FLOOD_CLASSES)
    assert scheme.names == ["low", "medium", "high"]
    got = scheme.classify([0.0, 0.0999, 0.1, 0.6999, 0.7, 1.4999, 1.5, 15.7, np.nan, -9999])
    assert got.tolist() == [-1, -1, 0, 0, 1, 1, 2, 2, -1, -1]
    assert got.dtype == np.int8


def test_float32_grids_classify_at_the_threshold_they_were_written_with():
    """0.7 stored as float32 is 0.69999999 in float64; it still starts class medium."""
    grid = np.array([0.1, 0.7, 1.5, 0.69], dtype=np.float32)
    assert parse_classes(DEFAULT_FLOOD_CLASSES).classify(grid).tolist() == [0, 1, 2, 0]


def test_classes_are_ordered_by_lower_bound_and_round_trip():
    scheme = parse_classes("high:1.5-,low:0.1-0.7,medium:0.7-1.5")
    assert scheme.names == ["low", "medium", "high"]
    assert parse_classes(scheme.spec()) == scheme


def test_open_lower_bound_and_negative_values():
    scheme = parse_classes("cold:-10.5--1,ok:-1-")
    assert scheme.classify([-20, -10.5, -1.0, 3]).tolist() == [-1, 0, 1, 1]
    assert math.isinf(parse_classes("a:-5,b:5-").classes[0].lower)


def test_text_classes_match_case_insensitively():
    """InaSAFE's FLOODPRONE holds YES/yes/NO/no: normalise before matching."""
    scheme = parse_classes("wet:yes|y")
    assert scheme.kind == "text"
    assert scheme.classify(["YES", "yes ", "No", None, "y", np.nan]).tolist() == [0, 0, -1, -1, 0, -1]


def test_classify_keeps_shape_of_2d_grids():
    grid = np.array([[0.05, 0.5], [1.0, 2.0]])
    assert parse_classes(DEFAULT_FLOOD_CLASSES).classify(grid).tolist() == [[-1, 0], [1, 2]]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("low", "NAME:LOW-HIGH"),
        ("low:0.1-0.5,medium:0.7-1.5", "gap between classes 'low'"),
        ("low:0.1-1.0,medium:0.7-1.5", "overlap"),
        ("low:1-0.5", "not below"),
        ("low:0.1-0.7,low:0.7-", "more than once"),
        ("low:0.1-0.7,wet:yes", "mixes"),
        ("lo w:0-1", "letters"),
        ("low:5", "range"),
    ],
)
def test_bad_class_specs_name_the_problem(spec, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_classes(spec)


def test_text_values_against_numeric_classes_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="not numbers"):
        parse_classes(DEFAULT_FLOOD_CLASSES).classify(["deep", "shallow"])


def test_displacement_rates_fill_unnamed_classes_with_zero():
    scheme = parse_classes(DEFAULT_FLOOD_CLASSES)
    assert parse_displacement("high:1.0,medium:0.3", scheme) == {"low": 0.0, "medium": 0.3, "high": 1.0}
    assert parse_displacement({"high": 1}, scheme)["high"] == 1.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("high", "CLASS:RATE"),
        ("high:lots", "not a number"),
        ("high:1.5", "between 0 and 1"),
        ("extreme:1", "not one of"),
    ],
)
def test_bad_displacement_specs(spec, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_displacement(spec, parse_classes(DEFAULT_FLOOD_CLASSES))


@pytest.mark.parametrize(
    ("spec", "message"),
    [("low:1e308-1e309", "not a finite number"), ("low:nan-1", "not a finite number")],
)
def test_class_bounds_must_be_finite(spec, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_classes(spec)


def test_displacement_names_a_class_once():
    with pytest.raises(InvalidInputError, match="names class 'high' twice"):
        parse_displacement("high:1,high:0.5", parse_classes(DEFAULT_FLOOD_CLASSES))
