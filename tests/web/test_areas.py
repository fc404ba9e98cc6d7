"""Several areas on one server: add one by CLI and by HTTP, per-area URLs, titles and file names, bad zips."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import pyogrio
import pytest
from click.testing import CliRunner

from geoapp import create_app
from geoapp.cli import main
from tests.area_helpers import NAME, TITLE, crop_build, make_area_folder, zip_folder
from tests.helpers import bearer


@pytest.fixture(scope="module")
def second(tmp_path_factory, built_area):
    """The second area's folder (no build) and its cropped build, made once for this module."""
    root = tmp_path_factory.mktemp("second")
    folder = make_area_folder(root / "src")
    build = crop_build(built_area, root / "crop" / "area.gpkg")
    return folder, build


@pytest.fixture
def areas_app(tmp_path, built_area):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "BUILD": str(built_area),
            "AREAS_DIR": str(tmp_path / "areas"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "EXPORT_DIR": str(tmp_path / "exports"),
            "ANON_RATE_LIMIT": "1000/hour",
        }
    )


def _add_by_cli(app, folder, build) -> None:
    result = CliRunner().invoke(main, ["areas", "add", str(folder), "--areas-dir", app.config["AREAS_DIR"]])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == NAME
    target = Path(app.config["AREAS_DIR"]) / NAME / "build" / "area.gpkg"
    target.parent.mkdir()
    shutil.copy(build, target)  # stands in for `geoapp build` of the new area (tested with the build itself)


def _counts(path) -> dict[str, int]:
    return {
        n: pyogrio.read_info(path, layer=n)["features"]
        for n, g in pyogrio.list_layers(path)
        if g is not None and n != "layer_styles"
    }


def test_cli_add_list_and_per_area_urls(areas_app, second, built_area):
    folder, build = second
    _add_by_cli(areas_app, folder, build)
    listing = CliRunner().invoke(main, ["areas", "list", "--areas-dir", areas_app.config["AREAS_DIR"]])
    assert listing.exit_code == 0, listing.output
    names = [line.split("\t")[0] for line in listing.output.splitlines()]
    assert names == ["jakarta", NAME]
    assert listing.output.splitlines()[1].split("\t")[1] == "built"

    c = areas_app.test_client()
    doc = c.get("/api/areas").get_json()
    assert [a["name"] for a in doc["areas"]] == ["jakarta", NAME]
    assert doc["areas"][1]["title"] == TITLE
    assert doc["areas"][1]["built"] is True
    assert doc["areas"][1]["links"]["ogcapi"].endswith(f"/a/{NAME}/ogcapi")

    # Each area's layers, counted independently in its GeoPackage; the unprefixed URLs are the default area.
    for prefix, path in (("", built_area), ("/a/jakarta", built_area), (f"/a/{NAME}", build)):
        by = {layer["name"]: layer for layer in c.get(f"{prefix}/api/layers").get_json()["layers"]}
        expected = _counts(path)
        for name in ("buildings", "facilities", "exposure_buildings", "precarity_cells"):  # public layers
            assert by[name]["features"] == expected[name], (prefix, name)
        assert by["buildings"]["downloads"]["gpkg"].startswith(f"http://localhost{prefix}/api/layers/buildings")
        items = c.get(f"{prefix}/ogcapi/collections/buildings/items", query_string={"limit": 1}).get_json()
        assert items["numberMatched"] == expected["buildings"]
        assert items["links"][0]["href"].startswith(f"http://localhost{prefix}/ogcapi/collections/buildings/items")
    assert _counts(build)["buildings"] < _counts(built_area)["buildings"]

    # Titles and file names name the area.
    coll = c.get(f"/a/{NAME}/ogcapi/collections/buildings").get_json()
    assert coll["title"] == f"{TITLE} — Buildings"
    assert c.get("/ogcapi/collections/buildings").get_json()["title"] == "Jakarta, Indonesia — Buildings"
    resp = c.get(f"/a/{NAME}/api/layers/buildings", query_string={"f": "gpkg"})
    assert resp.status_code == 200
    assert f"filename={NAME}-buildings.gpkg" in resp.headers["Content-Disposition"]
    out = folder.parent / "download.gpkg"
    out.write_bytes(resp.data)
    assert pyogrio.read_info(out, layer="buildings")["features"] == _counts(build)["buildings"]
    multi = c.get(f"/a/{NAME}/api/exports", query_string={"layers": "buildings,facilities", "f": "gpkg"})
    assert f"filename={NAME}-layers.gpkg" in multi.headers["Content-Disposition"]

    # Pages: the map and dashboard of the area, with links that stay in it.
    page = c.get(f"/a/{NAME}/").get_data(as_text=True)
    assert f"<title>{TITLE}" in page
    assert f'href="/a/{NAME}/dashboard"' in page
    config = json.loads(re.search(r'id="map-config">(.*?)</script>', page, re.S).group(1))
    assert config["urls"]["tiles"].startswith(f"/a/{NAME}/map/tiles/")
    dash = c.get(f"/a/{NAME}/dashboard")
    assert dash.status_code == 200
    assert TITLE in dash.get_data(as_text=True)
    csv = c.get(f"/a/{NAME}/dashboard/neighbourhoods.csv", query_string={"boundary": "rw", "scenario": "current"})
    assert f"{NAME}-rw-current-ranking.csv" in csv.headers["Content-Disposition"]
    rows = csv.get_data(as_text=True).strip().splitlines()
    assert len(rows) - 1 == len(pyogrio.read_dataframe(build, layer="boundaries_rw", read_geometry=False))

    # An unknown area is a 404 naming the areas there are, for pages and APIs alike.
    for url in ("/a/nowhere/api/layers", "/a/nowhere/", "/a/NOPE/ogcapi", "/a/../api/layers"):
        resp = c.get(url)
        assert resp.status_code == 404, url
        if resp.is_json:
            assert "areas are jakarta, menteng" in resp.get_json()["error"]["message"]


def test_cli_add_errors(areas_app, second, tmp_path):
    folder, _ = second
    dirs = ["--areas-dir", areas_app.config["AREAS_DIR"]]
    assert CliRunner().invoke(main, ["areas", "add", str(folder), *dirs]).exit_code == 0
    again = CliRunner().invoke(main, ["areas", "add", str(folder), *dirs])
    assert again.exit_code == 1
    assert "error: an area named 'menteng' already exists" in again.output
    bad_name = CliRunner().invoke(main, ["areas", "add", str(folder), "--name", "Bad Name!", *dirs])
    assert bad_name.exit_code == 1
    assert "lower-case letters" in bad_name.output
    empty = tmp_path / "empty"
    empty.mkdir()
    none = CliRunner().invoke(main, ["areas", "add", str(empty), *dirs])
    assert none.exit_code == 1
    assert "no area.toml" in none.output
    assert "Traceback" not in none.output


def _zip_bytes(files: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _post(client, data: bytes, token: str | None, name: str | None = None):
    form: dict = {"file": (io.BytesIO(data), "area.zip")}
    if name:
        form["name"] = name
    return client.post(
        "/api/areas", data=form, headers=bearer(token) if token else {}, content_type="multipart/form-data"
    )


def test_add_by_http(areas_app, second, tmp_path, make_user):
    folder, _ = second
    c = areas_app.test_client()
    _, admin = make_user(areas_app, "admin")
    _, planner = make_user(areas_app, "planner")
    good = zip_folder(folder, tmp_path / "good.zip").read_bytes()

    assert _post(c, good, None).status_code == 401
    assert _post(c, good, planner).status_code == 403
    resp = _post(c, good, admin, name="kebon-kacang")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["name"] == "kebon-kacang"
    assert body["title"] == TITLE
    assert body["built"] is False
    assert "geoapp build" in body["hint"]
    assert "job" not in body
    assert [a["name"] for a in c.get("/api/areas").get_json()["areas"]] == ["jakarta", "kebon-kacang"]
    # Not built yet: its layers list is empty, its pages still answer.
    assert [n["name"] for n in c.get("/a/kebon-kacang/api/layers").get_json()["layers"]] == ["field_reports"]
    # The files at the zip's top level work too.
    top = zip_folder(folder, tmp_path / "top.zip", inside=None).read_bytes()
    assert _post(c, top, admin, name="top-level").status_code == 201

    toml = (folder / "area.toml").read_text()
    data = {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file() and f.name != "area.toml"}
    cases = {
        "not a zip": (b"this is not a zip", 400, "not a zip file"),
        "no area.toml": (_zip_bytes({"x/readme.txt": "hi"}), 400, "must hold one area.toml"),
        "two area.toml": (_zip_bytes({"area.toml": toml, "b/area.toml": toml}), 400, "must hold one area.toml"),
        "zip slip": (_zip_bytes({"../evil.txt": "x", "area.toml": toml}), 400, "outside the area folder"),
        "bad toml": (_zip_bytes({"area.toml": "[area\nname="}), 400, "not valid TOML"),
        "unknown section": (_zip_bytes({"area.toml": toml + "\n[nonsense]\nx = 1\n", **data}), 400, "unknown section"),
        "bad access level": (
            _zip_bytes({"area.toml": toml.replace('shelters = "private"', 'shelters = "secret"'), **data}),
            400,
            "key 'access.shelters'",
        ),
        "missing file": (_zip_bytes({"area.toml": toml}), 400, "does not exist"),
        "file outside": (
            _zip_bytes(
                {
                    "area.toml": toml.replace('buildings = "buildings.gpkg"', f'buildings = "{folder}/buildings.gpkg"'),
                    **data,
                }
            ),
            400,
            "outside the area folder",
        ),
        "name taken": (good, 409, "already exists"),
    }
    for what, (data, status, message) in cases.items():
        resp = _post(c, data, admin, name="kebon-kacang" if what == "name taken" else f"case-{len(what)}")
        assert resp.status_code == status, (what, resp.get_json())
        text = resp.get_json()["error"]["message"]
        assert message in text, (what, text)
        assert str(areas_app.config["AREAS_DIR"]) not in text, (what, text)  # no server paths
    assert _post(c, good, admin, name="Bad Name").status_code == 400
    no_file = c.post("/api/areas", data={}, headers=bearer(admin))
    assert no_file.status_code == 400
    assert "'file'" in no_file.get_json()["error"]["message"]
    # Nothing half-made is left behind, and failed uploads added no area.
    left = sorted(p.name for p in Path(areas_app.config["AREAS_DIR"]).iterdir())
    assert left == ["kebon-kacang", "top-level"]


def test_add_by_http_with_build_queues_its_build(areas_app, second, tmp_path, make_user):
    """build=1 queues the new area's build (as `geoapp areas add --build`): the job finishes and the area's
    layers are served under its URL, with as many buildings as its own input file holds."""
    import time

    from geoapp import jobs

    folder, _ = second
    c = areas_app.test_client()
    _, admin = make_user(areas_app, "admin")
    resp = c.post(
        "/api/areas",
        data={"file": (io.BytesIO(zip_folder(folder, tmp_path / "b.zip").read_bytes()), "b.zip"), "name": "built-now"}
        | {"build": "1"},
        headers=bearer(admin),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 201, resp.get_json()
    job = resp.get_json()["job"]["id"]
    with areas_app.app_context():
        deadline = time.monotonic() + 300
        while (state := jobs.get(job)).status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
    assert state.status == "finished", state.error
    layers = {n["name"] for n in c.get("/a/built-now/api/layers").get_json()["layers"]}
    assert "exposure_buildings" in layers
    raw = pyogrio.read_info(folder / "buildings.gpkg")["features"]
    items = c.get("/a/built-now/ogcapi/collections/buildings/items?limit=10000").get_json()
    assert items["numberMatched"] == raw
