"""OGC API – Features Part 3 and friends: CQL2 filters, sortby, properties, the shared limit, typed queryables.

Every filter's answer is checked against a pandas/shapely oracle computed here from the
built GeoPackage, independently of the server's code path.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from geoapp import create_app
from tests.helpers import live_server, require


@pytest.fixture(scope="module")
def app(built_area, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ogcfilter")
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "BUILD": str(built_area),
            "DATABASE_URL": f"sqlite:///{tmp / 'reports.db'}",
            "ANON_RATE_LIMIT": "100000/hour",
        }
    )


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def roads(built_area) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(built_area, layer="roads", fid_as_index=True)


@pytest.fixture(scope="module")
def buildings(built_area) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(built_area, layer="buildings", fid_as_index=True)


def gdal_tool(name: str) -> str:
    """Debian's GDAL 3.6 tool (what QGIS on Debian uses); skipped locally, required when GEOAPP_REQUIRE_GDAL is set."""
    path = shutil.which(name, path="/usr/bin")
    if path is None:
        require("GEOAPP_REQUIRE_GDAL", f"GDAL's {name}")
    return str(path)


def _all_ids(client, name: str, **params) -> tuple[list, int]:
    """Every feature id of a filtered collection, following next links; and numberMatched."""
    resp = client.get(f"/ogcapi/collections/{name}/items", query_string={"limit": 10000, **params})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    doc = resp.get_json()
    assert not any(link["rel"] == "next" for link in doc["links"])  # one page holds them all here
    return [f["id"] for f in doc["features"]], doc["numberMatched"]


def test_cql2_text_comparison_logical_in_like_match_pandas(client, roads):
    ids, matched = _all_ids(
        client, "roads", filter="road_class IN ('primary','secondary') AND oneway = true AND road_id > 100"
    )
    oracle = roads[roads.road_class.isin(["primary", "secondary"]) & roads.oneway & (roads.road_id > 100)]
    assert matched == len(oracle) > 0
    assert ids == oracle.index.tolist()

    ids, _ = _all_ids(client, "roads", filter="name LIKE 'Jalan K%' OR NOT (road_class <> 'trunk')")
    names = roads.name.astype("string")
    oracle = roads[names.str.startswith("Jalan K").fillna(False) | (roads.road_class == "trunk")]
    assert len(oracle) > 0
    assert ids == oracle.index.tolist()

    ids, _ = _all_ids(client, "roads", filter="name IS NULL AND road_class = 'residential'")
    assert ids == roads[roads.name.isna() & (roads.road_class == "residential")].index.tolist()


def test_cql2_spatial_bbox_and_polygon_text_and_json(client, buildings):
    box = (106.80, -6.20, 106.83, -6.17)
    to_utm = Transformer.from_crs("OGC:CRS84", buildings.crs, always_xy=True)
    area = shapely.box(*to_utm.transform_bounds(*box, densify_pts=0))
    hit = buildings.intersects(shapely.Polygon(np.column_stack(to_utm.transform(*shapely.box(*box).exterior.xy))))
    oracle = buildings[hit].index.tolist()
    assert 0 < len(oracle) < len(buildings)
    ids, _ = _all_ids(client, "buildings", filter=f"S_INTERSECTS(geometry, BBOX({','.join(map(str, box))}))")
    # the BBOX edges are straight in CRS84, curved a little in UTM: compare with the exact polygon (tiny area)
    assert set(ids) == set(oracle)
    poly = shapely.Polygon([(106.80, -6.20), (106.83, -6.20), (106.83, -6.17), (106.80, -6.20)])  # a triangle
    tri = buildings.intersects(shapely.Polygon(np.column_stack(to_utm.transform(*poly.exterior.xy))))
    ids, _ = _all_ids(client, "buildings", filter=f"S_INTERSECTS(geometry, {poly.wkt})")
    assert ids == buildings[tri].index.tolist()
    assert 0 < len(ids) < len(oracle)
    doc = {
        "op": "and",
        "args": [
            {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": list(box)}]},
            {"op": ">=", "args": [{"property": "levels"}, 2]},
        ],
    }
    ids, _ = _all_ids(client, "buildings", filter=json.dumps(doc), **{"filter-lang": "cql2-json"})
    assert ids == buildings[hit & (buildings.levels >= 2)].index.tolist()
    assert area.area > 0
    # filter-crs: the same box in EPSG:4326 is given latitude first
    lat_first = f"S_INTERSECTS(geometry, BBOX({box[1]},{box[0]},{box[3]},{box[2]}))"
    ids, _ = _all_ids(
        client, "buildings", filter=lat_first, **{"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}
    )
    assert set(ids) == set(oracle)


def test_sortby_and_properties(client, buildings):
    doc = client.get(
        "/ogcapi/collections/buildings/items",
        query_string={"sortby": "-levels,building_id", "properties": "levels,name", "limit": 50, "offset": 5},
    ).get_json()
    oracle = (
        buildings.rename_axis(None)
        .assign(_fid=buildings.index)
        .sort_values(["levels", "_fid"], ascending=[False, True], na_position="last", kind="stable")
    )
    assert [f["id"] for f in doc["features"]] == oracle.index[5:55].tolist()
    assert all(set(f["properties"]) == {"levels", "name"} for f in doc["features"])
    assert doc["numberMatched"] == len(buildings)
    nxt = next(link["href"] for link in doc["links"] if link["rel"] == "next" and "html" not in link["type"])
    assert "sortby=-levels" in nxt.replace("%2C", ",")
    assert "offset=55" in nxt


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"filter": "levels >"}, "not valid cql2-text"),
        ({"filter": "nosuch = 1"}, "nosuch"),
        ({"filter": "levels > 'tall'"}, "wrong type"),
        ({"filter": "{", "filter-lang": "cql2-json"}, "not valid JSON"),
        ({"filter": "levels > 1", "filter-lang": "ecql"}, "filter-lang"),
        ({"filter-lang": "cql2-text"}, "need a filter"),
        ({"sortby": "height"}, "sortby 'height'"),
        ({"properties": "levels,height"}, "height"),
        ({"filter": "levels > 1", "filter-crs": "EPSG:9999"}, "filter-crs"),
    ],
)
def test_bad_filters_are_400_naming_the_problem(client, params, says):
    resp = client.get("/ogcapi/collections/buildings/items", query_string=params)
    assert resp.status_code == 400
    message = resp.get_json()["error"]["message"]
    assert says in message
    assert "\n" not in message


def test_shared_limit_conformance_queryables_and_titles(client, built_area):
    api = client.get("/ogcapi/api").get_json()
    limit = api["components"]["parameters"]["limit"]["schema"]
    assert limit["default"] == limit["maximum"] == 10000
    for path, op in api["paths"].items():
        if path.endswith("/items"):
            params = op["get"]["parameters"]
            assert {"$ref": "#/components/parameters/limit"} in params
            assert {"$ref": "#/components/parameters/filter"} in params
    conf = client.get("/ogcapi/conformance").get_json()["conformsTo"]
    for cls in (
        "ogcapi-features-3/1.0/conf/filter",
        "ogcapi-features-3/1.0/conf/features-filter",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/cql2-json",
        "cql2/1.0/conf/basic-cql2",
        "cql2/1.0/conf/advanced-comparison-operators",
        "cql2/1.0/conf/basic-spatial-functions",
    ):
        assert any(c.endswith(cls) for c in conf), cls
    q = client.get("/ogcapi/collections/shelters/queryables").get_json()["properties"]
    info = pyogrio.read_info(built_area, layer="shelters")
    expected = {"int64": "integer", "int32": "integer", "float64": "number", "bool": "boolean", "object": "string"}
    for field, dtype in zip(info["fields"], info["dtypes"], strict=True):
        assert q[field]["type"] == expected[str(dtype)], field
    assert q["geometry"]["format"] == "geometry-point"
    titles = [c["title"] for c in client.get("/ogcapi/collections").get_json()["collections"]]
    assert len(titles) == len(set(titles))
    # a default page is the whole layer (7,689 buildings in one request)
    doc = client.get("/ogcapi/collections/buildings/items").get_json()
    assert doc["numberReturned"] == doc["numberMatched"] == len(pyogrio.read_dataframe(built_area, layer="buildings"))


def test_gdal_oapif_pages_with_the_shared_limit(app, client, built_area, tmp_path):
    """GDAL 3.6 (Debian) does not read the API's limit itself: given it as PAGE_SIZE, it copies
    a layer in ceil(n / limit) item requests; the old 10-feature pages would take hundreds."""
    ogr2ogr = gdal_tool("ogr2ogr")
    limit = client.get("/ogcapi/api").get_json()["components"]["parameters"]["limit"]["schema"]["default"]
    n = pyogrio.read_info(built_area, layer="buildings")["features"]
    with live_server(app) as base:
        out = tmp_path / "b.gpkg"
        run = subprocess.run(
            [ogr2ogr, "-f", "GPKG", str(out), f"OAPIF:{base}/ogcapi", "buildings", "-oo", f"PAGE_SIZE={limit}"],
            capture_output=True,
            text=True,
            timeout=120,
            env={"CPL_DEBUG": "ON", "PATH": "/usr/bin:/bin"},
        )
        assert run.returncode == 0, run.stderr[-500:]
        fetches = re.findall(r"Fetch\((\S+/collections/buildings/items\S*)\)", run.stderr)
    copy = pyogrio.read_dataframe(out)
    assert len(copy) == n
    pages = -(-n // limit)
    assert len(set(fetches)) == pages
    assert len(fetches) <= pages + 1
    assert all(f"limit={limit}" in f for f in fetches)


def test_field_reports_filter_sort_and_tiles_keep_the_public_view(tmp_path, built_area, make_user):
    """Reports are filtered, sorted and tiled from the rows this caller may see: no name, blurred places."""
    import uuid

    import mapbox_vector_tile

    from tests.helpers import bearer

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "BUILD": str(built_area),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "ANON_RATE_LIMIT": "1000/hour",
        }
    )
    client = app.test_client()
    _, trusted = make_user(app, "volunteer", trusted=True)
    exact = [(106.8201 + i * 0.003, -6.1899) for i in range(4)]
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(p)},
            "properties": {
                "id": str(uuid.uuid4()),
                "category": "flooding_observed" if i % 2 else "blocked_drain",
                "description": f"r{i}",
                "observed_at": f"2025-02-0{i + 1}T08:00:00Z",
                "reporter_name": "Siti",
            },
        }
        for i, p in enumerate(exact)
    ]
    resp = client.post("/api/reports", json={"type": "FeatureCollection", "features": feats}, headers=bearer(trusted))
    assert resp.status_code in (200, 201)
    doc = client.get(
        "/ogcapi/collections/field_reports/items",
        query_string={"filter": "category = 'flooding_observed'", "sortby": "-observed_at"},
    ).get_json()
    assert [f["properties"]["description"] for f in doc["features"]] == ["r3", "r1"]
    assert all("reporter_name" not in f["properties"] for f in doc["features"])
    resp = client.get(
        "/ogcapi/collections/field_reports/items",
        query_string={"filter": "reporter_name = 'Siti'"},  # not a public queryable
    )
    assert resp.status_code == 400
    z = 16
    n = 2**z
    x = int((exact[0][0] + 180) / 360 * n)
    y = int((1 - np.arcsinh(np.tan(np.radians(exact[0][1]))) / np.pi) / 2 * n)
    tile = mapbox_vector_tile.decode(
        client.get(f"/ogcapi/collections/field_reports/tiles/WebMercatorQuad/{z}/{y}/{x}").data
    )
    props = [f["properties"] for layer in tile.values() for f in layer["features"]]
    assert all("reporter_name" not in p for p in props)
