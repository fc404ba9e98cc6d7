"""`geoapp exposure`, `evacuate` and `precarity` fed bad files and bad option values: one clear line, never a traceback.

Each file option gets every bad kind of file its role can meet (see badfiles.py); the good
inputs around it are a corner of the Jakarta sample, so a run takes a fraction of a second.
"""

from __future__ import annotations

import pytest

from tests.robustness.badfiles import RASTER_KINDS, VECTOR_KINDS
from tests.robustness.checks import ERROR, NO_CRASH, WARN_OR_ERROR, assert_clear_cli, run_cli

# Base arguments per command (file names inside the corner area folder) and the file options under test.
BASE = {
    "exposure": ["--hazard", "flood_current.tif", "--buildings", "buildings.gpkg", "--json"],
    "evacuate": ["--hazard", "flood_current.tif", "--buildings", "buildings.gpkg", "--roads", "roads.gpkg", "--json"],
    "precarity": ["--buildings", "buildings.gpkg", "--roads", "roads.gpkg", "--json"],
}
AREA_FILES = {"flood_current.tif", "buildings.gpkg", "roads.gpkg", "population.tif", "kelurahan.gpkg"}
# option -> (role, extra arguments it needs)
VECTOR_OPTIONS = {
    "exposure": {
        "--buildings": ("buildings", []),
        "--roads": ("roads", []),
        "--facilities": ("facilities", []),
        "--boundaries": ("boundaries", ["--boundary-name", "KEL_NAME2"]),
    },
    "evacuate": {"--buildings": ("buildings", []), "--roads": ("roads", []), "--shelters": ("shelters", [])},
    "precarity": {
        "--buildings": ("buildings", []),
        "--roads": ("roads", []),
        "--facilities": ("facilities", []),
        "--boundaries": ("boundaries", ["--boundary-name", "KEL_NAME2"]),
        "--reports": ("reports", []),
    },
}
RASTER_OPTIONS = {
    "exposure": ["--hazard", "--population"],
    "evacuate": ["--hazard"],
    "precarity": ["--hazard", "--population"],
}
# Every kind for the main input of each command; a shorter list for the others.
FULL_VECTOR = {("exposure", "--buildings"), ("evacuate", "--buildings"), ("precarity", "--buildings")}
SHORT_VECTOR = [
    "empty_layer",
    "points",
    "lines",
    "polygons",
    "shp_without_prj",
    "raster",
    "far_away",
    "nan_vertex",
    "truncated_gpkg",
    "garbage",
    "missing",
    "multilayer_empty_first",
    "null_geometries",
]

# What each role must do with each kind of file (default: ERROR).
VECTOR_EXPECT = {
    "empty_layer": WARN_OR_ERROR,
    "shp_without_prj": WARN_OR_ERROR,
    "far_away": WARN_OR_ERROR,
    "nan_vertex": WARN_OR_ERROR,
    "inf_vertex": WARN_OR_ERROR,
    "huge_vertex": WARN_OR_ERROR,
    "utf16_geojson": NO_CRASH,
    "latin1_geojson": NO_CRASH,
    "multilayer_empty_first": WARN_OR_ERROR,
    "null_geometries": WARN_OR_ERROR,
    "self_intersecting": NO_CRASH,
}
ROLE_EXPECT = {
    # points are buildings with a default footprint (issue 13, item 7)
    ("buildings", "points"): NO_CRASH,
    ("buildings", "polygons"): NO_CRASH,
    ("buildings", "mixed_points_polygons"): NO_CRASH,
    ("boundaries", "polygons"): NO_CRASH,
    ("boundaries", "mixed_points_polygons"): WARN_OR_ERROR,
    ("roads", "lines"): NO_CRASH,
    ("roads", "self_intersecting"): ERROR,
    ("facilities", "points"): NO_CRASH,
    ("facilities", "polygons"): WARN_OR_ERROR,
    ("facilities", "mixed_points_polygons"): NO_CRASH,
    ("shelters", "points"): NO_CRASH,
    ("shelters", "polygons"): NO_CRASH,
    ("shelters", "mixed_points_polygons"): NO_CRASH,
    ("reports", "points"): WARN_OR_ERROR,
    ("reports", "polygons"): WARN_OR_ERROR,
    ("reports", "mixed_points_polygons"): WARN_OR_ERROR,
}
RASTER_EXPECT = {
    "all_nodata": WARN_OR_ERROR,
    "no_crs": WARN_OR_ERROR,
    "far_away": WARN_OR_ERROR,
    "rotated": NO_CRASH,
    "nan_inf_values": NO_CRASH,
    "huge_values": NO_CRASH,
    "negative_values": NO_CRASH,
    "one_cell": NO_CRASH,
}


def _vector_cases():
    for command, options in VECTOR_OPTIONS.items():
        for option, (role, extra) in options.items():
            kinds = list(VECTOR_KINDS) if (command, option) in FULL_VECTOR else SHORT_VECTOR
            for kind in kinds:
                expect = ROLE_EXPECT.get((role, kind), VECTOR_EXPECT.get(kind, ERROR))
                yield pytest.param(command, option, extra, kind, expect, id=f"{command}{option}={kind}")


def _raster_cases():
    for command, options in RASTER_OPTIONS.items():
        for option in options:
            for kind in RASTER_KINDS:
                yield pytest.param(
                    command, option, kind, RASTER_EXPECT.get(kind, ERROR), id=f"{command}{option}={kind}"
                )


def _args(area, command: str, option: str, value, extra=()) -> list[str]:
    base = [str(area / a) if a in AREA_FILES else a for a in BASE[command]]
    if option in base:
        base[base.index(option) + 1] = str(value)
        return [command, *base, *extra]
    return [command, *base, option, str(value), *extra]


@pytest.mark.parametrize(("command", "option", "extra", "kind", "expect"), list(_vector_cases()))
def test_bad_vector_file(corner_area, bad_files, command, option, extra, kind, expect):
    result, caught = run_cli(_args(corner_area, command, option, bad_files.vector(kind), extra))
    assert_clear_cli(result, caught, expect)


@pytest.mark.parametrize(("command", "option", "kind", "expect"), list(_raster_cases()))
def test_bad_raster_file(corner_area, bad_files, command, option, kind, expect):
    result, caught = run_cli(_args(corner_area, command, option, bad_files.raster(kind)))
    assert_clear_cli(result, caught, expect)


# -- option values --------------------------------------------------------------------------------

NAN, INF = "nan", "inf"
OPTION_VALUES = [
    # exposure: class specs, displacement shares, scale, fields that do not exist
    ("exposure", ["--classes", ""]),
    ("exposure", ["--classes", "low"]),
    ("exposure", ["--classes", "low:a-b"]),
    ("exposure", ["--classes", "low:1-0"]),
    ("exposure", ["--classes", "low:nan-1"]),
    ("exposure", ["--classes", "low:0-inf,high:inf-"]),
    ("exposure", ["--classes", "low:0.1-0.7,medium:0.5-1.5"]),
    ("exposure", ["--classes", "high:1.5-,high:2-"]),
    ("exposure", ["--classes", ":::,,,"]),
    ("exposure", ["--classes", "low:1e308-1e309"]),
    ("exposure", ["--classes", "bad name!:0.1-"]),
    ("exposure", ["--classes", "low\x00:0.1-"]),
    ("exposure", ["--displacement", "high:2"]),
    ("exposure", ["--displacement", "high:-1"]),
    ("exposure", ["--displacement", "high:nan"]),
    ("exposure", ["--displacement", "nope:1"]),
    ("exposure", ["--displacement", "high"]),
    ("exposure", ["--displacement", "high:1,high:0.5"]),
    ("exposure", ["--population", "population.tif", "--population-scale", NAN]),
    ("exposure", ["--population", "population.tif", "--population-scale", INF]),
    ("exposure", ["--population", "population.tif", "--population-scale", "-1"]),
    ("exposure", ["--population", "population.tif", "--population-scale", "1e308"]),
    ("exposure", ["--population", "population.tif", "--population-scale", "lots"]),
    ("exposure", ["--population", "population.tif", "--population-units", "per_acre"]),
    ("exposure", ["--population", "kelurahan.gpkg", "--population-field", "NO_SUCH_FIELD"]),
    ("exposure", ["--population", "kelurahan.gpkg", "--population-field", "KEL_NAME2"]),
    ("exposure", ["--boundaries", "kelurahan.gpkg", "--boundary-name", "NO_SUCH_FIELD"]),
    ("exposure", ["--hazard-field", "NO_SUCH_FIELD"]),
    ("exposure", ["--hazard", "kelurahan.gpkg", "--hazard-field", "NO_SUCH_FIELD"]),
    ("exposure", ["--hazard", "kelurahan.gpkg", "--hazard-field", "KEL_NAME2", "--classes", "wet:yes"]),
    ("exposure", ["--needs", "unicef"]),
    ("exposure", ["--out", "AREA_DIR/buildings.gpkg/x.gpkg"]),
    ("exposure", ["--out", "AREA_DIR"]),
    ("exposure", ["--unknown-option", "1"]),
    # evacuate
    ("evacuate", ["--walk-speed", "0"]),
    ("evacuate", ["--walk-speed", "-1"]),
    ("evacuate", ["--walk-speed", NAN]),
    ("evacuate", ["--walk-speed", INF]),
    ("evacuate", ["--walk-speed", "1e308"]),
    ("evacuate", ["--walk-speed", "1e-320"]),
    ("evacuate", ["--shelter-tags", ""]),
    ("evacuate", ["--shelter-tags", "amenity"]),
    ("evacuate", ["--shelter-tags", "=school"]),
    ("evacuate", ["--shelter-tags", "amenity=nothing_like_this"]),
    ("evacuate", ["--capacity-field", "NO_SUCH_FIELD"]),
    ("evacuate", ["--classes", "low:a-b"]),
    ("evacuate", ["--hazard-field", "NO_SUCH_FIELD"]),
    ("evacuate", ["--osm", "buildings.gpkg"]),
    ("evacuate", ["--osm", "flood_current.tif"]),
    ("evacuate", ["--out", "AREA_DIR/buildings.gpkg/x.gpkg"]),
    # precarity
    ("precarity", ["--h3-resolution", "-1"]),
    ("precarity", ["--h3-resolution", "16"]),
    ("precarity", ["--h3-resolution", "nine"]),
    ("precarity", ["--weights", "nope:1"]),
    ("precarity", ["--weights", "hazard_score:nan"]),
    ("precarity", ["--weights", "hazard_score:-1"]),
    ("precarity", ["--weights", "hazard_score"]),
    (  # --weights changes only the indicators it names: all ten at 0
        "precarity",
        [
            "--weights",
            (
                "building_density_per_ha:0,built_up_ratio:0,median_footprint_m2:0,share_far_from_road:0,walk_health_m:0,"
                "walk_school_m:0,walk_water_m:0,hazard_score:0,reports_per_1000:0,data_completeness:0"
            ),
        ],
    ),
    ("precarity", ["--threshold", NAN]),
    ("precarity", ["--threshold", INF]),
    ("precarity", ["--threshold", "-1"]),
    ("precarity", ["--threshold", "2"]),
    ("precarity", ["--population", "population.tif", "--population-scale", NAN]),
    ("precarity", ["--population", "population.tif", "--population-scale", "-5"]),
    ("precarity", ["--hazard", "flood_current.tif", "--classes", "low:1-0"]),
    ("precarity", ["--boundaries", "kelurahan.gpkg", "--boundary-name", "NO_SUCH_FIELD"]),
]
# Option values a command may accept (an answer is fine; a traceback never is).
PLAUSIBLE = {
    "exposure --population-scale 1e308",
    "exposure --hazard kelurahan.gpkg --hazard-field KEL_NAME2 --classes wet:yes",
    "evacuate --walk-speed 1e308",
    "evacuate --shelter-tags amenity=nothing_like_this",
    "precarity --threshold 2",
    "precarity --threshold -1",
}


def _option_id(command: str, extra: list[str]) -> str:
    return f"{command} " + " ".join(a if len(a) < 40 else a[:37] + "..." for a in extra).replace("\x00", "NUL")


@pytest.mark.parametrize(("command", "extra"), [pytest.param(c, e, id=_option_id(c, e)) for c, e in OPTION_VALUES])
def test_bad_option_value(corner_area, command, extra):
    expect = NO_CRASH if " ".join([command, *extra]) in PLAUSIBLE else ERROR
    paths = {**{a: str(corner_area / a) for a in AREA_FILES}, "AREA_DIR": str(corner_area)}
    extra = [paths.get(a, a.replace("AREA_DIR", str(corner_area))) for a in extra]
    result, caught = run_cli(_args(corner_area, command, extra[0], extra[1], extra[2:]))
    assert_clear_cli(result, caught, expect)
