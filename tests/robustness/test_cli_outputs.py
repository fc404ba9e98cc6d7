"""The new CLI surfaces fed bad values and missing files: `geoapp report`, `export --format
qgis|mbtiles|graphml`, `evacuate/precarity --graphml`, `exposure --scheduler/--chunk-rows/--kind` and building
datasets (Open Buildings CSV, GeoJSONL, GeoParquet), `areas add|list`, `feeds`, `worker`. One `error:` line
and exit 1 (2 for click usage errors), never a traceback or a silent success."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.robustness.checks import ERROR, cli_problem, run_cli

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli_bad")
    out = {
        "text": d / "notes.txt",
        "empty": d / "empty.gpkg",
        "graphml_text": d / "roads.graphml",
        "graphml_xml": d / "other.graphml",
        "csv_no_geometry": d / "open_buildings.csv",
        "csv_bad_wkt": d / "bad_wkt.csv",
        "csv_latin1": d / "latin1.csv",
        "geojsonl_broken": d / "ms.geojsonl",
        "parquet_fake": d / "overture.parquet",
        "zip_slip": d / "slip.zip",
        "zip_text": d / "fake.zip",
        "toml_folder": d / "badarea",
    }
    out["text"].write_text("hello\n")
    out["empty"].write_bytes(b"")
    out["graphml_text"].write_text("this is not graphml")
    out["graphml_xml"].write_text('<?xml version="1.0"?><graphml><graph edgedefault="directed"></graph></graphml>')
    out["csv_no_geometry"].write_text("latitude,longitude,area_in_meters,confidence\n-6.2,106.8,50,0.9\n")
    out["csv_bad_wkt"].write_text(
        "latitude,longitude,area_in_meters,confidence,geometry,full_plus_code\n-6.2,106.8,50,0.9,POLYGON((1 2,,),x\n"
    )
    out["csv_latin1"].write_bytes("latitude,longitude,géométrie\n-6.2,106.8,\xe9\n".encode("latin-1"))
    out["geojsonl_broken"].write_text('{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[\n')
    out["parquet_fake"].write_bytes(b"PAR1" + b"\x00" * 50)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("area.toml", "[area]\nname='x'\n")
        z.writestr("../../escape.txt", "x")
    out["zip_slip"].write_bytes(buf.getvalue())
    out["zip_text"].write_text("not a zip")
    out["toml_folder"].mkdir()
    (out["toml_folder"] / "area.toml").write_bytes(b"[area\x00")
    return out


def _cases(f, area, build, tmp):
    """name -> argument list; every one must stop with one clear error."""
    out = tmp / "out"
    return {
        # geoapp report
        "report_missing_build": ["report", "--build", tmp / "nope.gpkg", "--out", out.with_suffix(".pdf")],
        "report_text_build": ["report", "--build", f["text"], "--out", out.with_suffix(".pdf")],
        "report_empty_build": ["report", "--build", f["empty"], "--out", out.with_suffix(".pdf")],
        "report_bad_scenario": [
            "report",
            "--build",
            build,
            "--scenario",
            "nope",
            "--out",
            out.with_suffix(".pdf"),
        ],
        "report_bad_boundaries": [
            "report",
            "--build",
            build,
            "--boundaries",
            "nope",
            "--out",
            out.with_suffix(".pdf"),
        ],
        "report_atlas_zero": ["report", "--build", build, "--atlas-limit", "0", "--out", out.with_suffix(".pdf")],
        "report_bad_lang": ["report", "--build", build, "--lang", "xx", "--out", out.with_suffix(".pdf")],
        "report_no_out": ["report", "--build", build],
        "report_out_dir_missing": ["report", "--build", build, "--out", tmp / "no" / "such" / "dir" / "r.pdf"],
        # geoapp export
        "export_qgis_missing_build": [
            "export",
            "--format",
            "qgis",
            "--build",
            tmp / "nope.gpkg",
            "--out",
            out.with_suffix(".qgz"),
        ],
        "export_qgis_text_build": [
            "export",
            "--format",
            "qgis",
            "--build",
            f["text"],
            "--out",
            out.with_suffix(".qgz"),
        ],
        "export_mbtiles_zoom_order": [
            "export",
            "--format",
            "mbtiles",
            "--build",
            build,
            "--min-zoom",
            "16",
            "--max-zoom",
            "12",
            "--out",
            out.with_suffix(".mbtiles"),
        ],
        "export_mbtiles_negative_zoom": [
            "export",
            "--format",
            "mbtiles",
            "--build",
            build,
            "--min-zoom",
            "-1",
            "--out",
            out.with_suffix(".mbtiles"),
        ],
        "export_mbtiles_huge_zoom": [
            "export",
            "--format",
            "mbtiles",
            "--build",
            build,
            "--max-zoom",
            "99",
            "--out",
            out.with_suffix(".mbtiles"),
        ],
        "export_mbtiles_zoom_text": [
            "export",
            "--format",
            "mbtiles",
            "--build",
            build,
            "--max-zoom",
            "ten",
            "--out",
            out.with_suffix(".mbtiles"),
        ],
        "export_mbtiles_bad_scenario": [
            "export",
            "--format",
            "mbtiles",
            "--build",
            build,
            "--scenario",
            "nope",
            "--out",
            out.with_suffix(".mbtiles"),
        ],
        "export_graphml_unknown_layer": [
            "export",
            "--format",
            "graphml",
            "--build",
            build,
            "--layers",
            "nope",
            "--out",
            out.with_suffix(".graphml"),
        ],
        "export_graphml_bad_network": [
            "export",
            "--format",
            "graphml",
            "--build",
            build,
            "--network",
            "fly",
            "--out",
            out.with_suffix(".graphml"),
        ],
        "export_unknown_format": ["export", "--format", "docx", "--build", build, "--out", out.with_suffix(".docx")],
        "export_layers_nul": [
            "export",
            "--format",
            "gpkg",
            "--build",
            build,
            "--layers",
            "a\x00b",
            "--out",
            out.with_suffix(".gpkg"),
        ],
        "export_layers_empty": [
            "export",
            "--format",
            "gpkg",
            "--build",
            build,
            "--layers",
            ",,",
            "--out",
            out.with_suffix(".gpkg"),
        ],
        # evacuate / precarity --graphml
        "evacuate_graphml_missing": [
            "evacuate",
            "--graphml",
            tmp / "nope.graphml",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
        ],
        "evacuate_graphml_text": [
            "evacuate",
            "--graphml",
            f["graphml_text"],
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
        ],
        "evacuate_graphml_empty_graph": [
            "evacuate",
            "--graphml",
            f["graphml_xml"],
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
        ],
        "evacuate_graphml_and_roads": [
            "evacuate",
            "--graphml",
            f["graphml_xml"],
            "--roads",
            area / "roads.gpkg",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
        ],
        "evacuate_walk_speed_nan": [
            "evacuate",
            "--roads",
            area / "roads.gpkg",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--walk-speed",
            "nan",
        ],
        "evacuate_walk_speed_negative": [
            "evacuate",
            "--roads",
            area / "roads.gpkg",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--walk-speed",
            "-1",
        ],
        "precarity_graphml_text": [
            "precarity",
            "--graphml",
            f["graphml_text"],
            "--buildings",
            area / "buildings.gpkg",
            "--hazard",
            area / "flood_current.tif",
            "--population",
            area / "population.tif",
        ],
        "precarity_h3_out_of_range": [
            "precarity",
            "--buildings",
            area / "buildings.gpkg",
            "--roads",
            area / "roads.gpkg",
            "--hazard",
            area / "flood_current.tif",
            "--population",
            area / "population.tif",
            "--h3-resolution",
            "16",
        ],
        "precarity_threshold_nan": [
            "precarity",
            "--buildings",
            area / "buildings.gpkg",
            "--roads",
            area / "roads.gpkg",
            "--hazard",
            area / "flood_current.tif",
            "--population",
            area / "population.tif",
            "--threshold",
            "nan",
        ],
        "precarity_bad_weights": [
            "precarity",
            "--buildings",
            area / "buildings.gpkg",
            "--roads",
            area / "roads.gpkg",
            "--hazard",
            area / "flood_current.tif",
            "--population",
            area / "population.tif",
            "--weights",
            "x=y",
        ],
        # exposure: --chunk-rows, --scheduler, --kind, building datasets
        "exposure_chunk_zero": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--chunk-rows",
            "0",
        ],
        "exposure_chunk_negative": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--chunk-rows",
            "-5",
        ],
        "exposure_chunk_text": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--chunk-rows",
            "many",
        ],
        "exposure_chunk_huge": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--chunk-rows",
            "9" * 400,
        ],
        "exposure_scheduler_garbage": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--scheduler",
            "not a url",
        ],
        "exposure_scheduler_bad_port": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--scheduler",
            "tcp://127.0.0.1:99999",
        ],
        "exposure_scheduler_closed_port": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--scheduler",
            "tcp://127.0.0.1:1",
        ],
        "exposure_unknown_kind": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--kind",
            "meteor",
        ],
        "exposure_radii_text": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            area / "buildings.gpkg",
            "--kind",
            "volcano",
            "--radii-km",
            "a,b",
        ],
        "exposure_open_buildings_no_geometry": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            f["csv_no_geometry"],
        ],
        "exposure_open_buildings_bad_wkt": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            f["csv_bad_wkt"],
        ],
        "exposure_csv_latin1": ["exposure", "--hazard", area / "flood_current.tif", "--buildings", f["csv_latin1"]],
        "exposure_geojsonl_broken": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            f["geojsonl_broken"],
        ],
        "exposure_parquet_fake": ["exposure", "--hazard", area / "flood_current.tif", "--buildings", f["parquet_fake"]],
        "exposure_buildings_missing": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            tmp / "nope.parquet",
        ],
        "exposure_buildings_bad_layer": [
            "exposure",
            "--hazard",
            area / "flood_current.tif",
            "--buildings",
            f"{area / 'buildings.gpkg'}:nope",
        ],
        # areas
        "areas_add_missing": ["areas", "add", tmp / "nope", "--areas-dir", tmp / "areas"],
        "areas_add_text_file": ["areas", "add", f["text"], "--areas-dir", tmp / "areas"],
        "areas_add_fake_zip": ["areas", "add", f["zip_text"], "--areas-dir", tmp / "areas"],
        "areas_add_zip_slip": ["areas", "add", f["zip_slip"], "--areas-dir", tmp / "areas"],
        "areas_add_bad_toml": ["areas", "add", f["toml_folder"], "--areas-dir", tmp / "areas"],
        "areas_add_bad_name": ["areas", "add", area, "--name", "../../etc", "--areas-dir", tmp / "areas"],
        "areas_add_nul_name": ["areas", "add", area, "--name", "a\x00b", "--areas-dir", tmp / "areas"],
        "areas_add_no_arg": ["areas", "add"],
        "areas_unknown_sub": ["areas", "explode"],
        # feeds, worker
        "feeds_dry_run_unknown": ["feeds", "dry-run", "nope", "--db", f"sqlite:///{tmp / 'f.db'}"],
        "feeds_pull_unknown": ["feeds", "pull", "nope", "--db", f"sqlite:///{tmp / 'f.db'}"],
        "feeds_pull_bad_db": ["feeds", "pull", "nope", "--db", "nosuchdb://x"],
        "feeds_no_name": ["feeds", "pull"],
        "worker_count_zero": ["worker", "--count", "0"],
        "worker_count_huge": ["worker", "--count", "65"],
        "worker_bad_redis": ["worker", "--burst", "--redis", "notredis://x", "--db", f"sqlite:///{tmp / 'w.db'}"],
        "worker_closed_redis": [
            "worker",
            "--burst",
            "--redis",
            "redis://127.0.0.1:1/0",
            "--db",
            f"sqlite:///{tmp / 'w.db'}",
        ],
    }


def _names():
    from collections import defaultdict
    from pathlib import Path

    dummy = Path("/x")
    return list(_cases(defaultdict(lambda: dummy), dummy, dummy, dummy))


@pytest.mark.parametrize("case", _names())
def test_cli_bad_values(case, files, corner_area, corner_build, tmp_path, monkeypatch):
    monkeypatch.setenv("GEOAPP_AREAS_DIR", str(tmp_path / "areas"))
    monkeypatch.setenv("GEOAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    args = _cases(files, corner_area, corner_build, tmp_path)[case]
    result, caught = run_cli(args)
    problem = cli_problem(result, caught, ERROR)
    if problem and problem.startswith("stderr has more than the error line"):
        # evacuate's progress bar (tqdm, on a terminal's stderr) is not an error: the rest must be one error line
        lines = [ln for ln in result.stderr.splitlines() if ln.strip() and "%|" not in ln]
        problem = None if len(lines) == 1 and lines[0].startswith("error:") else problem
    assert problem is None, problem
    assert not (tmp_path.parent / "escape.txt").exists()


_ODK = {
    "platform": "odk",
    "url": "http://127.0.0.1:1",  # loopback, nothing listens: a connection error, never the network
    "project": 19,
    "form": "f",
    "username": "u",
    "password": "p",
    "category": "shelter_site",
    "fields": {"location": "where"},
}
# name -> GEOAPP_FEEDS text (the feed is named "f")
FEED_CONFIGS = {
    "not_json": "{not json",
    "entry_not_dict": '{"f": "hello"}',
    "top_list": "[1, 2]",
    "bad_platform": json.dumps({"f": {**_ODK, "platform": "nope"}}),
    "no_url": json.dumps({"f": {k: v for k, v in _ODK.items() if k != "url"}}),
    "url_garbage": json.dumps({"f": {**_ODK, "url": "not a url"}}),
    "closed_port": json.dumps({"f": _ODK}),
    "kobo_no_token": json.dumps({"f": {"platform": "kobo", "url": "http://127.0.0.1:1", "asset": "x"}}),
    "other_feed_only": json.dumps({"g": _ODK}),
}


@pytest.mark.parametrize("command", ["dry-run", "pull"])
@pytest.mark.parametrize("case", list(FEED_CONFIGS))
def test_feeds_bad_config(case, command, tmp_path, monkeypatch):
    monkeypatch.setenv("GEOAPP_FEEDS", FEED_CONFIGS[case])
    monkeypatch.setenv("GEOAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'f.db'}")
    result, caught = run_cli(["feeds", command, "f"])
    problem = cli_problem(result, caught, ERROR)
    assert problem is None, problem
