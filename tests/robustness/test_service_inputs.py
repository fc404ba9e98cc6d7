"""Scenarios, areas and jobs fed bad input: a 4xx JSON error naming the problem, never a 5xx, and nothing stored.

One app per module on a copy of the built corner (see conftest.py); uploads that must fail write nothing.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest

from tests.helpers import bearer
from tests.robustness.checks import http_problem

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def svc(corner_area, corner_build, tmp_path_factory):
    from sqlalchemy.orm import Session

    from geoapp import create_app
    from geoapp.auth import create_user

    tmp = tmp_path_factory.mktemp("svc")
    area = tmp / "area"
    shutil.copytree(corner_area, area)
    (area / "build").mkdir(exist_ok=True)
    shutil.copy(corner_build, area / "build" / "area.gpkg")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "robust",
            "AREA": str(area),
            "BUILD": str(area / "build" / "area.gpkg"),
            "AREAS_DIR": str(tmp / "areas"),
            "DATABASE_URL": f"sqlite:///{tmp / 'reports.db'}",
            "ANON_RATE_LIMIT": "1000000/hour",
            "EXPORT_DIR": str(tmp / "exports"),
            "JOBS_BACKEND": "inprocess",
            "AREA_UPLOAD_MAX_BYTES": 2_000_000,
        }
    )
    tokens = {}
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
        for role in ("volunteer", "moderator", "planner", "admin"):
            _, tokens[role] = create_user(s, f"svc-{role}", role)
        _, tokens["planner2"] = create_user(s, "svc-planner2", "planner")
    app.tokens, app.area_root = tokens, area  # type: ignore[attr-defined]
    return app


def _check(resp, refused: bool = True):
    body = resp.get_data()
    problem = http_problem(resp, allow_ok=not refused)
    assert problem is None, problem
    return body


def _scenario_files(svc) -> list:
    return (
        sorted(p.name for p in (svc.area_root / "scenarios").glob("*"))
        if (svc.area_root / "scenarios").exists()
        else []
    )


# --- scenarios ---------------------------------------------------------------------------------

GEOJSON_ZONES = json.dumps(
    {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"depth": 1.0},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[106.8, -6.21], [106.81, -6.21], [106.81, -6.2], [106.8, -6.21]]],
                },
            }
        ],
    }
).encode()

# name -> (form fields, file bytes or None, file name)
SCENARIO_UPLOADS = {
    "no_file": ({"title": "x"}, None, None),
    "empty_file": ({}, b"", "flood.tif"),
    "text_as_tif": ({}, b"hello, I am not a raster\n" * 10, "flood.tif"),
    "csv_file": ({}, b"a,b\n1,2\n", "flood.csv"),
    "pdf_file": ({}, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "flood.pdf"),
    "zip_not_shapefile": ({}, None, "zip:readme"),
    "truncated_tif": ({}, b"II*\x00\x08\x00\x00\x00\x00", "flood.tif"),
    "html_as_tif": ({}, b"<html><body>nope</body></html>", "flood.tif"),
    "nul_bytes": ({}, b"\x00" * 4096, "flood.tif"),
    "geojson_no_field": ({}, GEOJSON_ZONES, "zones.geojson"),
    "geojson_bad_field": ({"field": "nope"}, GEOJSON_ZONES, "zones.geojson"),
    "geojson_broken": ({"field": "depth"}, b'{"type": "FeatureCollection", "features": [', "zones.geojson"),
    "geojson_bomb": ({"field": "depth"}, b"[" * 100000 + b"]" * 100000, "zones.geojson"),
    "no_extension": ({}, b"data", "flood"),
    "nul_in_name": ({}, b"data", "flo\x00od.tif"),
    "dotdot_name": ({}, b"data", "../../etc/passwd"),
    "bad_classes": ({"classes": "low:a-b"}, "sample", "flood.tif"),
    "classes_nul": ({"classes": "low:0.1-\x00"}, "sample", "flood.tif"),
    "classes_unreached": ({"classes": "low:1000-2000"}, "sample", "flood.tif"),
    "bad_displacement": ({"displacement": "high:many"}, "sample", "flood.tif"),
    "displacement_nan": ({"displacement": "high:nan"}, "sample", "flood.tif"),
    "displacement_huge": ({"displacement": "high:1e999"}, "sample", "flood.tif"),
    "bad_kind": ({"kind": "meteor"}, "sample", "flood.tif"),
    "kind_nul": ({"kind": "flo\x00od"}, "sample", "flood.tif"),
    "title_huge": ({"title": "x" * 100_000}, "sample", "flood.tif"),
    "units_bad": ({"units": "furlongs" * 100}, "sample", "flood.tif"),
}


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("case", list(SCENARIO_UPLOADS))
def test_scenario_upload_refused(svc, case):
    from tests.helpers import SAMPLE_AREA

    fields, data, name = SCENARIO_UPLOADS[case]
    if data == "sample":
        data = (SAMPLE_AREA / "flood_current.tif").read_bytes()
    if name == "zip:readme":
        data, name = _zip({"readme.txt": b"hello"}), "zones.zip"
    form = dict(fields)
    if data is not None:
        form["file"] = (io.BytesIO(data), name)
    before = _scenario_files(svc)
    resp = svc.test_client().post(
        "/api/scenarios", data=form, headers=bearer(svc.tokens["planner"]), content_type="multipart/form-data"
    )
    _check(resp)
    assert resp.status_code in (400, 413, 415, 422), resp.status_code
    assert _scenario_files(svc) == before


# (method, url, json body or None, role) -> expected status family
SCENARIO_CALLS = {
    "get_unknown": ("GET", "/api/scenarios/nope", None, "planner", 404),
    "get_nul": ("GET", "/api/scenarios/n%00pe", None, "planner", 404),
    "get_huge": ("GET", "/api/scenarios/" + "x" * 5000, None, "planner", 404),
    "patch_unknown": ("PATCH", "/api/scenarios/nope", {"title": "x"}, "planner", 404),
    "patch_config_scenario": ("PATCH", "/api/scenarios/current", {"title": "x"}, "planner", 409),
    "patch_list_title": ("PATCH", "/api/scenarios/current", {"title": ["x"]}, "planner", None),
    "delete_unknown": ("DELETE", "/api/scenarios/nope", None, "planner", 404),
    "delete_config_scenario": ("DELETE", "/api/scenarios/current", None, "planner", 409),
    "retire_unknown": ("POST", "/api/scenarios/nope/retire", None, "planner", 404),
    "volunteer_post": ("POST", "/api/scenarios", None, "volunteer", 403),
    "moderator_delete": ("DELETE", "/api/scenarios/current", None, "moderator", 403),
    "anonymous_post": ("POST", "/api/scenarios", None, None, 401),
    "anonymous_patch": ("PATCH", "/api/scenarios/current", {"title": "x"}, None, 401),
    "json_instead_of_form": ("POST", "/api/scenarios", {"file": "flood.tif"}, "planner", 400),
}


@pytest.mark.parametrize("case", list(SCENARIO_CALLS))
def test_scenario_calls(svc, case):
    method, url, body, role, status = SCENARIO_CALLS[case]
    headers = bearer(svc.tokens[role]) if role else {}
    resp = svc.test_client().open(url, method=method, json=body, headers=headers)
    _check(resp)
    if status:
        assert resp.status_code == status, resp.get_data()[:200]


# --- areas --------------------------------------------------------------------------------------

GOOD_TOML = b'[area]\nname = "z"\ntitle = "Z"\ncrs = "EPSG:32748"\n[layers]\nbuildings = "b.gpkg"\n'

AREA_UPLOADS = {
    "not_a_zip": (b"this is plain text", "area.zip", 400),
    "empty_file": (b"", "area.zip", 400),
    "tif_as_zip": (b"II*\x00" + b"\x00" * 100, "area.zip", 400),
    "truncated_zip": ("zip:truncated", "area.zip", 400),
    "no_toml": ({"readme.txt": b"hello"}, "area.zip", 400),
    "two_tomls": ({"a/area.toml": GOOD_TOML, "b/area.toml": GOOD_TOML}, "area.zip", 400),
    "zip_slip": ({"area.toml": GOOD_TOML, "../../evil.txt": b"x"}, "area.zip", 400),
    "zip_slip_absolute": ({"area.toml": GOOD_TOML, "/tmp/evil.txt": b"x"}, "area.zip", 400),
    "zip_slip_nested": ({"area/area.toml": GOOD_TOML, "area/../../evil.txt": b"x"}, "area.zip", 400),
    "toml_syntax": ({"area.toml": b"[area\nname ="}, "area.zip", 400),
    "toml_not_utf8": ({"area.toml": '[area]\ntitle = "Dar\xe9"\n'.encode("latin-1")}, "area.zip", 400),
    "toml_nul": ({"area.toml": b"[area]\x00\n"}, "area.zip", 400),
    "toml_missing_file": ({"area.toml": GOOD_TOML}, "area.zip", 400),
    "toml_outside_file": (
        {"area.toml": GOOD_TOML.replace(b"b.gpkg", b"../../../etc/passwd")},
        "area.zip",
        400,
    ),
    "zip_bomb": ({"area.toml": GOOD_TOML, "big.bin": b"\x00" * 5_000_000}, "area.zip", 413),
}


@pytest.mark.parametrize("case", list(AREA_UPLOADS))
def test_area_upload_refused(svc, case, tmp_path):
    data, name, status = AREA_UPLOADS[case]
    if data == "zip:truncated":
        data = _zip({"area.toml": GOOD_TOML, "b.gpkg": b"x" * 1000})[:-40]
    elif isinstance(data, dict):
        data = _zip(data)
    before = sorted(p.name for p in (tmp_path.parent).glob("evil*"))
    resp = svc.test_client().post(
        "/api/areas",
        data={"file": (io.BytesIO(data), name), "name": f"t-{case.replace('_', '-')}"},
        headers=bearer(svc.tokens["admin"]),
        content_type="multipart/form-data",
    )
    _check(resp)
    assert resp.status_code == status, resp.get_data()[:300]
    names = [a["name"] for a in svc.test_client().get("/api/areas").get_json()["areas"]]
    assert f"t-{case.replace('_', '-')}" not in names
    assert sorted(p.name for p in (tmp_path.parent).glob("evil*")) == before


AREA_FORMS = {
    "no_file": ({"name": "x"}, "admin", 400),
    "planner": ({"file": "zip", "name": "x"}, "planner", 403),
    "anonymous": ({"file": "zip", "name": "x"}, None, 401),
    "name_taken": ({"file": "zip", "name": "corner"}, "admin", 400),  # the zip is checked first
    "name_slash": ({"file": "zip", "name": "../../x"}, "admin", 400),
    "name_nul": ({"file": "zip", "name": "a\x00b"}, "admin", 400),
    "name_huge": ({"file": "zip", "name": "x" * 5000}, "admin", 400),
    "name_unicode_only": ({"file": "zip", "name": "💥💥"}, "admin", 400),
}


@pytest.mark.parametrize("case", list(AREA_FORMS))
def test_area_form_refused(svc, case):
    fields, role, status = AREA_FORMS[case]
    form = dict(fields)
    if form.get("file") == "zip":
        form["file"] = (io.BytesIO(_zip({"area.toml": GOOD_TOML})), "area.zip")
    headers = bearer(svc.tokens[role]) if role else {}
    resp = svc.test_client().post("/api/areas", data=form, headers=headers, content_type="multipart/form-data")
    _check(resp)
    assert resp.status_code in ((status,) if status != 400 else (400, 409)), resp.get_data()[:300]


AREA_URLS = [
    "/a/nope/",
    "/a/nope/api/layers",
    "/a/nope/ogcapi/collections",
    "/a/%00/api/layers",
    "/a/" + "x" * 3000 + "/api/layers",
    "/a/..%2F..%2Fetc/api/layers",
    "/a/corner%00/api/layers",
    "/a/CORNER/api/layers",
    "/a/💥/api/layers",
    "/a/nope/map/tiles/buildings/14/13000/8000.json",
    "/a/nope/api/exports",
    "/a/nope/dashboard",
]


@pytest.mark.parametrize("url", AREA_URLS, ids=range(len(AREA_URLS)))
def test_unknown_area_prefix(svc, url):
    resp = svc.test_client().get(url, headers={"Accept": "application/json"})
    assert resp.status_code == 404, resp.get_data()[:200]
    _check(resp)


# --- jobs -----------------------------------------------------------------------------------------

JOB_CALLS = {
    "unknown": ("GET", "/api/jobs/nope", "planner", 404),
    "unknown_uuid": ("GET", "/api/jobs/00000000-0000-0000-0000-000000000000", "planner", 404),
    "nul": ("GET", "/api/jobs/a%00b", "planner", 404),
    "huge": ("GET", "/api/jobs/" + "9" * 5000, "planner", 404),
    "anonymous": ("GET", "/api/jobs/nope", None, 401),
    "retry_unknown": ("POST", "/api/jobs/nope/retry", "admin", 404),
    "retry_anonymous": ("POST", "/api/jobs/nope/retry", None, 401),
    "list_negative_limit_clamped": ("GET", "/api/jobs?limit=-1", "admin", None),
    "list_nan_limit": ("GET", "/api/jobs?limit=nan", "admin", 400),
    "list_huge_limit_clamped": ("GET", "/api/jobs?limit=" + "9" * 400, "admin", None),
    "list_superscript_limit": ("GET", "/api/jobs?limit=%C2%B2", "admin", 400),
    "list_bad_status": ("GET", "/api/jobs?status=%00", "admin", None),
    "list_anonymous": ("GET", "/api/jobs", None, 401),
}


@pytest.mark.parametrize("case", list(JOB_CALLS))
def test_job_calls(svc, case):
    method, url, role, status = JOB_CALLS[case]
    headers = bearer(svc.tokens[role]) if role else {}
    resp = svc.test_client().open(url, method=method, headers=headers)
    _check(resp, refused=status is not None)
    if status:
        assert resp.status_code == status, resp.get_data()[:200]


def test_job_of_another_user_is_hidden(svc):
    """A planner's export job is not shown to (nor retried by) another planner."""
    client = svc.test_client()
    resp = client.post(
        "/api/exports", json={"layers": ["buildings"], "format": "gpkg"}, headers=bearer(svc.tokens["planner"])
    )
    if resp.status_code >= 400:
        pytest.skip(f"exports refused here: {resp.get_data()[:120]!r}")
    job_id = resp.get_json().get("job", resp.get_json().get("id"))
    assert job_id
    other = client.get(f"/api/jobs/{job_id}", headers=bearer(svc.tokens["planner2"]))
    _check(other)
    assert other.status_code in (403, 404)
    retry = client.post(f"/api/jobs/{job_id}/retry", headers=bearer(svc.tokens["planner2"]))
    _check(retry)
    assert retry.status_code in (403, 404)


BOMB = "[" * 50000 + "]" * 50000
# (url, role, raw JSON body, expected status)
JSON_BODIES = {
    "builds_list": ("/api/builds", "admin", "[1]", 400),
    "builds_only_string": ("/api/builds", "admin", '{"only": "evacuation"}', 400),
    "builds_only_unknown": ("/api/builds", "admin", '{"only": ["explode"]}', 400),
    "builds_only_nested": ("/api/builds", "admin", '{"only": [["evacuation"]]}', 400),
    "builds_unknown_area": ("/api/builds", "admin", '{"area": "atlantis"}', 404),
    "builds_area_traversal": ("/api/builds", "admin", '{"area": "../../etc"}', 400),
    "builds_bomb": ("/api/builds", "admin", BOMB, 400),
    "builds_planner": ("/api/builds", "planner", "{}", 403),
    "reports_bomb": ("/api/reports", "volunteer", BOMB, 400),
    "reports_nan": (
        "/api/reports",
        "volunteer",
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [NaN, 1]}}',
        400,
    ),
    "exports_bomb": ("/api/exports", "planner", BOMB, 400),
    "exports_layers_number": ("/api/exports", "planner", '{"layers": 5}', 400),
    "exports_bad_format": ("/api/exports", "planner", '{"layers": ["buildings"], "f": "docx"}', 400),
    "builds_not_json": ("/api/builds", "admin", "area=jakarta", 400),
    "scenario_patch_bomb": ("/api/scenarios/current", "planner", BOMB, 409),
}


@pytest.mark.parametrize("case", list(JSON_BODIES))
def test_json_bodies(svc, case):
    url, role, raw, status = JSON_BODIES[case]
    method = "PATCH" if case.startswith("scenario_patch") else "POST"
    resp = svc.test_client().open(
        url, method=method, data=raw, content_type="application/json", headers=bearer(svc.tokens[role])
    )
    _check(resp)
    assert resp.status_code == status, resp.get_data()[:300]


def test_a_broken_area_folder_does_not_hide_the_others(tmp_path, monkeypatch):
    """An added area whose area.toml was spoilt on disk is listed with its error; the default area still is,
    over HTTP and by `geoapp areas list` (a warning line, exit 0)."""
    from geoapp import create_app
    from tests.robustness.checks import run_cli

    broken = tmp_path / "areas" / "broken"
    broken.mkdir(parents=True)
    (broken / "area.toml").write_bytes(b"[area\x00")
    config = {
        "TESTING": True,
        "SECRET_KEY": "x",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        "BUILD": str(tmp_path / "nb" / "area.gpkg"),
        "AREAS_DIR": str(tmp_path / "areas"),
    }
    resp = create_app(config).test_client().get("/api/areas")
    assert resp.status_code == 200, resp.get_data()[:300]
    listed = {a["name"]: a for a in resp.get_json()["areas"]}
    assert "error" in listed["broken"]
    assert str(tmp_path) not in listed["broken"]["error"]
    assert any("links" in a for a in listed.values())
    # its own pages answer with the error, naming the area, not this server's folders
    page = create_app(config).test_client().get("/a/broken/api/layers")
    assert 400 <= page.status_code < 500
    assert str(tmp_path) not in page.get_data(as_text=True)
    assert "broken" in page.get_json()["error"]["message"]
    monkeypatch.setenv("GEOAPP_AREAS_DIR", str(tmp_path / "areas"))
    monkeypatch.setenv("GEOAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    result, _ = run_cli(["areas", "list"])
    assert result.exit_code == 0, result.output
    assert "warning: area 'broken'" in result.stderr
    assert len(result.stdout.strip().splitlines()) == len(listed) - 1
