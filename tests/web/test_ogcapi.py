"""OGC API – Features under /ogcapi: the test client for the rules, GDAL's own OAPIF client over a real server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from geoapp import create_app
from geoapp.ogcapi import core
from geoapp.ogcapi.info import build_layers
from layers.errors import InvalidInputError
from layers.publish.features import MAX_VERTICES
from tests.helpers import SAMPLE_AREA, bearer, live_server, require

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture(scope="module")
def ogc_app(built_area, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ogcapi")
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "BUILD": str(built_area),
            "DATABASE_URL": f"sqlite:///{tmp / 'reports.db'}",
            "ANON_RATE_LIMIT": "1000/hour",
        }
    )


@pytest.fixture(scope="module")
def ogc(ogc_app):
    return ogc_app.test_client()


@pytest.fixture(scope="module")
def rw(built_area) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(built_area, layer="boundaries_rw", fid_as_index=True)


def _get(client, url, status=200, **params):
    resp = client.get(url, query_string=params or None)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    return resp


def test_landing_conformance_api(ogc):
    doc = _get(ogc, "/ogcapi/").get_json()
    rels = {link["rel"]: link for link in doc["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    conf = _get(ogc, "/ogcapi/conformance").get_json()["conformsTo"]
    for cls in (
        "ogcapi-features-1/1.0/conf/core",
        "conf/geojson",
        "conf/html",
        "conf/oas30",
        "ogcapi-features-2/1.0/conf/crs",
    ):
        assert any(c.endswith(cls) for c in conf), cls
    api = _get(ogc, "/ogcapi/api")
    assert api.mimetype == "application/vnd.oai.openapi+json"
    spec = api.get_json()
    assert spec["openapi"].startswith("3.0")
    assert {"$ref": "#/components/parameters/limit"} in spec["paths"]["/collections/roads/items"]["get"]["parameters"]
    assert spec["components"]["parameters"]["limit"]["schema"]["maximum"] == 10000


def test_collections_have_title_extent_item_type_and_crs(ogc, built_area):
    doc = _get(ogc, "/ogcapi/collections").get_json()
    by_id = {c["id"]: c for c in doc["collections"]}
    assert {"buildings", "roads", "facilities", "boundaries_rw", "boundaries_kelurahan", "field_reports"} <= set(by_id)
    rw = by_id["boundaries_rw"]
    assert rw["title"] == "Jakarta, Indonesia — RW neighbourhoods"  # titles name the area
    assert rw["itemType"] == "feature"
    assert rw["numberMatched"] == 2685
    w, s, e, n = rw["extent"]["spatial"]["bbox"][0]
    assert 106.6 < w < e < 107.1
    assert -6.5 < s < n < -6.0
    assert rw["storageCrs"] == f"{EPSG}32748"
    assert {CRS84, f"{EPSG}4326", f"{EPSG}3857", f"{EPSG}32748"} <= set(rw["crs"])
    assert "temporal" in by_id["field_reports"]["extent"]
    assert any(link["rel"] == "items" and link["type"] == "application/geo+json" for link in rw["links"])


def test_items_pages_with_next_links_cover_the_layer_once(ogc, rw):
    seen, url, pages = [], "/ogcapi/collections/boundaries_rw/items?limit=1000", 0
    while url:
        doc = _get(ogc, url).get_json()
        assert doc["numberMatched"] == 2685
        assert doc["numberReturned"] == len(doc["features"])
        seen += [f["id"] for f in doc["features"]]
        nxt = [
            link["href"] for link in doc["links"] if link["rel"] == "next" and link["type"] == "application/geo+json"
        ]
        url = nxt[0].replace("http://localhost", "") if nxt else None
        pages += 1
    assert pages == 3
    assert seen == rw.index.tolist()
    # properties are the layer's values
    doc = _get(ogc, "/ogcapi/collections/boundaries_rw/items", limit=3, offset=10).get_json()
    assert [f["properties"]["name"] for f in doc["features"]] == rw.name.iloc[10:13].tolist()
    assert any(link["rel"] == "prev" for link in doc["links"])


def _core(svc, endpoint, *path, **args) -> tuple[dict, dict]:
    """Call the framework-free core with plain values: (headers, parsed JSON body)."""
    headers, status, body = endpoint(svc, *path, {k: str(v) for k, v in args.items()}, "application/json")
    assert status == 200
    return headers, json.loads(body)


def _items(svc, name, **args) -> dict:
    return _core(svc, core.items, name, **args)[1]


def test_limit_is_capped_at_10000(svc):
    doc = _items(svc, "roads", limit=50000)
    assert doc["numberReturned"] == 10000
    assert doc["numberMatched"] == 18574


def test_bbox_in_crs84_and_in_utm_with_output_crs(svc, rw):
    box84 = (106.80, -6.22, 106.83, -6.19)
    doc = _items(svc, "boundaries_rw", bbox=",".join(map(str, box84)), limit=10000)
    geo = rw.to_crs("OGC:CRS84")
    expected = geo.index[geo.intersects(shapely.box(*box84))].tolist()
    assert sorted(f["id"] for f in doc["features"]) == expected
    assert doc["numberMatched"] == len(expected) > 20
    # the same area asked in UTM (bbox-crs) with UTM output: coordinates are the stored ones
    utm = gpd.GeoSeries([shapely.box(*box84)], crs="OGC:CRS84").to_crs(32748).total_bounds
    headers, doc = _core(
        svc,
        core.items,
        "boundaries_rw",
        bbox=",".join(map(str, utm)),
        limit=5,
        **{"bbox-crs": f"{EPSG}32748", "crs": f"{EPSG}32748"},
    )
    assert headers["Content-Crs"] == f"<{EPSG}32748>"
    f0 = doc["features"][0]
    got = shapely.geometry.shape(f0["geometry"])
    assert shapely.hausdorff_distance(got, rw.geometry.loc[f0["id"]]) < 0.01


def test_epsg_4326_is_lat_lon_and_3857_is_metres(ogc, rw):
    fid = int(rw.index[0])
    lonlat = shapely.get_coordinates(
        shapely.geometry.shape(_get(ogc, f"/ogcapi/collections/boundaries_rw/items/{fid}").get_json()["geometry"])
    )
    latlon = shapely.get_coordinates(
        shapely.geometry.shape(
            _get(ogc, f"/ogcapi/collections/boundaries_rw/items/{fid}", crs=f"{EPSG}4326").get_json()["geometry"]
        )
    )
    np.testing.assert_allclose(latlon[:, ::-1], lonlat, atol=1e-7)
    assert 106 < lonlat[0, 0] < 107
    assert -7 < lonlat[0, 1] < -6
    merc = _get(ogc, f"/ogcapi/collections/boundaries_rw/items/{fid}", crs=f"{EPSG}3857")
    assert merc.headers["Content-Crs"] == f"<{EPSG}3857>"
    x, y = shapely.get_coordinates(shapely.geometry.shape(merc.get_json()["geometry"]))[0]
    assert 1.18e7 < x < 1.20e7
    assert -7.0e5 < y < -6.7e5
    # a bbox in EPSG:4326 is given lat,lon
    doc = _get(
        ogc,
        "/ogcapi/collections/boundaries_rw/items",
        bbox="-6.22,106.80,-6.19,106.83",
        **{"bbox-crs": f"{EPSG}4326"},
        limit=10000,
    ).get_json()
    doc84 = _get(
        ogc, "/ogcapi/collections/boundaries_rw/items", bbox="106.80,-6.22,106.83,-6.19", limit=10000
    ).get_json()
    assert [f["id"] for f in doc["features"]] == [f["id"] for f in doc84["features"]]


def test_queryables_and_property_filter(svc, built_area):
    headers, q = _core(svc, core.queryables, "roads")
    assert headers["Content-Type"] == "application/schema+json"
    props = q["properties"]
    assert props["road_class"] == {"type": "string"}
    assert props["road_id"] == {"type": "integer"}
    roads = pyogrio.read_dataframe(built_area, layer="roads", read_geometry=False)
    doc = _items(svc, "roads", road_class="primary", limit=10000)
    assert doc["numberMatched"] == int((roads.road_class == "primary").sum()) > 100
    assert {f["properties"]["road_class"] for f in doc["features"]} == {"primary"}


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"limit": 0}, 400, "limit must be at least 1"),
        ({"limit": "ten"}, 400, "whole number"),
        ({"bbox": "1,2,3"}, 400, "bbox must be 4 numbers"),
        ({"bbox": "3,2,1,4"}, 400, "min ≤ max"),
        ({"crs": "EPSG:2154"}, 400, "crs 'EPSG:2154' is not offered"),
        ({"datetime": "2025-01-01"}, 400, "no time property"),
        ({"colour": "red"}, 400, "unknown query parameter colour"),
        ({"f": "xml"}, 400, "f 'xml'"),
    ],
)
def test_bad_parameters_are_400_with_a_message(ogc, params, status, message):
    resp = _get(ogc, "/ogcapi/collections/roads/items", status, **params)
    assert message in resp.get_json()["error"]["message"]


def test_not_found(ogc):
    assert _get(ogc, "/ogcapi/collections/nope/items", 404).get_json()["error"]["code"] == "not_found"
    assert _get(ogc, "/ogcapi/collections/roads/items/99999999", 404).get_json()["error"]["code"] == "not_found"
    assert _get(ogc, "/ogcapi/collections/roads/items/abc", 404).status_code == 404


def test_html_views(ogc):
    for url in (
        "/ogcapi/",
        "/ogcapi/collections",
        "/ogcapi/collections/roads",
        "/ogcapi/collections/roads/items",
        "/ogcapi/collections/roads/items/5",
        "/ogcapi/conformance",
    ):
        resp = _get(ogc, url, f="html")
        assert resp.mimetype == "text/html"
        assert "<h1>" in resp.get_data(as_text=True)
    page = _get(ogc, "/ogcapi/collections/roads/items", f="html", limit=3).get_data(as_text=True)
    assert page.count("<tr>") == 4
    assert "next</a>" in page
    # a browser asking for HTML gets it without ?f=html
    assert ogc.get("/ogcapi/collections", headers={"Accept": "text/html,application/xhtml+xml"}).mimetype == "text/html"


# -- field reports: the privacy of /api/reports, datetime filter -------------------------------------


def test_field_reports_collection_is_private_and_filters_by_datetime(tmp_path, built_area, make_user):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "BUILD": str(built_area),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "ANON_RATE_LIMIT": "1000/hour",
            "EXPORT_DIR": str(tmp_path / "exports"),
        }
    )
    client = app.test_client()
    _, trusted = make_user(app, "volunteer", trusted=True)
    _, moderator = make_user(app, "moderator")
    exact = [(106.8201 + i * 0.003, -6.1899) for i in range(3)]
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(p)},
            "properties": {
                "id": str(uuid.uuid4()),
                "category": "flooding_observed",
                "description": f"r{i}",
                "observed_at": f"2025-02-0{i + 1}T08:00:00Z",
                "reporter_name": "Siti",
                "reporter_contact": "+62 811",
            },
        }
        for i, p in enumerate(exact)
    ]
    resp = client.post("/api/reports", json={"type": "FeatureCollection", "features": feats}, headers=bearer(trusted))
    assert resp.status_code in (200, 201)
    assert resp.get_json()["accepted"] == 3
    doc = _get(client, "/ogcapi/collections/field_reports/items").get_json()
    assert doc["numberMatched"] == 3
    for f in doc["features"]:
        assert not {"reporter_name", "reporter_contact", "created_by"} & set(f["properties"])
        assert tuple(f["geometry"]["coordinates"]) not in exact  # blurred
    one = doc["features"][0]["id"]
    assert _get(client, f"/ogcapi/collections/field_reports/items/{one}").get_json()["id"] == one
    # datetime: instant-free interval forms
    assert (
        _get(client, "/ogcapi/collections/field_reports/items", datetime="2025-02-02T00:00:00Z/..").get_json()[
            "numberMatched"
        ]
        == 2
    )
    assert (
        _get(client, "/ogcapi/collections/field_reports/items", datetime="../2025-02-01T12:00:00Z").get_json()[
            "numberMatched"
        ]
        == 1
    )
    assert (
        _get(
            client, "/ogcapi/collections/field_reports/items", datetime="2025-02-01T00:00:00Z/2025-02-02T23:59:59Z"
        ).get_json()["numberMatched"]
        == 2
    )
    _get(client, "/ogcapi/collections/field_reports/items", 400, datetime="yesterday")
    # moderators see the exact places and who reported
    mod = client.get("/ogcapi/collections/field_reports/items", headers=bearer(moderator)).get_json()
    assert sorted(tuple(f["geometry"]["coordinates"]) for f in mod["features"]) == sorted(exact)
    assert {f["properties"]["reporter_name"] for f in mod["features"]} == {"Siti"}


# -- GDAL's OAPIF client against a real server --------------------------------------------------------


@pytest.fixture(scope="module")
def live(ogc_app):
    """The app on 127.0.0.1:<free port> in a thread; yields (base url, list of request query strings)."""
    seen: list[str] = []
    inner = ogc_app.wsgi_app

    def recording(environ, start_response):
        seen.append(environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", ""))
        return inner(environ, start_response)

    ogc_app.wsgi_app = recording
    with live_server(ogc_app) as base:
        yield f"{base}/ogcapi", seen
    ogc_app.wsgi_app = inner


def _gdal(*args: str) -> str:
    if not shutil.which(args[0]):
        require("GEOAPP_REQUIRE_GDAL", f"GDAL's {args[0]} (gdal-bin)")
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_ogrinfo_lists_collections_and_pages_through_a_layer(live, rw):
    base, seen = live
    listing = _gdal("ogrinfo", "-ro", "-q", f"OAPIF:{base}")
    names = re.findall(r"^\d+: (\S+)", listing, flags=re.M)
    assert {"buildings", "roads", "facilities", "boundaries_rw", "boundaries_kelurahan"} <= set(names)
    seen.clear()
    out = _gdal("ogrinfo", "-ro", "-al", "-q", "-geom=NO", "-oo", "PAGE_SIZE=1000", f"OAPIF:{base}", "boundaries_rw")
    names = re.findall(r"^  name \(String\) = (.*)$", out, flags=re.M)
    assert len(names) == 2685
    assert names == rw.name.tolist()
    pages = [parse_qs(urlparse(u).query) for u in seen if u.startswith("/ogcapi/collections/boundaries_rw/items")]
    assert len(pages) >= 3
    assert {p.get("offset", ["0"])[0] for p in pages} >= {"1000", "2000"}


def test_ogr2ogr_copies_a_collection_with_every_feature(live, rw, tmp_path):
    base, _ = live
    out = tmp_path / "copy.gpkg"
    _gdal("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{base}", "boundaries_rw", "-oo", "PAGE_SIZE=1000")
    copy = pyogrio.read_dataframe(out)
    assert len(copy) == len(rw) == 2685
    assert copy.name.tolist() == rw.name.tolist()
    assert copy.area_id.tolist() == rw.area_id.tolist()
    geo = rw.to_crs("OGC:CRS84").reset_index(drop=True)
    d = shapely.hausdorff_distance(copy.geometry.to_numpy(), geo.geometry.to_numpy())
    assert d.max() < 1e-6  # 7 decimals of a degree


def test_analysis_layers_filter_by_scenario_and_allow_cross_origin_reads(ogc, built_area):
    resp = _get(ogc, "/ogcapi/collections")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    ids = [c["id"] for c in resp.get_json()["collections"]]
    if "exposure_buildings" not in ids:
        pytest.skip("this build has no exposure layers")
    exp = pyogrio.read_dataframe(built_area, layer="exposure_buildings", read_geometry=False)
    for scenario in exp.scenario.unique():
        doc = _get(ogc, "/ogcapi/collections/exposure_buildings/items", scenario=scenario, limit=1).get_json()
        assert doc["numberMatched"] == int((exp.scenario == scenario).sum())
        assert doc["features"][0]["properties"]["scenario"] == scenario


def test_an_empty_result_is_an_empty_feature_collection(svc):
    """Past the end, or a bbox far away: 200 with no features, never the whole layer."""
    for params in ({"offset": 5000}, {"bbox": "0,0,1,1"}):
        doc = _items(svc, "boundaries_rw", **params)
        assert doc["type"] == "FeatureCollection"
        assert doc["features"] == []
        assert doc["numberReturned"] == 0


# -- the framework-free core, called directly -----------------------------------------------------


@pytest.fixture(scope="module")
def svc(built_area) -> core.Service:
    """The core's view of the built sample: plain values, no Flask."""
    return core.Service(
        base_url="http://example.test/ogcapi",
        build=built_area,
        title="Jakarta",
        layers=build_layers(built_area, {}),
        area_crs=pyogrio_crs(built_area),
    )


def pyogrio_crs(path):
    from pyproj import CRS

    return CRS.from_user_input(pyogrio.read_info(path, layer="roads")["crs"])


BAD_ITEMS = [
    ("buildings", {"levels": "nan"}, "levels"),
    ("buildings", {"levels": "inf"}, "levels"),
    ("buildings", {"levels": "-inf"}, "levels"),
    ("buildings", {"levels": "1e400"}, "levels"),
    ("roads", {"road_class": "\x00"}, "road_class"),
    ("roads", {"road_class": "primary\x00x"}, "road_class"),
    ("roads", {"bbox": "1e308,1e308,1e308,1e308"}, "bbox"),
    ("roads", {"bbox": "-1e308,-1e308,1e308,1e308"}, "bbox"),
    ("roads", {"bbox": "nan,0,1,1"}, "bbox"),
    ("roads", {"bbox": "-1e308,-1e308,1e308,1e308", "bbox-crs": f"{EPSG}3857"}, "bbox"),
    ("roads", {"offset": str(2**63)}, "offset"),
    ("roads", {"offset": "99999999999999999999999"}, "offset"),
    ("roads", {"offset": "-1"}, "offset"),
    ("roads", {"offset": "1e9"}, "offset"),
    ("roads", {"limit": str(2**64)}, "limit"),
    ("roads", {"limit": "-5"}, "limit"),
    ("roads", {"limit": "9" * 5000}, "limit"),
    ("roads", {"datetime": "nan"}, "datetime"),
]


@pytest.mark.parametrize(("name", "args", "param"), BAD_ITEMS)
def test_bad_filters_raise_invalid_input_naming_the_parameter(svc, name, args, param):
    with pytest.raises(InvalidInputError, match=param):
        core.items(svc, name, args, "application/json")


@pytest.mark.parametrize(("name", "args", "param"), BAD_ITEMS)
def test_bad_filters_are_400_json_never_500(ogc, name, args, param):
    resp = ogc.get(f"/ogcapi/collections/{name}/items", query_string=args)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert param in error["message"]


def test_core_pages_and_negotiates_without_flask(svc, rw):
    headers, status, body = core.items(svc, "boundaries_rw", {"limit": "3", "offset": "10"}, "*/*")
    doc = json.loads(body)
    assert status == 200
    assert headers["Content-Type"] == "application/geo+json"
    assert [f["properties"]["name"] for f in doc["features"]] == rw.name.iloc[10:13].tolist()
    nxt = next(link["href"] for link in doc["links"] if link["rel"] == "next" and "geo+json" in link["type"])
    assert nxt.startswith("http://example.test/ogcapi/collections/boundaries_rw/items?")
    assert "offset=13" in nxt
    headers, _, page = core.collections(svc, {}, "text/html,application/xhtml+xml;q=0.9")
    assert headers["Content-Type"].startswith("text/html")
    assert "<table>" in page
    assert "boundaries_rw" in page
    assert core.collections(svc, {}, "application/json, text/html;q=0.5")[0]["Content-Type"] == "application/json"


def test_a_million_vertex_polygon_does_not_blow_up_public_pages(tmp_path, built_area):
    """One kelurahan densified to ~1e6 vertices: every page that holds it stays small."""
    kel = pyogrio.read_dataframe(SAMPLE_AREA / "kelurahan.gpkg").to_crs(32748)
    huge = shapely.segmentize(kel.geometry.iloc[0], kel.geometry.iloc[0].length / 1_000_000)
    kel.loc[kel.index[0], "geometry"] = huge
    path = tmp_path / "area.gpkg"
    pyogrio.write_dataframe(kel, path, layer="boundaries_kel")
    service = core.Service(base_url="http://x/ogcapi", build=path, title="t", layers=build_layers(path, {}))
    _, status, body = core.items(service, "boundaries_kel", {"limit": "10"}, "application/json")
    assert status == 200
    assert len(body) < 2_000_000
    first = json.loads(body)["features"][0]
    assert shapely.get_num_coordinates(shapely.geometry.shape(first["geometry"])) <= MAX_VERTICES
    _, _, one = core.item(service, "boundaries_kel", str(first["id"]), {}, "application/json")
    assert len(one) < 1_000_000
