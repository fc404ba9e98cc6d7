"""OGC API filters and tiles fed bad input: CQL2 text and JSON with unknown properties, broken syntax, wrong
types and huge lists; bad sortby/properties/limit; odd tile numbers. A 4xx JSON error or a clean answer,
never a 5xx or a traceback. Good filters are checked against the same rows counted with pandas."""

from __future__ import annotations

import json
import urllib.parse

import pyogrio
import pytest

from tests.robustness.checks import http_problem

pytestmark = pytest.mark.filterwarnings("ignore")

ITEMS = "/ogcapi/collections/buildings/items"


def _q(**params) -> str:
    return ITEMS + "?" + urllib.parse.urlencode(params)


def _cql_json(obj) -> str:
    return _q(**{"filter": json.dumps(obj), "filter-lang": "cql2-json"})


BIG_IN = "building_type IN (" + ",".join(f"'t{i}'" for i in range(20000)) + ")"
DEEP_AND = " AND ".join(["levels > 0"] * 3000)
DEEP_PARENS = "(" * 5000 + "levels > 0" + ")" * 5000

# name -> (url, must it be refused?)
CQL_CASES = {
    "unknown_property": (_q(filter="nope = 1"), True),
    "unknown_property_json": (_cql_json({"op": "=", "args": [{"property": "nope"}, 1]}), True),
    "syntax_error": (_q(filter="levels >"), True),
    "syntax_garbage": (_q(filter=")))((("), True),
    "unterminated_string": (_q(filter="building_type = 'house"), True),
    "empty_filter": (_q(filter=""), False),
    "blank_filter": (_q(filter="   "), True),
    "nul_in_filter": (_q(filter="building_type = 'a\x00b'"), False),
    "nul_outside_string": (_q(filter="levels\x00 > 1"), True),
    "unicode_property": (_q(filter="💥 = 1"), True),
    "string_vs_number": (_q(filter="levels = 'many'"), True),
    "number_vs_string": (_q(filter="building_type > 5"), True),
    "like_on_number": (_q(filter="levels LIKE 'a%'"), True),
    "huge_number": (_q(filter="levels > 1e999"), False),
    "huge_int": (_q(filter="levels > " + "9" * 5000), True),
    "nan_literal": (_q(filter="levels > NaN"), True),
    # answered (a correct 0 or all rows; see test_good_filters_match_pandas for the counts)
    "huge_in_list": (_q(filter=BIG_IN), False),
    "deep_and": (_q(filter=DEEP_AND), True),
    "deep_parens": (_q(filter=DEEP_PARENS), False),
    "spatial_bad_wkt": (_q(filter="S_INTERSECTS(geometry, POLYGON((1 2, 3)))"), True),
    "spatial_nan_wkt": (_q(filter="S_INTERSECTS(geometry, POINT(nan nan))"), True),
    "spatial_wrong_arg": (_q(filter="S_INTERSECTS(levels, POINT(1 2))"), True),
    "spatial_bbox_inverted": (_q(filter="S_INTERSECTS(geometry, BBOX(10,10,0,0))"), False),
    "unknown_function": (_q(filter="explode(levels) = 1"), True),
    "temporal_bad": (_q(filter="T_AFTER(levels, TIMESTAMP('nope'))"), True),
    "between_reversed": (_q(filter="levels BETWEEN 5 AND 1"), False),
    "is_null": (_q(filter="building_type IS NULL"), False),
    "bad_lang": (_q(filter="levels > 1", **{"filter-lang": "sql"}), True),
    "bad_filter_crs": (_q(filter="levels > 1", **{"filter-crs": "EPSG:99999"}), True),
    "filter_crs_nul": (_q(filter="levels > 1", **{"filter-crs": "\x00"}), True),
    "json_not_json": (_q(**{"filter": "{op:", "filter-lang": "cql2-json"}), True),
    "json_list": (_q(**{"filter": "[1,2]", "filter-lang": "cql2-json"}), True),
    "json_number": (_q(**{"filter": "5", "filter-lang": "cql2-json"}), True),
    "json_unknown_op": (_cql_json({"op": "explode", "args": [1]}), True),
    "json_no_args": (_cql_json({"op": "="}), True),
    "json_args_not_list": (_cql_json({"op": "=", "args": "x"}), True),
    "json_args_nested": (_cql_json({"op": "=", "args": [[[[[{"property": "levels"}]]]], 1]}), False),
    "json_property_list": (_cql_json({"op": "=", "args": [{"property": ["levels"]}, 1]}), True),
    "json_nan": (
        _q(**{"filter": '{"op": ">", "args": [{"property": "levels"}, NaN]}', "filter-lang": "cql2-json"}),
        True,
    ),
    "json_bomb": (_q(**{"filter": "[" * 20000 + "]" * 20000, "filter-lang": "cql2-json"}), True),
    "json_deep_ops": (
        _q(
            **{
                "filter": '{"op":"not","args":[' * 3000 + '{"op":"=","args":[{"property":"levels"},1]}' + "]}" * 3000,
                "filter-lang": "cql2-json",
            }
        ),
        True,
    ),
    "json_huge_in": (
        _cql_json({"op": "in", "args": [{"property": "building_type"}, [f"t{i}" for i in range(20000)]]}),
        False,
    ),
    "json_geometry_bad": (
        _cql_json({"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": 5}]}),
        True,
    ),
    "sortby_unknown": (_q(sortby="nope"), True),
    "sortby_empty_parts": (_q(sortby=",,,"), False),
    "sortby_geometry": (_q(sortby="geometry"), True),
    "sortby_sign_only": (_q(sortby="-"), True),
    "sortby_nul": (_q(sortby="levels\x00"), True),
    "sortby_many": (_q(sortby=",".join(["levels"] * 2000)), False),
    "properties_unknown": (_q(properties="nope"), True),
    "properties_empty": (_q(properties=""), False),
    "properties_nul": (_q(properties="\x00"), True),
    "properties_many": (_q(properties=",".join(["levels"] * 5000)), False),
    "limit_negative": (_q(limit="-5"), True),
    "limit_superscript": (_q(limit="²"), True),
    "limit_huge": (_q(limit="9" * 5000), True),
    "limit_nan": (_q(limit="nan"), True),
    "offset_superscript": (_q(offset="²"), True),
    "offset_huge": (_q(offset="9" * 5000), True),
    "roads_unknown_collection": ("/ogcapi/collections/nope/items?filter=a%3D1", True),
    "queryables_unknown": ("/ogcapi/collections/nope/queryables", True),
}


@pytest.mark.parametrize("case", list(CQL_CASES))
def test_ogc_items_filters(served, case):
    url, refused = CQL_CASES[case]
    resp = served.client.get(url, headers={"Accept": "application/geo+json"})
    resp.get_data()
    problem = http_problem(resp, allow_ok=not refused)
    assert problem is None, problem


@pytest.mark.parametrize(
    ("cql", "keep"),
    [
        ("levels > 1", lambda df: df["levels"] > 1),
        ("levels BETWEEN 5 AND 1", lambda df: df["levels"] < -1e300),
        ("building_type IS NULL", lambda df: df["building_type"].isna()),
        ("levels > 1e999", lambda df: df["levels"] < -1e300),
    ],
    ids=["gt", "between_reversed", "is_null", "huge"],
)
def test_good_filters_match_pandas(served, corner_build, cql, keep):
    """A clean answer to an odd filter is not a silent zero: the count equals pandas' count on the build."""
    df = pyogrio.read_dataframe(corner_build, layer="buildings", read_geometry=False)
    want = int(keep(df).sum())
    resp = served.client.get(_q(filter=cql, limit=10000), headers={"Accept": "application/geo+json"})
    assert resp.status_code == 200, resp.get_data()[:300]
    body = resp.get_json()
    got = body.get("numberMatched", len(body["features"]))
    assert got == want


TILE_CASES = {
    "negative_zoom": ("/ogcapi/collections/buildings/tiles/WebMercatorQuad/-1/0/0", True),
    "zoom_huge": ("/ogcapi/collections/buildings/tiles/WebMercatorQuad/" + "9" * 400 + "/0/0", True),
    "zoom_superscript": ("/ogcapi/collections/buildings/tiles/WebMercatorQuad/%C2%B2/0/0", True),
    "zoom_30": ("/ogcapi/collections/buildings/tiles/WebMercatorQuad/30/0/0", True),
    "row_out_of_range": ("/ogcapi/collections/buildings/tiles/WebMercatorQuad/2/9/0", True),
    "col_negative": ("/ogcapi/collections/buildings/tiles/WebMercatorQuad/2/0/-1", True),
    "row_float": ("/ogcapi/collections/buildings/tiles/WebMercatorQuad/2/1.5/0", True),
    "row_nan": ("/ogcapi/collections/buildings/tiles/WebMercatorQuad/2/nan/0", True),
    "unknown_tms": ("/ogcapi/collections/buildings/tiles/Mars/2/0/0", True),
    "unknown_collection": ("/ogcapi/collections/nope/tiles/WebMercatorQuad/2/0/0", True),
    "bad_f": ("/ogcapi/collections/buildings/tiles/WebMercatorQuad/2/0/0?f=png", True),
    "tms_nul": ("/ogcapi/tileMatrixSets/%00", True),
    "empty_tile": ("/ogcapi/collections/buildings/tiles/WebMercatorQuad/3/0/0", False),
    "map_tile_huge_zoom": ("/map/tiles/buildings/99/0/0.json", True),
    "map_tile_out_of_range": ("/map/tiles/buildings/2/100/100.json", True),
    "map_tile_unknown_layer": ("/map/tiles/nope/2/0/0.json", True),
    "hazard_png_unknown": ("/map/hazard/nope.png", True),
    "hazard_tif_unknown": ("/map/hazard/nope.tif", True),
    "hazard_tile_unknown": ("/map/hazard/nope/2/0/0.png", True),
    "hazard_tile_huge_zoom": ("/map/hazard/current/99/0/0.png", True),
    "hazard_tile_out_of_range": ("/map/hazard/current/2/100/100.png", True),
    "hazard_tile_outside_area": ("/map/hazard/current/5/0/0.png", False),
    "hazard_nul": ("/map/hazard/%00.png", True),
}


@pytest.mark.parametrize("case", list(TILE_CASES))
def test_tiles(served, case):
    url, refused = TILE_CASES[case]
    resp = served.client.get(url)
    body = resp.get_data()
    if refused:
        assert 400 <= resp.status_code < 500, (resp.status_code, body[:200])
        assert resp.is_json, body[:200]
        assert http_problem(resp) is None
    else:
        assert resp.status_code in (200, 204), (resp.status_code, body[:200])
