"""`geoapp build` on broken area folders, `geoapp export` with bad options, `geoapp users create` with bad
names; and a handful of real subprocesses, to check that no traceback reaches a real terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

from tests.robustness.badfiles import AREA_TOML, SMALL_BBOX, centroids, write_area
from tests.robustness.checks import ERROR, NO_CRASH, WARN_OR_ERROR, assert_clear_cli, run_cli

pytestmark = pytest.mark.filterwarnings("ignore")


def _edit(old: str, new: str):
    return lambda text: text.replace(old, new)


# name -> (change to area.toml text or a function of the folder, expectation)
AREA_CASES = {
    "toml_syntax": (lambda t: t + "\n[area\nname =", ERROR),
    "unknown_key": (_edit('title = "Jakarta corner"', 'title = "x"\nfoo = 1'), ERROR),
    "unknown_section": (lambda t: t + "\n[volcano]\nash = 1\n", ERROR),
    "wrong_type": (_edit("scale = 0.025", 'scale = "a lot"'), ERROR),
    "geographic_crs": (_edit('crs = "EPSG:32748"', 'crs = "EPSG:4326"'), ERROR),
    "bogus_crs": (_edit('crs = "EPSG:32748"', 'crs = "EPSG:0"'), ERROR),
    "missing_file": (_edit('buildings = "buildings.gpkg"', 'buildings = "nope.gpkg"'), ERROR),
    "path_escape": (_edit('buildings = "buildings.gpkg"', 'buildings = "../../../../../etc/passwd"'), ERROR),
    "raster_as_buildings": (_edit('buildings = "buildings.gpkg"', 'buildings = "flood_current.tif"'), ERROR),
    "vector_as_hazard": (_edit('file = "flood_current.tif"', 'file = "kelurahan.gpkg"'), ERROR),
    "vector_as_population": (_edit('file = "population.tif"', 'file = "kelurahan.gpkg"'), ERROR),
    "bad_classes": (_edit('file = "flood_current.tif"', 'file = "flood_current.tif"\nclasses = "low:a-b"'), ERROR),
    "duplicate_hazard": (lambda t: t + '\n[[hazard]]\nid = "current"\nfile = "flood_current.tif"\n', ERROR),
    "boundary_field_missing": (_edit('name_field = "KEL_NAME2"', 'name_field = "NOPE"'), ERROR),
    "h3_out_of_range": (lambda t: t + "\n[precarity]\nh3_resolution = 99\n", ERROR),
    "negative_walk_speed": (lambda t: t + "\n[evacuation]\nwalk_speed_m_s = -1\n", ERROR),
    "nan_walk_speed": (lambda t: t + "\n[evacuation]\nwalk_speed_m_s = nan\n", ERROR),
    "inf_scale": (_edit("scale = 0.025", "scale = inf"), ERROR),
    "no_roads": (_edit('roads = "roads.gpkg"\n', ""), NO_CRASH),
    "roads_are_points": ("roads=points", ERROR),
    "empty_roads": ("roads=empty", WARN_OR_ERROR),
    "truncated_buildings": ("buildings=truncated", ERROR),
    "latin1_toml": ("latin1", ERROR),
    "utf16_toml": ("utf16", ERROR),
    "nul_in_toml": (lambda t: t.replace("corner", "cor\x00ner"), ERROR),
    "empty_toml": (lambda t: "", ERROR),
    "no_toml": ("no_toml", ERROR),
}


def _break(area: Path, change) -> None:
    toml = area / "area.toml"
    if callable(change):
        toml.write_text(change(AREA_TOML), encoding="utf-8")
    elif change == "latin1":
        toml.write_bytes(AREA_TOML.replace("Jakarta corner", "Jakarta côté").encode("latin-1"))
    elif change == "utf16":
        toml.write_bytes(AREA_TOML.encode("utf-16"))
    elif change == "no_toml":
        toml.unlink()
    else:
        import pyogrio

        layer, kind = change.split("=")
        path = area / f"{layer}.gpkg"
        if kind == "truncated":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        else:
            gdf = pyogrio.read_dataframe(path)
            if kind == "points":
                gdf = gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=centroids(gdf), crs=gdf.crs)
            pyogrio.write_dataframe(gdf.iloc[:0] if kind == "empty" else gdf, path)


@pytest.mark.parametrize("case", list(AREA_CASES))
def test_build_broken_area(tmp_path, case):
    change, expect = AREA_CASES[case]
    area = write_area(tmp_path / "area", SMALL_BBOX)
    _break(area, change)
    result, caught = run_cli(
        ["build", area, "--out", tmp_path / "out.gpkg", "--quiet", "--db", f"sqlite:///{tmp_path}/r.db"]
    )
    assert_clear_cli(result, caught, expect)
    if result.exit_code != 0:
        assert not (tmp_path / "out.gpkg").exists(), "a failed build left a GeoPackage behind"


EXPORT_CASES = {
    "format_unknown": ["--format", "exe"],
    "layers_unknown": ["--layers", "nope"],
    "layers_empty": ["--layers", ""],
    "layers_commas": ["--layers", ",,,"],
    "layers_nul": ["--layers", "build\x00ings"],
    "csv_geometry_unknown": ["--format", "csv", "--csv-geometry", "svg"],
    "several_layers_one_file": ["--format", "geojson", "--layers", "buildings,roads"],
    "gpx_of_polygons": ["--format", "gpx", "--layers", "buildings"],
    "out_missing_dir": ["--out", "OUT_DIR/no/such/dir/x.gpkg"],
    "out_is_dir": ["--out", "OUT_DIR"],
    "build_truncated": ["--build", "TRUNCATED"],
    "build_is_raster": ["--build", "RASTER"],
    "build_is_text": ["--build", "TEXT"],
    "db_bogus": ["--with-reports", "--db", "nope://x"],
    "db_is_dir": ["--with-reports", "--db", "sqlite:///OUT_DIR"],
}


# An empty --layers means the default layers; GPX may carry polygons as their centroids; --out may make folders.
PLAUSIBLE_EXPORTS = {"layers_empty", "gpx_of_polygons", "out_missing_dir"}


@pytest.mark.parametrize("case", list(EXPORT_CASES))
def test_export_bad_options(corner_area, corner_build, tmp_path, case):
    (tmp_path / "t.gpkg").write_bytes(corner_build.read_bytes()[: corner_build.stat().st_size // 2])
    (tmp_path / "x.gpkg").write_text("not a geopackage\n")
    paths = {
        "OUT_DIR": str(tmp_path),
        "TRUNCATED": str(tmp_path / "t.gpkg"),
        "RASTER": str(corner_area / "flood_current.tif"),
        "TEXT": str(tmp_path / "x.gpkg"),
    }
    extra = [paths.get(a, a).replace("OUT_DIR", str(tmp_path)) for a in EXPORT_CASES[case]]
    args = ["export", corner_area, "--build", corner_build, "--out", tmp_path / "out.gpkg", "--quiet", *extra]
    result, caught = run_cli(args)
    assert_clear_cli(result, caught, NO_CRASH if case in PLAUSIBLE_EXPORTS else ERROR)


USER_CASES = {
    "empty": ["users", "create", ""],
    "blank": ["users", "create", "   "],
    "nul": ["users", "create", "a\x00b"],
    "huge": ["users", "create", "x" * 100_000],
    "control_chars": ["users", "create", "a\nb\tc"],
    "role_unknown": ["users", "create", "someone", "--role", "god"],
    "duplicate": ["users", "create", "DUP"],
    "db_bogus": ["users", "create", "someone", "--db", "nope://x"],
    "db_is_dir": ["users", "create", "someone", "--db", "sqlite:///TMP"],
}


@pytest.mark.parametrize("case", list(USER_CASES))
def test_users_create_bad_input(tmp_path, case):
    db = f"sqlite:///{tmp_path / 'u.db'}"
    args = [a.replace("TMP", str(tmp_path)) for a in USER_CASES[case]]
    if case == "duplicate":
        assert run_cli(["users", "create", "DUP", "--db", db])[0].exit_code == 0
    if "--db" not in args:
        args += ["--db", db]
    result, caught = run_cli(args)
    assert_clear_cli(result, caught, ERROR)


# -- real terminals ---------------------------------------------------------------------------------

GEOAPP = [sys.executable, "-c", "from geoapp.cli import main; main()"]
SUBPROCESS_CASES = {
    "exposure_raster_as_buildings": [
        "exposure",
        "--hazard",
        "AREA/flood_current.tif",
        "--buildings",
        "AREA/flood_current.tif",
    ],
    "exposure_truncated_hazard": ["exposure", "--hazard", "BAD/truncated.tif", "--buildings", "AREA/buildings.gpkg"],
    "evacuate_empty_roads": [
        "evacuate",
        "--hazard",
        "AREA/flood_current.tif",
        "--buildings",
        "AREA/buildings.gpkg",
        "--roads",
        "BAD/empty.gpkg",
    ],
    "precarity_garbage": ["precarity", "--buildings", "BAD/garbage.gpkg"],
    "import_lying_zip": ["reports", "import", "BAD/lying.zip", "--db", "DB"],
    "import_xxe": ["reports", "import", "BAD/xxe.xlsx", "--db", "DB"],
    "import_nan": ["reports", "import", "BAD/nan.geojson", "--db", "DB"],
    "build_no_toml": ["build", "BAD"],
}


@pytest.mark.parametrize("case", list(SUBPROCESS_CASES))
def test_real_terminal(corner_area, tmp_path, case):
    from tests.robustness.badreports import REPORT_FILES

    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(corner_area / "buildings.gpkg", bad / "x.gpkg")
    (bad / "truncated.tif").write_bytes((corner_area / "flood_current.tif").read_bytes()[:30_000])
    (bad / "garbage.gpkg").write_bytes(os.urandom(20_000))
    import pyogrio

    pyogrio.write_dataframe(pyogrio.read_dataframe(corner_area / "roads.gpkg").iloc[:0], bad / "empty.gpkg")
    for name, case_name in (
        ("lying.zip", "zip_lying_size"),
        ("xxe.xlsx", "xlsx_xxe"),
        ("nan.geojson", "geojson_nan_token"),
    ):
        (bad / name).write_bytes(REPORT_FILES[case_name][0]()[1])
    subs = {"AREA": str(corner_area), "BAD": str(bad), "DB": f"sqlite:///{tmp_path / 'r.db'}"}
    args = []
    for a in SUBPROCESS_CASES[case]:
        for k, v in subs.items():
            a = a.replace(k, v) if a.startswith(k) else a
        args.append(a)
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    proc = subprocess.run([*GEOAPP, *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-600:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    if proc.returncode != 0:
        assert proc.returncode in (1, 2), proc.stderr[-300:]
        assert sum(ln.lower().startswith("error:") for ln in lines) == 1, proc.stderr[-300:]
    # warnings reach users as one plain line each (issue 13, item 10), never as 'file.py:12: UserWarning:'
    assert not [ln for ln in lines if "Warning:" in ln and ".py:" in ln], proc.stderr[-300:]
