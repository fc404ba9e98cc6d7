"""GET /api/layers, one layer per format, multi-layer downloads, background export jobs, privacy of reports."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile

import pyogrio
import pytest

from geoapp import create_app
from tests.helpers import bearer

EXACT = [(106.8201 + i * 0.003, -6.1899 - i * 0.002) for i in range(4)]


@pytest.fixture
def api_app(tmp_path, built_area):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "BUILD": str(built_area),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "ANON_RATE_LIMIT": "1000/hour",
            "EXPORT_DIR": str(tmp_path / "exports"),
        }
    )


@pytest.fixture
def api(api_app):
    return api_app.test_client()


@pytest.fixture
def with_reports(api_app, api, make_user):
    """Four published reports with personal fields; returns the moderator token."""
    _, trusted = make_user(api_app, "volunteer", trusted=True)
    _, moderator = make_user(api_app, "moderator")
    feats = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(p)},
            "properties": {
                "id": str(uuid.uuid4()),
                "category": "flooding_observed",
                "description": f"=cmd|' /C calc'!A{i}",
                "reporter_name": "Siti Rahma",
                "reporter_contact": "+62 811 555",
            },
        }
        for i, p in enumerate(EXACT)
    ]
    resp = api.post("/api/reports", json={"type": "FeatureCollection", "features": feats}, headers=bearer(trusted))
    assert resp.get_json()["accepted"] == 4
    return moderator


def _download(client, url, headers=None, **params):
    resp = client.get(url, query_string=params, headers=headers or {})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:400]
    assert resp.headers["Content-Disposition"].startswith("attachment")
    return resp


def test_list_layers(api, built_area):
    doc = api.get("/api/layers").get_json()
    by = {layer["name"]: layer for layer in doc["layers"]}
    assert list(by)[:5] == ["buildings", "facilities", "roads", "boundaries_rw", "boundaries_kelurahan"]
    assert by["buildings"]["features"] == pyogrio.read_info(built_area, layer="buildings")["features"] == 7689
    assert by["roads"]["geometry_type"] == "LineString"
    assert "road_class" in by["roads"]["fields"]
    assert by["buildings"]["description"].startswith("Building footprints")
    assert set(by["roads"]["downloads"]) == {"gpkg", "shp", "geojson", "csv", "kml", "gpx", "fgb"}
    assert "field_reports" in by
    assert by["field_reports"]["features"] is None
    assert {f["f"] for f in doc["formats"]} == {"gpkg", "shp", "geojson", "csv", "kml", "gpx", "fgb"}


@pytest.mark.parametrize(
    ("fmt", "suffix", "reader_layer"),
    [
        ("gpkg", ".gpkg", "facilities"),
        ("geojson", ".geojson", None),
        ("csv", ".zip", None),  # with its .csvt and .prj
        ("kml", ".kml", "facilities"),
        ("gpx", ".gpx", "waypoints"),
        ("fgb", ".fgb", None),
        ("shp", ".zip", None),
    ],
)
def test_one_layer_in_every_format(api, built_area, tmp_path, fmt, suffix, reader_layer):
    resp = _download(api, "/api/layers/facilities", f=fmt)
    assert f"filename=jakarta-facilities{suffix}" in resp.headers["Content-Disposition"]  # names the area
    path = tmp_path / f"facilities{suffix}"
    path.write_bytes(resp.data)
    src = f"/vsizip/{path}/facilities.{fmt}" if fmt in ("shp", "csv") else path
    kwargs = {"AUTODETECT_TYPE": "YES", "GEOM_POSSIBLE_NAMES": "WKT"} if fmt == "csv" else {}
    back = pyogrio.read_dataframe(src, layer=reader_layer, **kwargs)
    expected = pyogrio.read_dataframe(built_area, layer="facilities")
    assert len(back) == len(expected) == 1243
    names = back["Name" if fmt == "kml" and "Name" in back else "name"]
    if fmt == "fgb":  # spatially ordered
        assert sorted(names.fillna("")) == sorted(expected.name.fillna(""))
    else:
        strip = names.fillna("").str.lstrip("'") if fmt == "csv" else names.fillna("")
        assert strip.tolist() == expected.name.fillna("").tolist()
    # a second download of the same build is served from the cache, same bytes
    assert _download(api, "/api/layers/facilities", f=fmt).data == resp.data


def test_multi_layer_download_gpkg_and_zip(api, tmp_path):
    resp = _download(api, "/api/exports", layers="roads,boundaries_kelurahan", f="gpkg")
    path = tmp_path / "layers.gpkg"
    path.write_bytes(resp.data)
    assert [n for n, _ in pyogrio.list_layers(path)][:2] == ["roads", "boundaries_kelurahan"]
    assert pyogrio.read_info(path, layer="roads")["features"] == 18574
    meta = pyogrio.read_dataframe(path, layer="geoapp_metadata", read_geometry=False)
    meta = dict(zip(meta.key, meta.value, strict=False))
    assert "OpenStreetMap" in meta["source"]
    assert meta["layers"] == "roads,boundaries_kelurahan"
    z = _download(api, "/api/exports", layers="roads,boundaries_kelurahan", f="geojson")
    assert z.mimetype == "application/zip"
    assert sorted(zipfile.ZipFile(io.BytesIO(z.data)).namelist()) == ["boundaries_kelurahan.geojson", "roads.geojson"]


def test_bad_requests(api):
    assert api.get("/api/layers/nope").status_code == 404
    r = api.get("/api/layers/roads", query_string={"f": "xlsx"})
    assert r.status_code == 400
    assert "f 'xlsx'" in r.get_json()["error"]["message"]
    assert api.get("/api/exports").status_code == 400
    assert api.get("/api/exports", query_string={"layers": "roads,nope"}).status_code == 404
    assert api.post("/api/exports", data="x", content_type="text/plain").status_code == 400
    assert api.get("/api/exports/abc").status_code == 404


def _wait(api, job_url, headers=None):
    seen = []
    for _ in range(600):
        doc = api.get(job_url, headers=headers or {}).get_json()
        seen.append(doc["progress"])
        if doc["status"] in ("done", "failed"):
            return doc, seen
        time.sleep(0.05)
    raise AssertionError("export job did not finish")


def test_background_job_with_progress(api, api_app, tmp_path):
    resp = api.post("/api/exports", json={"layers": ["buildings", "roads"], "f": "shp"})
    assert resp.status_code == 202
    assert resp.headers["Location"].endswith(resp.get_json()["id"])
    doc, seen = _wait(api, resp.headers["Location"].replace("http://localhost", ""))
    assert doc["status"] == "done"
    assert doc["progress"] == 1.0
    assert seen == sorted(seen)
    data = api.get(doc["links"]["file"].replace("http://localhost", "")).data
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {"buildings.shp", "roads.shp", "fields.csv"} <= set(names)
    # large downloads become jobs by themselves
    api_app.config["EXPORT_SYNC_MAX_FEATURES"] = 1000
    big = api.get("/api/layers/boundaries_rw", query_string={"f": "fgb"})
    assert big.status_code == 202
    assert big.get_json()["status"] in ("queued", "running", "done")
    doc, _ = _wait(api, big.headers["Location"].replace("http://localhost", ""))
    assert doc["status"] == "done"


def test_anonymous_export_of_reports_has_no_personal_field_and_no_exact_place(api, with_reports, tmp_path):
    for fmt in ("gpkg", "geojson", "csv", "shp", "kml"):
        resp = _download(api, "/api/layers/field_reports", f=fmt)
        blob = resp.data
        assert b"Siti" not in blob, fmt
        assert b"+62 811" not in blob, fmt
        path = tmp_path / f"r.{'zip' if fmt in ('shp', 'csv') else fmt}"
        path.write_bytes(blob)
        src = f"/vsizip/{path}/field_reports.{fmt}" if fmt in ("shp", "csv") else path
        kwargs = {"GEOM_POSSIBLE_NAMES": "WKT"} if fmt == "csv" else {}
        back = pyogrio.read_dataframe(src, layer="field_reports" if fmt in ("gpkg", "kml") else None, **kwargs)
        assert len(back) == 4
        assert not {"reporter_name", "reporter_contact", "reporter_n", "reporter_c", "created_by"} & set(back.columns)
        back = back.set_crs(4326) if back.crs is None else back.to_crs(4326)
        xy = {(round(g.x, 7), round(g.y, 7)) for g in back.geometry}
        assert not xy & {(round(x, 7), round(y, 7)) for x, y in EXACT}, fmt
    # the CSV neutralises the formula in the description
    zipped = io.BytesIO(_download(api, "/api/layers/field_reports", f="csv").data)
    text = zipfile.ZipFile(zipped).read("field_reports.csv").decode()
    assert "\"'=cmd|" in text or ",'=cmd|" in text


def test_moderator_export_is_exact_and_not_cached(api, with_reports, tmp_path):
    resp = _download(api, "/api/layers/field_reports", headers=bearer(with_reports), f="geojson")
    fc = json.loads(resp.data)
    assert {f["properties"]["reporter_name"] for f in fc["features"]} == {"Siti Rahma"}
    got = sorted(tuple(round(c, 6) for c in f["geometry"]["coordinates"]) for f in fc["features"])
    assert got == sorted((round(x, 6), round(y, 6)) for x, y in EXACT)
    # the anonymous download right after does not get the moderator's file
    assert b"Siti" not in _download(api, "/api/layers/field_reports", f="geojson").data
    # a moderator's job is theirs only
    job = api.post("/api/exports", json={"layers": ["field_reports"], "f": "gpkg"}, headers=bearer(with_reports))
    url = job.headers["Location"].replace("http://localhost", "")
    assert api.get(url).status_code == 403
    doc, _ = _wait(api, url, bearer(with_reports))
    assert doc["status"] == "done"


def test_old_cached_exports_are_pruned(api, api_app, tmp_path):
    import os

    folder = tmp_path / "exports"
    folder.mkdir(exist_ok=True)
    stale = folder / "0123456789abcdef0123.gpkg"
    stale.write_bytes(b"old")
    os.utime(stale, (time.time() - 8 * 86400, time.time() - 8 * 86400))
    _download(api, "/api/layers/boundaries_kelurahan", f="gpkg")
    assert not stale.exists()
    assert len(list(folder.glob("*.gpkg"))) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"layers": [None]}, "layers"),
        ({"layers": [1, "buildings"]}, "layers"),
        ({"layers": [["buildings"]]}, "layers"),
        ({"layers": {"a": 1}}, "layers"),
        ({"layers": None}, "layers"),
        ({"layers": ["buildings"], "f": None}, "f"),
        ({"layers": ["buildings"], "f": ["gpkg"]}, "f"),
        ({"layers": ["buildings"], "f": 7}, "f"),
        ({"layers": ["buildings"], "csv_geometry": {"x": 1}}, "csv_geometry"),
        ({"layers": ["buildings"], "csv_geometry": None}, "csv_geometry"),
    ],
)
def test_export_job_body_of_wrong_json_types_is_a_400_naming_the_field(api, body, field):
    """Issue 14 #7: {"layers": [null]} was a 500."""
    resp = api.post("/api/exports", json=body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["message"].startswith(field)


def test_export_jobs_are_capped_per_client(api, api_app):
    """Issue 14 #6: a client gets EXPORT_JOBS_PER_CLIENT jobs at once; beyond, 429 with a JSON error.

    The jobs are rows of the jobs table, so the caps hold across server processes.
    """
    from geoapp.jobs import store

    api_app.config["EXPORT_JOBS_PER_CLIENT"] = 2
    api_app.config["JOB_STALE_S"] = 3600  # the busy rows below have no worker beating for them
    engine = api_app.extensions["geoapp.db"]
    busy = []
    # Two jobs of this client still running (as if a worker were busy with them).
    for _ in range(2):
        job_id, _new = store.create(
            engine,
            "export",
            {"names": ["buildings"], "format": "kml", "client": "ip:127.0.0.1"},
            owner=None,
            lock=None,
            dedupe_key=None,
            delay_s=0,
        )
        store.claim(engine, job_id, "elsewhere:1")
        busy.append(job_id)
    resp = api.post("/api/exports", json={"layers": ["buildings"], "f": "kml"})
    assert resp.status_code == 429
    assert resp.get_json()["error"]["code"] == "too_many_requests"
    assert "2 export jobs" in resp.get_json()["error"]["message"]
    assert int(resp.headers["Retry-After"]) >= 1
    # Another client is not held up by this one.
    other = api.post(
        "/api/exports", json={"layers": ["roads"], "f": "geojson"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 202
    _wait(api, other.headers["Location"].replace("http://localhost", ""))
    # Once one finishes, this client may start another.
    store.finish(engine, busy[0], None)
    again = api.post("/api/exports", json={"layers": ["buildings"], "f": "geojson"})
    assert again.status_code == 202
    _wait(api, again.headers["Location"].replace("http://localhost", ""))
    # The server-wide cap holds for everyone.
    api_app.config["EXPORT_JOBS_MAX"] = 1
    assert (
        api.post(
            "/api/exports", json={"layers": ["roads"], "f": "kml"}, environ_base={"REMOTE_ADDR": "10.1.1.1"}
        ).status_code
        == 429
    )
