"""Scenarios from the web: upload over HTTP, a build job, then the scenario on the map, dashboard, OGC API, exports.

The area is a corner of the Jakarta sample with its rasters cropped (a build takes seconds); jobs run
in-process in the request's thread (``JOBS_SYNC``). The uploaded flood is 0.5 m west of a line and 2 m
east of it, so which buildings are high (the oracle) is a geometric question answered with shapely here.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds
from rasterio.windows import from_bounds

from tests.helpers import SAMPLE_AREA, UTM, bearer, write_raster
from tests.robustness.badfiles import BBOX, corner, write_area

pytestmark = pytest.mark.slow
CELL = 50.0


def crop(src_path: Path, out: Path, bbox=BBOX) -> None:
    with rasterio.open(src_path) as src:
        window = from_bounds(*transform_bounds("EPSG:4326", src.crs, *bbox), transform=src.transform)
        window = window.round_offsets().round_lengths()
        data = src.read(1, window=window)
        profile = src.profile | {"width": data.shape[1], "height": data.shape[0]}
        profile["transform"] = src.window_transform(window)
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(data, 1)


def small_area(folder: Path) -> Path:
    write_area(folder)
    for name in ("flood_current.tif", "population.tif"):
        crop(SAMPLE_AREA / name, folder / name)
    return folder


def area_bounds_utm() -> tuple[float, float, float, float]:
    return transform_bounds("EPSG:4326", UTM, *BBOX)


def split_flood(path: Path) -> tuple[Path, float]:
    """0.5 m (low) west of ``split``, 2 m (high) east of it, 1 km beyond the area; returns (path, split x)."""
    minx, miny, maxx, maxy = area_bounds_utm()
    x0, y0 = np.floor(minx / CELL) * CELL - 1000, np.ceil(maxy / CELL) * CELL + 1000
    cols, rows = int((maxx - x0 + 1000) // CELL) + 1, int((y0 - miny + 1000) // CELL) + 1
    values = np.full((rows, cols), 0.5, dtype=np.float32)
    buildings = corner("buildings").to_crs(UTM)
    middle = float(np.median(shapely.get_x(shapely.centroid(buildings.geometry.to_numpy()))))  # half of them east
    half = int((middle - x0) // CELL)
    values[:, half:] = 2.0
    write_raster(path, values, transform=from_origin(x0, y0, CELL, CELL))
    return path, x0 + half * CELL


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory) -> Path:
    """The cropped corner, not built: the upload's build job builds its scenarios, area.toml's too."""
    return small_area(tmp_path_factory.mktemp("scen") / "area")


def make_app(folder: Path, tmp: Path):
    from geoapp import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "scen",
            "AREA": str(folder),
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}",
            "ANON_RATE_LIMIT": "100000/hour",
            "EXPORT_DIR": str(tmp / "exports"),
            "JOBS_SYNC": True,
        }
    )


def upload(client, token, path: Path | None, *, name=None, **form):
    data = dict(form)
    if path is not None:
        data["file"] = (io.BytesIO(path.read_bytes()), name or path.name)
    return client.post("/api/scenarios", data=data, headers=bearer(token), content_type="multipart/form-data")


class Live:
    """An app on a copy of the corner after one scenario was uploaded and the area built."""

    def __init__(self, app, client, token, folder, scenario, split_x, answer):
        self.app, self.client, self.token, self.folder = app, client, token, folder
        self.scenario, self.split_x, self.answer = scenario, split_x, answer

    def expected_classes(self) -> dict[str, int]:
        """The oracle: a building sharing area with the east half is high, every other one low."""
        buildings = pyogrio.read_dataframe(self.folder / "buildings.gpkg").to_crs(UTM)
        east = shapely.box(self.split_x, -1e7, 1e7, 1e8)
        high = int((shapely.area(shapely.intersection(buildings.geometry.to_numpy(), east)) > 0).sum())
        return {"high": high, "low": len(buildings) - high}


@pytest.fixture(scope="module")
def live(small_dir, tmp_path_factory, make_user_module) -> Live:
    tmp = tmp_path_factory.mktemp("live")
    folder = tmp / "area"
    shutil.copytree(small_dir, folder)
    app = make_app(folder, tmp)
    _, token = make_user_module(app, "planner")
    flood, split_x = split_flood(tmp / "flood_today.tif")
    client = app.test_client()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resp = upload(client, token, flood, title="Flood today", classes="low:0.1-0.7,medium:0.7-1.5,high:1.5-")
    assert resp.status_code == 202, resp.get_json()
    return Live(app, client, token, folder, resp.get_json()["id"], split_x, resp.get_json())


@pytest.fixture(scope="module")
def make_user_module():
    import uuid

    from sqlalchemy.orm import Session

    from geoapp.auth import create_user

    def make(app, role="volunteer", password=None):
        with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
            user, token = create_user(s, f"{role}-{uuid.uuid4().hex[:6]}", role, password=password)
            return user.id, token

    return make


# -- the upload and its build --------------------------------------------------------------------


def test_upload_answers_with_the_checks_and_the_job(live):
    body = live.answer
    assert body["title"] == "Flood today"
    assert body["source"] == "web"
    assert body["checks"]["type"] == "raster"
    assert body["checks"]["crs"] == UTM
    assert body["checks"]["value_range"] == [0.5, 2.0]
    assert body["checks"]["area_covered_share"] == pytest.approx(1.0)
    # every cell is low or high: the counts are the raster's own
    with rasterio.open(live.folder / "scenarios" / f"{live.scenario}.tif") as src:
        cells = src.read(1)
    assert body["checks"]["per_class"] == {
        "low": int((cells == 0.5).sum()),
        "medium": 0,
        "high": int((cells == 2.0).sum()),
    }
    assert "job" in body
    # the file and the list are in the area folder, where workers on other machines see them
    listed = (live.folder / "scenarios.toml").read_text()
    assert f'id = "{live.scenario}"' in listed
    assert 'title = "Flood today"' in listed


def test_status_is_ready_after_the_build(live):
    got = live.client.get(f"/api/scenarios/{live.scenario}", headers=bearer(live.token)).get_json()
    assert got["status"] == "ready", got
    assert got["job"]["status"] == "finished"
    listing = live.client.get("/api/scenarios", headers=bearer(live.token)).get_json()["scenarios"]
    assert {s["id"]: s["status"] for s in listing} == {"current": "ready", live.scenario: "ready"}


def test_ogc_api_has_the_scenario_features(live):
    url = f"/ogcapi/collections/exposure_buildings/items?scenario={live.scenario}&limit=10000"
    got = live.client.get(url).get_json()
    classes = [f["properties"]["hazard_class"] for f in got["features"]]
    expected = live.expected_classes()
    assert got["numberMatched"] == sum(expected.values())
    assert {c: classes.count(c) for c in set(classes)} == expected
    collections = {c["id"] for c in live.client.get("/ogcapi/collections").get_json()["collections"]}
    assert "exposure_buildings" in collections


def test_dashboard_shows_the_scenario(live):
    html = live.client.get("/dashboard").get_data(as_text=True)
    heads = re.findall(r'<th scope="col" data-scenario="([^"]+)">([^<]+)</th>', html)
    assert (live.scenario, "Flood today") in heads
    col = [sid for sid, _ in heads].index(live.scenario)
    expected = live.expected_classes()
    for cls in ("high", "low"):
        row = re.search(
            rf'<tr class="sub"><th scope="row">[^<]*</th>((?:<td data-key="buildings.by_class.{cls}">'
            r"[^<]*</td>)+)</tr>",
            html,
        )
        assert row, cls
        cells = re.findall(r">([^<]*)</td>", row.group(1))
        assert int(re.sub(r"\D", "", cells[col]) or 0) == expected[cls]


def test_map_config_has_the_scenario_and_the_upload_link(live):
    html = live.client.get("/", headers=bearer(live.token)).get_data(as_text=True)
    config = json.loads(re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html, re.S)[1])
    scenarios = {s["id"]: s["title"] for s in config["scenarios"]}
    assert scenarios == {"current": "current", live.scenario: "Flood today"}
    assert config["urls"]["add_scenario"].endswith("/scenarios/new")
    anon = live.client.get("/").get_data(as_text=True)
    anon_config = json.loads(re.search(r'id="map-config">(.*?)</script>', anon, re.S)[1])
    assert "add_scenario" not in anon_config["urls"]
    png = live.client.get(f"/map/hazard/{live.scenario}.png")
    assert png.status_code == 200
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_has_the_scenario(live):
    resp = live.client.get("/api/layers/exposure_buildings?f=geojson")
    assert resp.status_code == 200
    feats = json.loads(resp.get_data())["features"]
    ours = [f for f in feats if f["properties"]["scenario"] == live.scenario]
    assert len(ours) == sum(live.expected_classes().values())


def test_rename_then_retire(live):
    c, h = live.client, bearer(live.token)
    bad = c.patch(f"/api/scenarios/{live.scenario}", json={"title": "  "}, headers=h)
    assert bad.status_code == 400
    assert "title" in bad.get_json()["error"]["message"]
    got = c.patch(f"/api/scenarios/{live.scenario}", json={"title": "Flood of 5 December"}, headers=h)
    assert got.status_code == 200
    assert got.get_json()["title"] == "Flood of 5 December"
    assert "Flood of 5 December" in c.get("/dashboard").get_data(as_text=True)
    assert "Flood of 5 December" in c.get("/").get_data(as_text=True)
    conflict = c.patch("/api/scenarios/current", json={"title": "x"}, headers=h)
    assert conflict.status_code == 409
    assert "area.toml" in conflict.get_json()["error"]["message"]
    assert c.patch("/api/scenarios/nope", json={"title": "x"}, headers=h).status_code == 404

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gone = c.delete(f"/api/scenarios/{live.scenario}", headers=h)  # retires and rebuilds (in this thread)
    assert gone.status_code == 200
    assert gone.get_json()["status"] == "retired"
    assert live.scenario not in c.get("/dashboard").get_data(as_text=True)
    assert live.scenario not in c.get("/").get_data(as_text=True)
    items = c.get(f"/ogcapi/collections/exposure_buildings/items?scenario={live.scenario}").get_json()
    assert items["numberMatched"] == 0
    feats = json.loads(c.get("/api/layers/exposure_buildings?f=geojson").get_data())["features"]
    assert {f["properties"]["scenario"] for f in feats} == {"current"}
    assert (live.folder / "scenarios" / f"{live.scenario}.tif").exists()  # the file is kept
    assert 'status = "retired"' in (live.folder / "scenarios.toml").read_text()


def test_a_scenario_still_building_is_not_shown_yet(live, tmp_path):
    """Listed but not built (its job still queued): no empty column on the dashboard, not in the map's switch."""
    from layers.area import load_area
    from layers.hazard import upload as core

    flood, _ = split_flood(tmp_path / "later.tif")
    entry, _ = core.add_scenario(load_area(live.folder), flood, filename="later.tif", title="Later flood")
    got = live.client.get(f"/api/scenarios/{entry['id']}", headers=bearer(live.token)).get_json()
    assert got["status"] == "queued"
    assert entry["id"] not in live.client.get("/dashboard").get_data(as_text=True)
    assert "Later flood" not in live.client.get("/").get_data(as_text=True)
    assert "current" in live.client.get("/dashboard").get_data(as_text=True)


# -- validation: each problem is a 4xx naming the field ---------------------------------------------


@pytest.fixture
def fresh(small_dir, tmp_path, make_user_module):
    """An app on a copy of the corner (not built); a planner token."""
    folder = tmp_path / "area"
    shutil.copytree(small_dir, folder)
    app = make_app(folder, tmp_path)
    app.config["SCENARIO_MAX_PIXELS"] = 1_000_000
    _, token = make_user_module(app, "planner")
    return app, app.test_client(), token, folder


def _err(resp):
    return resp.status_code, resp.get_json()["error"]["message"]


def test_validation_failures(fresh, tmp_path):
    app, c, token, folder = fresh
    good, _ = split_flood(tmp_path / "good.tif")
    minx, miny, maxx, maxy = area_bounds_utm()

    status, msg = _err(upload(c, token, None, title="x"))
    assert status == 400
    assert msg.startswith("file:")
    status, msg = _err(upload(c, token, good, title="   "))
    assert status == 400
    assert msg.startswith("title:")

    no_crs = write_raster(
        tmp_path / "nocrs.tif", np.ones((20, 20)), crs=None, transform=from_origin(minx, maxy, CELL, CELL)
    )
    status, msg = _err(upload(c, token, no_crs, title="x"))
    assert status == 400
    assert msg.startswith("file:")
    assert "gdal_edit" in msg

    far = write_raster(tmp_path / "far.tif", np.ones((20, 20)), transform=from_origin(minx + 200_000, maxy, CELL, CELL))
    status, msg = _err(upload(c, token, far, title="x"))
    assert status == 422
    assert "does not overlap" in msg
    assert "km east" in msg

    status, msg = _err(upload(c, token, good, title="x", classes="low:0.1-0.7,high:0.5-"))
    assert status == 400
    assert msg.startswith("classes:")
    assert "overlap" in msg
    status, msg = _err(upload(c, token, good, title="x", classes="deep:5-10"))
    assert status == 400
    assert msg.startswith("classes:")
    assert "0.5 to 2" in msg

    big = write_raster(tmp_path / "big.tif", np.ones((1100, 1000)), transform=from_origin(minx, maxy, 5, 5))
    status, msg = _err(upload(c, token, big, title="x"))
    assert status == 413
    assert "1,100,000 cells" in msg
    app.config["SCENARIO_MAX_BYTES"] = 1000
    status, msg = _err(upload(c, token, good, title="x"))
    assert status == 413
    assert msg.startswith("file:")
    assert "MB" in msg
    app.config["SCENARIO_MAX_BYTES"] = 10**9
    app.config["MAX_CONTENT_LENGTH"] = 2000  # the whole request: refused while it is read
    status, msg = _err(upload(c, token, good, title="x"))
    assert status == 413
    assert msg.startswith("file:")
    assert "MAX_CONTENT_LENGTH" in msg
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024

    text = tmp_path / "notes.csv"
    text.write_text("a,b\n1,2\n")
    status, msg = _err(upload(c, token, text, title="x"))
    assert status == 400
    assert msg.startswith("file:")
    assert "GeoTIFF" in msg
    status, msg = _err(upload(c, token, text, title="x", name="renamed.tif"))
    assert status == 400
    assert msg.startswith("file:")
    assert "GDAL" in msg

    # nothing was stored or listed, and no build was queued
    assert not (folder / "scenarios.toml").exists()
    assert not [p for p in (folder / "scenarios").iterdir() if not p.name.startswith(".")]


def test_zone_polygons_need_their_field(fresh, tmp_path):
    import geopandas as gpd

    app, c, token, folder = fresh
    minx, miny, maxx, maxy = area_bounds_utm()
    zones = gpd.GeoDataFrame(
        {"FLOODPRONE": ["yes", "no"]},
        geometry=[shapely.box(minx, miny, (minx + maxx) / 2, maxy), shapely.box((minx + maxx) / 2, miny, maxx, maxy)],
        crs=UTM,
    ).to_crs("EPSG:4326")
    path = tmp_path / "zones.geojson"
    zones.to_file(path, driver="GeoJSON")
    status, msg = _err(upload(c, token, path, title="Zones", classes="wet:yes"))
    assert status == 400
    assert msg.startswith("field:")
    assert "FLOODPRONE" in msg
    status, msg = _err(upload(c, token, path, title="Zones", classes="wet:yes", field="DEPTH"))
    assert status == 400
    assert msg.startswith("field:")
    assert "FLOODPRONE" in msg
    status, msg = _err(upload(c, token, path, title="Zones", classes="wet:flooded", field="FLOODPRONE"))
    assert status == 400
    assert msg.startswith("classes:")
    assert "'yes'" in msg


@pytest.mark.parametrize("role", [None, "volunteer", "moderator"])
def test_only_planners_and_admins(fresh, tmp_path, make_user_module, role):
    app, c, _token, folder = fresh
    good, _ = split_flood(tmp_path / "good.tif")
    token = make_user_module(app, role)[1] if role else None
    headers = bearer(token) if token else {}
    data = {"title": "x", "file": (io.BytesIO(good.read_bytes()), "good.tif")}
    expected = 403 if role else 401
    assert c.post("/api/scenarios", data=data, headers=headers).status_code == expected
    assert c.get("/api/scenarios", headers=headers).status_code == expected
    assert c.patch("/api/scenarios/current", json={"title": "y"}, headers=headers).status_code == expected
    assert c.delete("/api/scenarios/current", headers=headers).status_code == expected
    assert not (folder / "scenarios.toml").exists()


def test_upload_page_for_planners_with_csrf(fresh, make_user_module):
    app, c, _token, _folder = fresh
    make_user_module(app, "planner", password="pw-planner-1")
    anon = c.get("/scenarios/new")
    assert anon.status_code == 302
    assert "/login" in anon.headers["Location"]
    # log in through the form (CSRF on, as in production)
    login_page = c.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login_page)[1]
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from geoapp.models import User

    with app.app_context(), Session(app.extensions["geoapp.db"]) as s:
        name = s.scalar(select(User.name).where(User.role == "planner", User.password_hash.is_not(None)))
    assert c.post("/login", data={"name": name, "password": "pw-planner-1", "csrf_token": csrf}).status_code == 302
    page = c.get("/scenarios/new").get_data(as_text=True)
    assert 'name="file"' in page
    assert "scenarios.js" in page
    assert '<option value="earthquake">' in page  # the hazard kinds to choose from
    assert '<option value="flood" selected>' in page
    # a session POST without the CSRF token is refused before anything is read
    no_csrf = c.post("/api/scenarios", data={"title": "x"}, content_type="multipart/form-data")
    assert no_csrf.status_code == 400
