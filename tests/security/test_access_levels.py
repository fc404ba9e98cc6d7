"""Layer access levels: every route, for every level (public, partner, private) and caller, on SQLite and PostGIS.

The second area (a crop of Jakarta) says ``roads = "partner"`` and
``shelters = "private"``; ``evacuation_buildings`` and ``unreachable`` hold
people per building and are partner by default. A layer the caller may not see
answers 404, as a layer that does not exist would; lists leave it out.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from layers.settings import PEOPLE_PER_BUILDING_LAYERS
from tests.area_helpers import NAME, crop_build, make_area_folder
from tests.helpers import bearer

A = f"/a/{NAME}"
# Built layers by level in the second area, and the map layers that show them.
BUILT = {
    "public": ["buildings", "exposure_buildings"],
    "partner": ["roads", "evacuation_buildings"],
    "private": ["shelters"],
}
MAP = {"public": ["buildings"], "partner": ["unreachable", "roads"], "private": ["shelters"]}
RANK = {"public": 0, "partner": 1, "private": 2}
CALLERS = {"anonymous": "public", "volunteer": "public", "partner": "partner", "planner": "partner",
           "moderator": "private", "admin": "private"}  # fmt: skip


@pytest.fixture(scope="module")
def second(tmp_path_factory, built_area):
    """The second area installed with its build in a folder of areas shared by this module's apps (read only):
    the same area.toml path, so the map's tile indexes are built once per process, not once per test."""
    root = tmp_path_factory.mktemp("access")
    folder = make_area_folder(root / "src")
    build = crop_build(built_area, root / "areas" / NAME / "build" / "area.gpkg")
    for f in folder.iterdir():
        shutil.copy(f, root / "areas" / NAME / f.name)
    return root / "areas", build


@pytest.fixture
def app(storage_app, second, built_area, tmp_path):
    areas, _ = second
    storage_app.config.update(BUILD=str(built_area), AREAS_DIR=str(areas), EXPORT_DIR=str(tmp_path / "exports"))
    storage_app.instance_path = str(tmp_path / "instance")  # standalone maps cached per test
    return storage_app


@pytest.fixture
def tokens(app, make_user):
    out: dict[str, str | None] = {"anonymous": None}
    for role in ("volunteer", "partner", "planner", "moderator", "admin"):
        out[role] = make_user(app, role)[1]
    return out


def _get(client, url, token, **params):
    return client.get(url, query_string=params, headers=bearer(token) if token else {})


def _tile_of(lon: float, lat: float, z: int = 16) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def _first_point(build: Path, layer: str) -> tuple[float, float]:
    frame = gpd.read_file(build, layer=layer, rows=1).to_crs(4326)
    p = frame.geometry.iloc[0].representative_point()
    return p.x, p.y


def _routes(app) -> list:
    return [r for r in app.url_map.iter_rules() if "GET" in r.methods and not r.endpoint.endswith("static")]


def _layer_urls(app, build: Path, layer: str, level: str) -> list[str]:
    """Every GET route that names a layer, filled with ``layer`` (a built layer) or its map layer."""
    fid = int(pyogrio.read_dataframe(build, layer=layer, fid_as_index=True, max_features=1).index[0])
    z, x, y = _tile_of(*_first_point(build, layer))
    fills = {"name": layer, "fid": str(fid), "tms": "WebMercatorQuad", "z": z, "row": y, "col": x}
    urls = []
    for rule in _routes(app):
        if "name" in rule.arguments:
            urls.append(rule.build({a: fills[a] for a in rule.arguments}, append_unknown=False)[1])
    assert len(urls) >= 5, urls  # OGC API collection, items, item, queryables; the download
    return urls


def _map_urls(app, build: Path, map_layer: str, source: str) -> tuple[str, str]:
    z, x, y = _tile_of(*_first_point(build, source))
    rules = {r.endpoint: r for r in _routes(app)}
    tile = rules["tiles.tile"].build({"layer": map_layer, "z": z, "x": x, "y": y})[1]
    popup = rules["tiles.feature"].build({"layer": map_layer, "feature_id": "FID"})[1]
    return tile, popup


# The route matrix asks as one caller per clearance (the listings test asks as every role).
MATRIX_CALLERS = {"anonymous": "public", "partner": "partner", "moderator": "private"}
MATRIX_LAYERS = {"public": ["buildings"], "partner": ["roads", "evacuation_buildings"], "private": ["shelters"]}
MAP_SOURCE = {"buildings": "exposure_buildings", "unreachable": "unreachable", "roads": "exposure_roads",
              "shelters": "shelters"}  # fmt: skip


@pytest.mark.slow
def test_every_layer_route_for_every_level_and_caller(app, tokens, second):
    _, build = second
    c = app.test_client()
    layer_routes = {r.rule for r in _routes(app) if {"name", "layer"} & set(r.arguments)}
    # Every route naming a layer is covered below (a new one must join this test).
    assert layer_routes == {
        "/ogcapi/collections/<name>",
        "/ogcapi/collections/<name>/queryables",
        "/ogcapi/collections/<name>/items",
        "/ogcapi/collections/<name>/items/<fid>",
        "/api/layers/<name>",
        "/map/tiles/<layer>/<int:z>/<int:x>/<int:y>.json",
        "/map/feature/<layer>/<feature_id>",
    } | {r for r in layer_routes if r.startswith(("/ogcapi/collections/<name>/tiles", "/map/mvt"))}
    for level, names in MATRIX_LAYERS.items():
        for layer in names:
            for url in _layer_urls(app, build, layer, level):
                for caller, clearance in MATRIX_CALLERS.items():
                    resp = _get(c, A + url, tokens[caller])
                    if RANK[level] <= RANK[clearance]:
                        assert resp.status_code == 200, (caller, url, resp.get_data(as_text=True)[:300])
                        if level != "public":
                            assert resp.headers["Cache-Control"] == "private, no-store", (caller, url)
                    else:
                        assert resp.status_code == 404, (caller, url, resp.status_code)
                        assert resp.get_json()["error"]["code"] == "not_found"
                        assert "private" not in resp.get_data(as_text=True)  # says nothing of why
    # Tiles and feature popups: the moderator sees every map layer; others only what their level allows.
    for level, names in MAP.items():
        for map_layer in names:
            tile, popup = _map_urls(app, build, map_layer, MAP_SOURCE[map_layer])
            seen = _get(c, A + tile, tokens["moderator"])
            assert seen.status_code == 200
            feats = seen.get_json()["features"]
            assert feats, (map_layer, tile)
            fid = str(feats[0].get("id", feats[0]["properties"].get("id", "0")))
            for caller, clearance in MATRIX_CALLERS.items():
                t = _get(c, A + tile, tokens[caller])
                p = _get(c, A + popup.replace("FID", fid), tokens[caller])
                if RANK[level] <= RANK[clearance]:
                    assert t.status_code == 200, (caller, tile)
                    assert t.get_json()["features"] == feats
                    assert p.status_code == 200, (caller, popup, fid, p.get_data(as_text=True)[:200])
                else:
                    assert (t.status_code, p.status_code) == (404, 404), (caller, map_layer)
                if caller == "anonymous" and level == "public":
                    assert "private" not in t.headers.get("Cache-Control", "")
                    assert t.headers["Cache-Control"].startswith("max-age")


def _listed(c, token) -> dict[str, set[str]]:
    """What each listing shows this caller: /api/layers, OGC collections and API paths, map page, dashboard."""
    out = {}
    out["api"] = {layer["name"] for layer in _get(c, f"{A}/api/layers", token).get_json()["layers"]}
    out["ogc"] = {col["id"] for col in _get(c, f"{A}/ogcapi/collections", token).get_json()["collections"]}
    paths = _get(c, f"{A}/ogcapi/api", token).get_json()["paths"]
    out["openapi"] = {p.split("/")[2] for p in paths if p.startswith("/collections/") and p.count("/") >= 2}
    page = _get(c, f"{A}/", token).get_data(as_text=True)
    config = json.loads(re.search(r'id="map-config">(.*?)</script>', page, re.S).group(1))
    out["map"] = {layer["name"] for layer in config["layers"]}
    dash = _get(c, f"{A}/dashboard", token).get_data(as_text=True)
    out["dashboard"] = set(re.findall(r'data-key="(evacuation|shelters)\.', dash))
    return out


def test_listings_map_page_dashboard_and_exports_by_caller(app, tokens, second):
    _, build = second
    c = app.test_client()
    built = {n for n, g in pyogrio.list_layers(build) if g is not None and n != "layer_styles"}
    for caller, clearance in CALLERS.items():
        seen = _listed(c, tokens[caller])
        hidden = {n for level, names in BUILT.items() if RANK[level] > RANK[clearance] for n in names}
        shown = {n for level, names in BUILT.items() if RANK[level] <= RANK[clearance] for n in names}
        for where in ("api", "ogc", "openapi"):
            assert not hidden & seen[where], (caller, where)
            assert shown <= seen[where], (caller, where)
        # Everything else in the build is public here: all of it is listed.
        assert seen["api"] - {"field_reports"} == {n for n in built if RANK[_level(n)] <= RANK[clearance]}
        hidden_map = {n for level, names in MAP.items() if RANK[level] > RANK[clearance] for n in names}
        assert not hidden_map & seen["map"], caller
        assert "buildings" in seen["map"]
        assert (
            seen["dashboard"]
            == {"public": set(), "partner": {"evacuation"}, "private": {"evacuation", "shelters"}}[clearance]
        ), caller


def _level(layer: str) -> str:
    for level, names in BUILT.items():
        if layer in names:
            return level
    return "partner" if layer in PEOPLE_PER_BUILDING_LAYERS else "public"


def test_standalone_map_holds_only_what_the_caller_may_see(app, tokens, second):
    _, build = second
    c = app.test_client()
    for caller in ("anonymous", "partner", "moderator"):
        resp = _get(c, f"{A}/map/standalone.html", tokens[caller])
        assert resp.status_code == 200
        assert f'filename="{NAME}-map.html"' in resp.headers["Content-Disposition"]
        config = json.loads(re.search(r'id="map-config">(.*?)</script>', resp.get_data(as_text=True), re.S).group(1))
        names = {layer["name"] for layer in config["layers"]} | set(config["inline"]["features"])
        clearance = CALLERS[caller]
        assert ("unreachable" in names) == (clearance != "public"), caller
        assert ("shelters" in names) == (clearance == "private"), caller
        assert "buildings" in names
        if clearance != "public":
            assert resp.headers["Cache-Control"] == "private, no-store"
        # The inlined shelters are the area's own, counted in its build.
        if "shelters" in names:
            inline = config["inline"]["features"]["shelters"]
            first = next(iter(inline.values()))
            shelters = pyogrio.read_dataframe(build, layer="shelters", read_geometry=False)
            first_scenario = shelters["scenario"].iloc[0]
            assert len(first["features"]) <= int((shelters["scenario"] == first_scenario).sum())


def test_export_jobs_and_default_area(app, tokens, second, built_area):
    _, build = second
    c = app.test_client()
    # Export jobs: a hidden layer is 404; a private one is the asker's only; the file is this area's.
    body = {"layers": ["shelters"], "f": "geojson"}
    anon = c.post(f"{A}/api/exports", json=body)
    assert anon.status_code == 404
    partner = c.post(f"{A}/api/exports", json=body, headers=bearer(tokens["partner"]))
    assert partner.status_code == 404
    job = c.post(f"{A}/api/exports", json=body, headers=bearer(tokens["moderator"]))
    assert job.status_code == 202
    job_id = job.get_json()["id"]
    assert _get(c, f"/api/exports/{job_id}", None).status_code == 403
    assert _get(c, f"/api/exports/{job_id}", tokens["admin"]).status_code == 403
    for _ in range(600):
        state = _get(c, f"/api/exports/{job_id}", tokens["moderator"]).get_json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert state["status"] == "done", state
    file = _get(c, f"/api/exports/{job_id}/file", tokens["moderator"])
    assert f"filename={NAME}-shelters.geojson" in file.headers["Content-Disposition"]
    assert len(json.loads(file.data)["features"]) == pyogrio.read_info(build, layer="shelters")["features"]
    assert _get(c, f"/api/exports/{job_id}/file", None).status_code == 403

    # The default area: layers with people per building are partner by default.
    with_people = {
        n
        for n, g in pyogrio.list_layers(built_area)
        if g is not None
        and {"building_id"} <= set(fields := pyogrio.read_info(built_area, layer=n)["fields"])
        and {"people", "population"} & set(fields)
    }
    assert with_people
    assert with_people <= set(PEOPLE_PER_BUILDING_LAYERS)
    anon_names = {layer["name"] for layer in c.get("/api/layers").get_json()["layers"]}
    partner_names = {layer["name"] for layer in _get(c, "/api/layers", tokens["partner"]).get_json()["layers"]}
    assert not with_people & anon_names
    assert with_people <= partner_names
    assert c.get("/ogcapi/collections/evacuation_buildings/items").status_code == 404
    assert _get(c, "/ogcapi/collections/evacuation_buildings/items", tokens["partner"]).status_code == 200


def test_every_get_route_answers_anonymous_without_hidden_layers(app, tokens, second):
    """Each GET route, anonymously, in the second area: no 500, and no hidden layer's name or data."""
    _, build = second
    c = app.test_client()
    fills = {"name": "buildings", "layer": "buildings", "fid": "1", "feature_id": "1", "scenario": "current",
             "z": 16, "x": 0, "y": 0}  # fmt: skip
    for rule in _routes(app):
        values = {a: fills.get(a, "x") for a in rule.arguments}
        url = A + rule.build(values, append_unknown=False)[1]
        resp = c.get(url)
        assert resp.status_code < 500, (url, resp.status_code)
        for hidden in (b"evacuation_buildings", b"capacity_source"):  # names only those layers have
            assert hidden not in resp.data, (url, hidden)
