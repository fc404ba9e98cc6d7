"""The risk map page, its GeoJSON tiles, popups, hazard overlays and the standalone download."""

import io
import json
import math
import re
import uuid

import geopandas as gpd
from PIL import Image
from shapely.geometry import box

from geoapp import create_app
from tests.helpers import bearer


def _config(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html, re.S).group(1))


def _tile_of(lon, lat, z):
    n = 2**z
    return z, int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def test_map_page_lists_layers_scenarios_and_legend(client):
    resp = client.get("/")
    assert resp.status_code == 200
    html = resp.data.decode()
    cfg = _config(html)
    names = [layer["name"] for layer in cfg["layers"]]
    assert {"buildings", "facilities", "boundaries_rw", "boundaries_kelurahan", "roads"} <= set(names)
    assert [s["id"] for s in cfg["scenarios"]] == ["current", "design"]
    assert cfg["scenarios"][1]["overlay"] == "/map/hazard/design.png"
    assert [e["label"] for e in cfg["scenarios"][0]["legend"]] == ["0.1–0.7 m", "0.7–1.5 m", "≥ 1.5 m"]
    assert cfg["urls"]["tiles"] == "/map/tiles/{layer}/{z}/{x}/{y}.json"
    assert "Jakarta, Indonesia" in html
    assert 'href="/dashboard"' in html
    assert "leaflet.js" in html
    assert len(resp.data) < 100_000  # the layers come as tiles, never inside the page


def test_map_page_speaks_the_chosen_language(client):
    html = client.get("/?lang=fr").data.decode()
    assert '<html lang="fr">' in html
    assert "Bâtiments et routes inondés" in html
    assert _config(html)["strings"]["layer_buildings"] == "Bâtiments"
    assert '<html lang="fr">' in client.get("/").data.decode()  # remembered in the session
    for lang, word in (("sw", "Majengo"), ("id", "Bangunan")):
        assert _config(client.get(f"/?lang={lang}").data.decode())["strings"]["layer_buildings"] == word


def test_building_tiles_and_popups(client):
    resp = client.get("/map/tiles/buildings/{}/{}/{}.json".format(*_tile_of(106.82, -6.19, 13)))
    assert resp.status_code == 200
    assert resp.mimetype == "application/geo+json"
    fc = resp.get_json()
    assert fc["type"] == "FeatureCollection"
    assert not fc["clustered"]
    assert fc["features"]
    first = fc["features"][0]
    assert set(first["properties"]) == {"building_type"}  # no exposure yet: style columns absent
    row = client.get(f"/map/feature/buildings/{first['id']}").get_json()
    assert row["building_id"] == first["id"]
    assert row["building_type"] == first["properties"]["building_type"]
    z, x, y = _tile_of(106.82, -6.19, 8)  # Jakarta straddles two zoom-8 tiles
    city = [client.get(f"/map/tiles/buildings/{z}/{x + dx}/{y}.json").get_json() for dx in (0, 1)]
    assert all(t["clustered"] for t in city)
    assert sum(f["properties"]["cluster_count"] for t in city for f in t["features"]) == 7689


def test_bad_requests_are_json_errors(client):
    assert client.get("/map/tiles/buildings/3/9/0.json").status_code == 400
    resp = client.get("/map/tiles/nothing/3/1/1.json")
    assert resp.status_code == 404
    assert "no map layer 'nothing'" in resp.get_json()["error"]["message"]
    assert client.get("/map/tiles/buildings/3/1/1.json?scenario=mars").status_code == 404
    assert client.get("/map/feature/buildings/999999999").status_code == 404
    assert client.get("/map/hazard/mars.png").status_code == 404


def test_hazard_overlay_png(client):
    resp = client.get("/map/hazard/current.png")
    assert resp.status_code == 200
    assert resp.mimetype == "image/png"
    image = Image.open(io.BytesIO(resp.data))
    assert image.size[0] > 500
    assert image.mode == "P"
    assert client.get("/map/hazard/design.png").data != resp.data


def test_standalone_download(client):
    resp = client.get("/map/standalone.html")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    assert 'filename="jakarta-map.html"' in resp.headers["Content-Disposition"]
    assert b'id="map-config"' in resp.data
    assert b"data:image/png;base64," in resp.data


def test_built_exposure_layers_replace_the_inputs_per_scenario(tmp_path):
    built = tmp_path / "area.gpkg"
    geom = [box(106.82, -6.19, 106.8202, -6.1898)]
    gpd.GeoDataFrame(
        {"building_id": [1, 1], "hazard_class": ["high", "low"], "scenario": ["current", "design"]},
        geometry=geom * 2,
        crs=4326,
    ).to_file(built, layer="exposure_buildings")
    gpd.GeoDataFrame({"area_id": [3], "name": ["KEBON BAWANG RW 01"]}, geometry=geom, crs=4326).to_file(
        built, layer="boundaries_rw"
    )
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}", "BUILD": str(built)}
    )
    client = app.test_client()
    cfg = _config(client.get("/").data.decode())
    assert {layer["name"]: layer["source"] for layer in cfg["layers"]}["buildings"] == "exposure_buildings"
    tile = "/map/tiles/buildings/{}/{}/{}.json".format(*_tile_of(106.8201, -6.1899, 14))
    assert client.get(tile + "?scenario=current").get_json()["features"][0]["properties"]["hazard_class"] == "high"
    assert client.get(tile + "?scenario=design").get_json()["features"][0]["properties"]["hazard_class"] == "low"


def test_published_reports_are_a_layer_with_public_fields_only(app, client, make_user):
    _, volunteer = make_user(app, "volunteer")
    _, moderator = make_user(app, "moderator")
    rid = str(uuid.uuid4())
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [106.8201, -6.1899]},
        "properties": {
            "id": rid,
            "category": "flooding_observed",
            "description": "<img src=x onerror=alert(1)>",
            "reporter_name": "Siti",
            "reporter_contact": "+62 811",
        },
    }
    assert client.post("/api/reports", json=feature, headers=bearer(volunteer)).status_code in (200, 201, 202)
    assert (
        client.post(f"/api/reports/{rid}/review", json={"status": "published"}, headers=bearer(moderator)).status_code
        == 200
    )
    assert "reports" in [layer["name"] for layer in _config(client.get("/").data.decode())["layers"]]
    fc = client.get("/map/tiles/reports/{}/{}/{}.json".format(*_tile_of(106.8201, -6.1899, 12))).get_json()
    assert [f["id"] for f in fc["features"]] == [rid]
    row = client.get(f"/map/feature/reports/{rid}").get_json()
    assert row["description"] == "<img src=x onerror=alert(1)>"  # data as text; the page inserts it with textContent
    assert "reporter_name" not in row
    assert "reporter_contact" not in row


def test_map_assets_are_served_from_the_layers_package(client):
    """The map's files ship in layers/publish/assets; pages still find them under /static/map/."""
    from layers.publish.standalone import ASSETS

    for name in ("map.js", "map.css", "site.css", "vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css"):
        resp = client.get(f"/static/map/{name}")
        assert resp.status_code == 200, name
        assert resp.data == (ASSETS / name).read_bytes()
        resp.close()
    assert client.get("/static/map/nothing.js").status_code == 404
    assert client.get("/static/dashboard/dashboard.js").status_code == 200
    assert client.get("/static/report_form.js").status_code == 200  # geoapp's own files still come from geoapp
    html = client.get("/").data.decode()
    assert 'src="/static/map/map.js"' in html
    assert 'href="/static/map/site.css"' in html


def test_page_strings_merge_the_maps_own(client):
    """Layer and column names come from the map's strings, page labels from geoapp's, in every language."""
    from geoapp.i18n import LANGUAGES, strings
    from layers.publish.standalone import map_strings

    for lang in LANGUAGES:
        merged = strings(lang)
        assert set(map_strings("en")) | set(strings("en")) == set(merged)
        assert merged["layer_buildings"] == map_strings(lang)["layer_buildings"]
    assert strings("sw")["layer_buildings"] == "Majengo"
    assert strings("id")["dash_title"] != strings("en")["dash_title"]
