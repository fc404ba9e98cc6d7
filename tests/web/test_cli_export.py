"""`geoapp export AREA_DIR --format ... --out PATH`."""

from __future__ import annotations

import json
import zipfile

import pyogrio
import pytest
from click.testing import CliRunner

from geoapp.cli import main


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_export_gpkg_every_layer_with_metadata(sample_area_dir, built_area, tmp_path):
    out = tmp_path / "jakarta.gpkg"
    result = _run(
        "export", str(sample_area_dir), "--format", "gpkg", "--out", str(out), "--build", str(built_area), "--quiet"
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("jakarta.gpkg")
    names = [n for n, _ in pyogrio.list_layers(out)]
    assert names[:5] == ["buildings", "facilities", "roads", "boundaries_rw", "boundaries_kelurahan"]
    assert {"geoapp_metadata", "layer_styles"} <= set(names)
    assert pyogrio.read_info(out, layer="buildings")["features"] == 7689
    meta = pyogrio.read_dataframe(out, layer="geoapp_metadata", read_geometry=False)
    meta = dict(zip(meta.key, meta.value, strict=False))
    assert meta["area"] == "jakarta"
    assert meta["crs"] == "EPSG:32748"
    assert "ODbL" in meta["licence"]
    assert meta["scenario"] == "current,design"


def test_export_one_layer_formats(sample_area_dir, built_area, tmp_path):
    out = tmp_path / "f.geojson"
    result = _run(
        "export",
        str(sample_area_dir),
        "--format",
        "geojson",
        "--layers",
        "facilities",
        "--out",
        str(out),
        "--build",
        str(built_area),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    fc = json.loads(out.read_text())
    assert len(fc["features"]) == 1243
    assert fc["features"][0]["geometry"]["type"] == "Point"
    zipped = tmp_path / "b.zip"
    result = _run(
        "export",
        str(sample_area_dir),
        "--format",
        "csv",
        "--layers",
        "boundaries_rw,boundaries_kelurahan",
        "--csv-geometry",
        "lonlat",
        "--out",
        str(zipped),
        "--build",
        str(built_area),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert sorted(zipfile.ZipFile(zipped).namelist()) == [
        "boundaries_kelurahan.csv",
        "boundaries_kelurahan.csvt",
        "boundaries_kelurahan.prj",
        "boundaries_rw.csv",
        "boundaries_rw.csvt",
        "boundaries_rw.prj",
    ]
    gpx = tmp_path / "shelters.gpx"
    result = _run(
        "export", str(sample_area_dir), "--format", "gpx", "--out", str(gpx), "--build", str(built_area), "--quiet"
    )
    assert result.exit_code == 0, result.output
    shelters = pyogrio.read_dataframe(built_area, layer="shelters")
    assert len(pyogrio.read_dataframe(gpx, layer="waypoints")) == len(shelters) > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xls"], "Invalid value for '--format'"),
        (["--layers", "nope"], "no layer ['nope']"),
    ],
)
def test_export_errors_are_one_line(sample_area_dir, built_area, tmp_path, args, message):
    result = _run("export", str(sample_area_dir), "--out", str(tmp_path / "x"), "--build", str(built_area), *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_export_html_standalone_map(sample_area_dir, built_area, tmp_path):
    pytest.importorskip("layers.publish.standalone")
    from layers.publish.export import read_layers, write_geopackage

    small = tmp_path / "small.gpkg"  # a few layers: the map function's own tests cover the whole build
    write_geopackage(read_layers(built_area, ["facilities", "boundaries_kelurahan"]), small)
    out = tmp_path / "map.html"
    result = _run(
        "export", str(sample_area_dir), "--format", "html", "--out", str(out), "--build", str(small), "--quiet"
    )
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "leaflet" in html.lower()


def test_several_layers_in_a_one_layer_format_need_a_zip(sample_area_dir, built_area, tmp_path):
    result = _run(
        "export",
        str(sample_area_dir),
        "--format",
        "geojson",
        "--layers",
        "roads,facilities",
        "--out",
        str(tmp_path / "x.geojson"),
        "--build",
        str(built_area),
    )
    assert result.exit_code != 0
    assert "name the output 'x.zip'" in result.output


def _one_report(tmp_path, make_user) -> tuple[str, tuple[float, float]]:
    """A database holding one published report (a trusted volunteer's) with personal fields; its URL and point."""
    import uuid

    from geoapp import create_app
    from tests.helpers import bearer

    url = f"sqlite:///{tmp_path / 'r.db'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": url, "ANON_RATE_LIMIT": "1000/hour"})
    _, trusted = make_user(app, "volunteer", trusted=True)
    exact = (106.8201, -6.1899)
    feat = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(exact)},
        "properties": {
            "id": str(uuid.uuid4()),
            "category": "flooding_observed",
            "description": "air setinggi lutut",
            "reporter_name": "Qwzx Reporter",
            "reporter_contact": "+62 811",
        },
    }
    assert app.test_client().post("/api/reports", json=feat, headers=bearer(trusted)).status_code == 201
    return url, exact


def test_html_with_reports_shows_the_public_reports(sample_area_dir, built_area, tmp_path, make_user):
    """Issue 14 #12: `--format html --with-reports` left the reports out silently."""
    import json
    import re

    from layers.publish.export import read_layers, write_geopackage

    url, exact = _one_report(tmp_path, make_user)
    small = tmp_path / "small.gpkg"
    write_geopackage(read_layers(built_area, ["facilities"]), small)
    out = tmp_path / "map.html"
    args = ["export", str(sample_area_dir), "--format", "html", "--out", str(out), "--build", str(small), "--quiet"]
    result = _run(*args, "--with-reports", "--db", url)
    assert result.exit_code == 0, result.output
    html = out.read_text()
    cfg = json.loads(re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html, re.S)[1])
    assert "reports" in [layer["name"] for layer in cfg["layers"]]
    (feature,) = cfg["inline"]["features"]["reports"][""]["features"]
    assert feature["properties"]["category"] == "flooding_observed"
    assert tuple(round(c, 7) for c in feature["geometry"]["coordinates"]) != exact  # blurred, as the public sees it
    assert "air setinggi lutut" in html
    assert "Qwzx" not in html
    assert "+62 811" not in html
    without = _run(*args)
    assert without.exit_code == 0, without.output
    assert "air setinggi lutut" not in out.read_text()


def test_with_reports_exports_what_the_public_sees(sample_area_dir, built_area, tmp_path, make_user):
    url, exact = _one_report(tmp_path, make_user)
    out = tmp_path / "r.gpkg"
    result = _run(
        "export",
        str(sample_area_dir),
        "--layers",
        "facilities",
        "--with-reports",
        "--db",
        url,
        "--out",
        str(out),
        "--build",
        str(built_area),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    reports = pyogrio.read_dataframe(out, layer="field_reports")
    assert len(reports) == 1
    assert not {"reporter_name", "reporter_contact", "created_by"} & set(reports.columns)
    assert b"Qwzx" not in out.read_bytes()
    assert b"+62 811" not in out.read_bytes()
    p = reports.to_crs(4326).geometry.iloc[0]
    assert (round(p.x, 7), round(p.y, 7)) != exact
