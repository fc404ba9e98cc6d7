"""Uploads fed bad input: POST /api/reports (wrong JSON types per field), POST /api/reports/import and
`geoapp reports import` (bad files). Each answers a 4xx JSON error (or a summary of rejected rows), never
a 5xx or a traceback, and the reports already stored stay exactly as they were."""

from __future__ import annotations

import io
import json

import pytest

from tests.helpers import bearer, feature
from tests.robustness.badreports import REPORT_FILES
from tests.robustness.checks import NO_CRASH, assert_clear_cli, http_problem, run_cli
from tests.robustness.conftest import count_reports

# GDAL's notes on odd files (e.g. "Non closed ring detected") are not failures of the service.
pytestmark = pytest.mark.filterwarnings("ignore")

# Wrong values for every field of a submitted Feature.
WRONG_VALUES = {
    "null": None,
    "int": 7,
    "float": 1.5,
    "bool": True,
    "list": [1, 2],
    "object": {"a": 1},
    "empty": "",
    "nul": "a\x00b",
    "huge_text": "x" * 200_000,
}
PROPERTY_FIELDS = ["id", "category", "observed_at", "severity", "photo", "attributes"]
# Free-text fields: a non-text value may be stored as text, but never crash.
TEXT_FIELDS = ["description", "reporter_name", "reporter_contact"]
# Values a text field can legitimately hold.
TEXT_OK = {"int", "float", "bool", "empty", "null", "huge_text", "nul"}


def _property_cases():
    for field in PROPERTY_FIELDS + TEXT_FIELDS:
        for name, value in WRONG_VALUES.items():
            if field == "id" and name in ("null", "empty"):
                continue  # a report without an id is a fresh report
            if field in ("severity", "photo", "attributes", "observed_at") and name in ("null", "empty"):
                continue  # optional fields may be empty
            if field == "attributes" and name == "object":
                continue  # the right type
            ok = field in TEXT_FIELDS and name in TEXT_OK
            yield pytest.param(field, value, ok, id=f"properties.{field}={name}")


GEOMETRIES = {
    "nan_point": '{"type": "Point", "coordinates": [NaN, NaN]}',
    "inf_point": '{"type": "Point", "coordinates": [Infinity, -6.2]}',
    "huge_point": '{"type": "Point", "coordinates": [1e308, 1e308]}',
    "overflow_point": '{"type": "Point", "coordinates": [1e999, -6.2]}',
    "out_of_range": '{"type": "Point", "coordinates": [200, -95]}',
    "string_coords": '{"type": "Point", "coordinates": ["106.8", "-6.2"]}',
    "one_coord": '{"type": "Point", "coordinates": [106.8]}',
    "empty_coords": '{"type": "Point", "coordinates": []}',
    "null_coords": '{"type": "Point", "coordinates": null}',
    "nested_coords": '{"type": "Point", "coordinates": [[106.8, -6.2]]}',
    "unknown_type": '{"type": "Circle", "coordinates": [106.8, -6.2]}',
    "type_number": '{"type": 5, "coordinates": [106.8, -6.2]}',
    "geometry_string": '"POINT (106.8 -6.2)"',
    "geometry_list": "[106.8, -6.2]",
    "line": '{"type": "LineString", "coordinates": [[106.8, -6.2], [106.81, -6.2]]}',
    "unclosed_polygon": '{"type": "Polygon", "coordinates": [[[106.8, -6.2], [106.81, -6.2], [106.8, -6.21]]]}',
    "nan_polygon": '{"type": "Polygon", "coordinates": [[[NaN, -6.2], [106.81, -6.2], [106.8, -6.21], [NaN, -6.2]]]}',
}
BODIES = {
    "empty": b"",
    "not_json": b"hello",
    "truncated": b'{"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.8,',
    "latin1": '{"type": "Feature", "properties": {"description": "é"}}'.encode("latin-1"),
    "utf16": json.dumps(feature()).encode("utf-16"),
    "invalid_utf8": b'{"type": "Feature", "properties": {"description": "\xff\xfe"}}',
    "nul_byte": b'{"type": "Feature"\x00}',
    "array": b"[]",
    "number": b"5",
    "null": b"null",
    "string": b'"Feature"',
    "type_missing": b'{"geometry": null}',
    "type_wrong": b'{"type": "Topology"}',
    "features_not_list": b'{"type": "FeatureCollection", "features": {"a": 1}}',
    "features_of_numbers": b'{"type": "FeatureCollection", "features": [1, 2]}',
    "features_null": b'{"type": "FeatureCollection", "features": null}',
    "properties_list": b'{"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.81, -6.2]}, '
    b'"properties": [1]}',
    "deep_nesting": b'{"type": "Feature", "properties": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
    "duplicate_keys": b'{"type": "Feature", "type": "FeatureCollection"}',
}


def _post(served, body: bytes, token: str | None = "volunteer"):
    headers = {"Content-Type": "application/json", **(bearer(served.tokens[token]) if token else {})}
    return served.client.post("/api/reports", data=body, headers=headers)


def _check_unchanged(served, resp, before: int, *, ok: bool = False) -> None:
    problem = http_problem(resp, allow_ok=ok)
    after = served.count()
    if problem is None and resp.status_code < 400:
        accepted = (resp.get_json(silent=True) or {}).get("accepted", 0)
        problem = None if after == before + accepted else f"{after - before} reports stored, {accepted} accepted"
    elif problem is None and after != before:
        problem = f"{resp.status_code} but {after - before} reports were stored"
    assert problem is None, problem


@pytest.mark.parametrize(("field", "value", "ok"), list(_property_cases()))
def test_submit_wrong_property_type(served, field, value, ok):
    body = feature(coords=(106.815, -6.205))
    body["properties"][field] = value
    before = served.count()
    _check_unchanged(served, _post(served, json.dumps(body).encode()), before, ok=ok)


@pytest.mark.parametrize("geometry", list(GEOMETRIES.values()), ids=list(GEOMETRIES))
@pytest.mark.parametrize("wrapper", ["feature", "collection"])
def test_submit_bad_geometry(served, geometry, wrapper):
    props = json.dumps(feature()["properties"])
    one = f'{{"type": "Feature", "geometry": {geometry}, "properties": {props}}}'
    body = one if wrapper == "feature" else f'{{"type": "FeatureCollection", "features": [{one}]}}'
    before = served.count()
    _check_unchanged(served, _post(served, body.encode()), before)


@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
@pytest.mark.parametrize("who", ["volunteer", None])
def test_submit_bad_body(served, body, who):
    before = served.count()
    # JSON may come as UTF-16 (RFC 8259 allows readers to detect it)
    _check_unchanged(served, _post(served, body, who), before, ok=body == BODIES["utf16"])


@pytest.mark.parametrize("case", list(REPORT_FILES))
def test_http_import_bad_file(served, case):
    builder, must_reject = REPORT_FILES[case]
    name, data = builder()
    before = served.count()
    resp = served.client.post(
        "/api/reports/import",
        data={"file": (io.BytesIO(data), name)},
        headers=bearer(served.tokens["moderator"]),
        content_type="multipart/form-data",
    )
    _check_unchanged(served, resp, before, ok=True)
    if must_reject and resp.status_code < 400:
        assert resp.get_json()["accepted"] == 0, f"{case}: {resp.get_json()}"


IMPORT_FORMS = {
    "no_file_field": {},
    "empty_filename": {"file": (io.BytesIO(b"a,b\n"), "")},
    "unknown_category": {"file": (io.BytesIO(b"lon,lat\n106.82,-6.205\n"), "r.csv"), "category": "volcano"},
    "nul_category": {"file": (io.BytesIO(b"lon,lat\n106.82,-6.205\n"), "r.csv"), "category": "a\x00"},
    "path_in_filename": {"file": (io.BytesIO(b"lon,lat\n106.82,-6.205\n"), "../../etc/passwd.csv")},
}


@pytest.mark.parametrize("form", list(IMPORT_FORMS), ids=list(IMPORT_FORMS))
def test_http_import_bad_form(served, form):
    data = {
        k: (io.BytesIO(v[0].getvalue()), v[1]) if isinstance(v, tuple) else v for k, v in IMPORT_FORMS[form].items()
    }
    before = served.count()
    resp = served.client.post(
        "/api/reports/import",
        data=data,
        headers=bearer(served.tokens["moderator"]),
        content_type="multipart/form-data",
    )
    _check_unchanged(served, resp, before, ok=form not in ("no_file_field", "empty_filename"))


@pytest.mark.parametrize("case", list(REPORT_FILES))
def test_cli_import_bad_file(served, tmp_path, case):
    builder, must_reject = REPORT_FILES[case]
    name, data = builder()
    path = tmp_path / name
    path.write_bytes(data)
    before = served.count()
    result, caught = run_cli(["reports", "import", path, "--db", served.app.config["DATABASE_URL"]])
    assert_clear_cli(result, caught, NO_CRASH)  # a summary of rejected rows is a clear answer too
    accepted = json.loads(result.stdout)["accepted"] if result.exit_code == 0 else 0
    assert count_reports(served.app) == before + accepted
    if must_reject:
        assert accepted == 0, result.stdout
