"""Query endpoints fed bad parameters: a 4xx JSON error (or a normal answer), never a 5xx or a traceback.

The app serves a small built corner of Jakarta (see conftest.py); nothing here writes.
"""

from __future__ import annotations

import pytest

from tests.helpers import bearer
from tests.robustness.checks import http_problem

pytestmark = pytest.mark.filterwarnings("ignore")

BIG = str(2**63)
# (query string, must it be refused?) for GET /api/reports
REPORTS_QUERIES = {
    "limit=-1": True,
    "limit=abc": True,
    "limit=1e3": True,
    "limit=" + BIG: True,
    "limit=100001": True,
    "offset=-1": True,
    "offset=" + BIG: True,
    "offset=" + "9" * 400: True,
    "offset=nan": True,
    "bbox=1e308,1e308,1e308,1e308": False,
    "bbox=-1e308,-1e308,1e308,1e308": False,
    "bbox=nan,nan,nan,nan": True,
    "bbox=inf,-inf,inf,inf": True,
    "bbox=1,2,3": True,
    "bbox=a,b,c,d": True,
    "bbox=3,3,1,1": True,
    "bbox=": False,
    "status=exploded": True,
    "status=%00": True,
    "category=%00": False,
    "category=" + "x" * 5000: False,
    "f=xml": True,
    "f=%00": True,
    "unknown=1": False,
    "limit=1&limit=-1": False,
}
OGC_ITEMS = {
    "limit=-1": True,
    "limit=0": True,
    "limit=abc": True,
    "limit=1e308": True,
    "limit=" + BIG: False,
    "offset=-1": True,
    "offset=" + BIG: False,
    "offset=" + "9" * 400: False,
    "bbox=1e308,1e308,1e308,1e308": False,
    "bbox=nan,0,1,1": True,
    "bbox=inf,0,1,1": True,
    "bbox=1,2,3": True,
    "bbox=a,b,c,d": True,
    "bbox=3,3,1,1": True,
    "bbox=0,0,1,1&bbox-crs=EPSG:99999": True,
    "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326": True,
    "crs=nope": True,
    "crs=%00": True,
    "datetime=yesterday": True,
    "datetime=2024-01-01/nope": True,
    "datetime=../..": False,
    "unknown=1": True,
    "f=%00": False,
    "levels=nan": False,
    "levels=inf": False,
    "road_class=%00": False,
    "building_type=" + "x" * 5000: False,
}
COLLECTIONS = ["buildings", "roads", "field_reports"]


def _get(served, url: str, token: str | None = None):
    headers = bearer(served.tokens[token]) if token else {}
    try:
        resp = served.client.get(url, headers=headers)
        resp.get_data()  # a streamed answer fails here when it breaks mid-way
    except Exception as exc:  # noqa: BLE001 - the point is to report any crash as a failure
        pytest.fail(f"GET {url[:120]} raised {type(exc).__name__}: {exc}")
    return resp


def _check(served, url: str, refuse: bool, token: str | None = None) -> None:
    problem = http_problem(_get(served, url, token), allow_ok=not refuse)
    assert problem is None, f"GET {url[:120]}: {problem}"


@pytest.mark.parametrize("who", [None, "moderator"])
@pytest.mark.parametrize(("query", "refuse"), REPORTS_QUERIES.items(), ids=[q[:40] for q in REPORTS_QUERIES])
def test_list_reports(served, query, refuse, who):
    _check(served, f"/api/reports?{query}", refuse, who)


@pytest.mark.parametrize("f", ["geojson", "csv"])
@pytest.mark.parametrize("report_id", ["nope", "%00", "x" * 3000, "' OR 1=1 --", "..%2F..%2Fetc"])
def test_one_report(served, report_id, f):
    _check(served, f"/api/reports/{report_id}?f={f}", True)


@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize(("query", "refuse"), OGC_ITEMS.items(), ids=[q[:40] for q in OGC_ITEMS])
def test_ogc_items(served, collection, query, refuse):
    _check(served, f"/ogcapi/collections/{collection}/items?{query}", refuse)


OGC_PATHS = [
    "/ogcapi/collections/nope",
    "/ogcapi/collections/nope/items",
    "/ogcapi/collections/nope/queryables",
    "/ogcapi/collections/%00/items",
    "/ogcapi/collections/nope/queryables?f=%00",
    "/ogcapi/collections/buildings/items/-1",
    "/ogcapi/collections/buildings/items/0",
    f"/ogcapi/collections/buildings/items/{BIG}",
    "/ogcapi/collections/buildings/items/1e3",
    "/ogcapi/collections/buildings/items/nan",
    "/ogcapi/collections/buildings/items/%00",
    "/ogcapi/collections/buildings/items/1?unknown=1",
    "/ogcapi/collections/buildings/items/1?crs=nope",
    "/ogcapi/collections/field_reports/items/nope",
    "/ogcapi/collections/field_reports/items/%00",
    "/ogcapi/collections/field_reports/items/" + "x" * 3000,
]


@pytest.mark.parametrize("url", OGC_PATHS, ids=[u[:60] for u in OGC_PATHS])
def test_ogc_paths(served, url):
    _check(served, url, True)


LAYER_URLS = {
    "/api/layers?unknown=1": False,
    "/api/layers/nope": True,
    "/api/layers/%00": True,
    "/api/layers/buildings?f=exe": True,
    "/api/layers/buildings?f=%00": True,
    "/api/layers/buildings?csv_geometry=svg": True,
    "/api/layers/" + "x" * 3000: True,
    "/api/exports": True,
    "/api/exports?layers=": True,
    "/api/exports?layers=,,,": True,
    "/api/exports?layers=nope": True,
    "/api/exports?layers=buildings&f=exe": True,
    "/api/exports?layers=%00": True,
    "/api/exports/nope": True,
    "/api/exports/nope/file": True,
    "/api/exports/%00": True,
    "/map/tiles/nope/1/1/1.json": True,
    f"/map/tiles/buildings/{BIG}/0/0.json": True,
    "/map/tiles/buildings/99/0/0.json": True,
    "/map/tiles/buildings/10/999999/0.json": True,
    "/map/tiles/buildings/0/5/5.json": True,
    "/map/tiles/buildings/14/1/1.json?scenario=nope": True,
    "/map/tiles/buildings/14/1/1.json?scenario=%00": True,
    "/map/tiles/field_reports/99/0/0.json": True,
    "/map/feature/nope/1": True,
    "/map/feature/buildings/nope": True,
    "/map/feature/buildings/%00": True,
    f"/map/feature/buildings/{BIG}": True,
    "/map/feature/field_reports/nope": True,
    "/map/hazard/nope.png": True,
    "/map/hazard/%00.png": True,
    "/dashboard?boundary=nope": True,
    "/dashboard?scenario=nope": True,
    "/dashboard?boundary=%00": True,
    "/dashboard?unknown=1": False,
    "/dashboard/neighbourhoods.csv?scenario=nope": True,
    "/report?lang=xx": False,
    "/report?lang=%00": False,
    "/report?lang=" + "x" * 3000: False,
    "/report?unknown=1": False,
}


@pytest.mark.parametrize(("url", "refuse"), LAYER_URLS.items(), ids=[u[:60] for u in LAYER_URLS])
def test_query_urls(served, url, refuse):
    _check(served, url, refuse)


@pytest.mark.parametrize("who", ["volunteer", "moderator"])
@pytest.mark.parametrize("query", ["", "?status=%00", "?unknown=1", "?lang=xx"])
def test_moderate(served, who, query):
    resp = _get(served, f"/moderate{query}", who)
    problem = http_problem(resp, allow_ok=who == "moderator")
    assert problem is None, problem


EXPORT_BODIES = {
    "not_json": b"hello",
    "empty": b"",
    "null": b"null",
    "array": b"[]",
    "layers_null": b'{"layers": null}',
    "layers_list_null": b'{"layers": [null]}',
    "layers_number": b'{"layers": 1}',
    "layers_numbers": b'{"layers": [1, 2]}',
    "layers_nested": b'{"layers": [["buildings"]]}',
    "layers_object": b'{"layers": {"buildings": 1}}',
    "layers_empty": b'{"layers": []}',
    "layers_unknown": b'{"layers": ["nope"]}',
    "layers_nul": b'{"layers": ["build\\u0000ings"]}',
    "f_number": b'{"layers": ["buildings"], "f": 1}',
    "f_null": b'{"layers": ["buildings"], "f": null}',
    "f_list": b'{"layers": ["buildings"], "f": ["gpkg"]}',
    "f_unknown": b'{"layers": ["buildings"], "f": "exe"}',
    "csv_geometry_number": b'{"layers": ["buildings"], "csv_geometry": 1}',
    "csv_geometry_list": b'{"layers": ["buildings"], "csv_geometry": ["wkt"]}',
    "csv_geometry_dict": b'{"layers": ["buildings"], "csv_geometry": {}}',
}


@pytest.mark.parametrize("body", EXPORT_BODIES.values(), ids=list(EXPORT_BODIES))
def test_start_export_job(served, body):
    resp = served.client.post("/api/exports", data=body, headers={"Content-Type": "application/json"})
    problem = http_problem(resp)
    assert problem is None, problem


def test_dashboard_without_boundaries(served, corner_area, corner_build, tmp_path):
    """An area with no [[boundaries]] shows area-wide figures (issue 13, item 4)."""
    from geoapp import create_app

    area = tmp_path / "area"
    area.mkdir()
    for f in corner_area.iterdir():
        if f.is_file():
            (area / f.name).symlink_to(f)
    (area / "area.toml").unlink()
    text = (corner_area / "area.toml").read_text()
    (area / "area.toml").write_text(text[: text.index("[[boundaries]]")])
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "r",
            "AREA": str(area),
            "BUILD": str(corner_build),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
        }
    )
    problem = http_problem(app.test_client().get("/dashboard"), allow_ok=True)
    assert problem is None, problem
