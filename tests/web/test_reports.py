"""POST/GET /api/reports on SQLite and PostGIS: submit, idempotent resend, validation, filters, streams, concurrency."""

from __future__ import annotations

import base64
import csv
import io
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.helpers import JAKARTA, bearer, collection, feature, live_server


def get_all(client, headers=None, **params) -> dict:
    resp = client.get("/api/reports", query_string=params, headers=headers or {})
    assert resp.status_code == 200, resp.data
    assert resp.is_streamed
    return json.loads(resp.data)


def test_submit_feature_then_resend_is_not_a_duplicate(storage_app, storage_client, make_user):
    """A resend with the same client id answers 200 'duplicates: 1' and stores nothing new."""
    _, mod = make_user(storage_app, "moderator")
    f = feature(description="drain full of rubbish", severity=3, observed_at="2024-05-01T08:00:00+07:00")
    first = storage_client.post("/api/reports", json=f)
    assert first.status_code == 201, first.data
    assert first.json == {"accepted": 1, "duplicates": 0, "rejected": [], "ids": [f["properties"]["id"]]}
    again = storage_client.post("/api/reports", json=f)
    assert again.status_code == 200
    assert again.json["accepted"] == 0
    assert again.json["duplicates"] == 1
    fc = get_all(storage_client, bearer(mod))
    assert [x["id"] for x in fc["features"]] == [f["properties"]["id"]]
    props = fc["features"][0]["properties"]
    assert props["status"] == "pending"
    assert props["source"] == "api"
    assert props["severity"] == 3
    assert props["observed_at"].startswith("2024-05-01T01:00:00")
    assert fc["features"][0]["geometry"] == {"type": "Point", "coordinates": list(JAKARTA)}


def test_collection_keeps_good_features_and_lists_bad_ones(storage_app, storage_client, make_user):
    _, mod = make_user(storage_app, "moderator")
    good = feature()
    body = collection(good, feature("volcano"), feature(coords=(-6.2, 106.83)))
    resp = storage_client.post("/api/reports", json=body)
    assert resp.status_code == 201
    assert resp.json["accepted"] == 1
    rows = {e["row"]: e["error"] for e in resp.json["rejected"]}
    assert "unknown category 'volcano'" in rows[2]
    assert "look swapped" in rows[3]
    assert len(get_all(storage_client, bearer(mod))["features"]) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (feature(coords=(200, 0)), "longitude 200.0 is outside -180..180"),
        (feature(coords=(10, 95)), "latitude 95.0 is outside -90..90"),
        (feature("volcano"), "unknown category 'volcano'"),
        (feature(observed_at=(datetime.now(UTC) + timedelta(days=2)).isoformat()), "is in the future"),
        (feature(description="x" * 6000), "the limit is 5000"),
        (feature(severity=7), "severity must be a whole number"),
        (feature(id="not-a-uuid"), "is not a UUID"),
        (feature(reporter_name="n" * 300), "reporter_name is longer than 200"),
        ({"type": "Feature", "geometry": None, "properties": {"category": "blocked_drain"}}, "no location"),
        ({"type": "Point", "coordinates": [1, 2]}, "must be 'Feature' or 'FeatureCollection'"),
        (feature("flooding_observed", depth_m=-1), "depth_m must be between 0 and 30"),
        (feature(photo="data:text/plain;base64,aGk="), "photo must be a data URL"),
        (feature(photo="data:image/jpeg;base64,////"), "JPEG or PNG"),
    ],
)
def test_every_validation_error_is_a_400_naming_the_problem(storage_client, body, message):
    resp = storage_client.post("/api/reports", json=body)
    assert resp.status_code == 400, resp.data
    assert message in resp.json["error"]["message"]
    assert resp.json["error"]["code"] == "invalid_input"
    assert get_all(storage_client)["features"] == []


def test_malformed_json_empty_body_and_oversized_body(app, client):
    resp = client.post("/api/reports", data=b'{"type": "Feature",', content_type="application/json")
    assert resp.status_code == 400
    assert "not valid JSON" in resp.json["error"]["message"]
    resp = client.post("/api/reports", data=b"", content_type="application/json")
    assert resp.status_code == 400
    assert "empty" in resp.json["error"]["message"]
    for depth in (70, 50_000):  # deeper than the limit; deeper than Python's recursion (RecursionError, was a 500)
        body = b'{"type": "Feature", "properties": ' + b'{"a": ' * depth + b"1" + b"}" * (depth + 1)
        resp = client.post("/api/reports", data=body, content_type="application/json")
        assert resp.status_code == 400, resp.data
        assert resp.json["error"]["message"] == "the body is nested more than 64 levels deep"
    app.config["MAX_CONTENT_LENGTH"] = 1000
    resp = client.post("/api/reports", json=feature(description="x" * 2000))
    assert resp.status_code == 413
    assert resp.json["error"]["code"]


def test_outside_area_is_flagged_for_moderators(storage_app, storage_client, make_user):
    _, mod = make_user(storage_app, "moderator")
    resp = storage_client.post("/api/reports", json=feature(coords=(2.35, 48.85)))
    assert resp.status_code == 201
    props = get_all(storage_client, bearer(mod))["features"][0]["properties"]
    assert props["outside_area"] is True


def test_photo_is_stored_without_exif_and_served_once_published(storage_app, storage_client, make_user):
    _, mod = make_user(storage_app, "moderator")
    im = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretPhone"
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif)
    f = feature(photo="data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode())
    assert storage_client.post("/api/reports", json=f).status_code == 201
    rid = f["properties"]["id"]
    assert storage_client.get(f"/api/reports/{rid}/photo").status_code == 404  # pending: not public yet
    photo = storage_client.get(f"/api/reports/{rid}/photo", headers=bearer(mod))
    assert photo.status_code == 200
    assert photo.mimetype == "image/jpeg"
    assert b"SecretPhone" not in photo.data
    storage_client.post(f"/api/reports/{rid}/review", json={"status": "published"}, headers=bearer(mod))
    assert storage_client.get(f"/api/reports/{rid}/photo").status_code == 200
    assert get_all(storage_client)["features"][0]["properties"]["has_photo"] is True


def test_filters_bbox_status_category_limit_offset_and_csv(storage_app, storage_client, make_user):
    _, mod = make_user(storage_app, "moderator")
    _, trusted = make_user(storage_app, "volunteer", trusted=True)
    pts = [(106.80 + i * 0.01, -6.20) for i in range(5)]
    published = collection(*[feature("blocked_drain", p, description=f"d{i}") for i, p in enumerate(pts)])
    assert storage_client.post("/api/reports", json=published, headers=bearer(trusted)).json["accepted"] == 5
    storage_client.post("/api/reports", json=feature("need_food", (106.81, -6.21)))  # pending
    assert len(get_all(storage_client)["features"]) == 5  # the public: published only
    assert len(get_all(storage_client, bearer(mod))["features"]) == 6
    assert len(get_all(storage_client, bearer(mod), status="pending")["features"]) == 1
    assert len(get_all(storage_client, bearer(mod), category="need_food")["features"]) == 1
    box = get_all(storage_client, bbox="106.805,-6.25,106.825,-6.15")
    assert sorted(f["properties"]["description"] for f in box["features"]) == ["d1", "d2"]
    page = get_all(storage_client, limit=2, offset=1)
    assert [f["properties"]["description"] for f in page["features"]] == ["d1", "d2"]
    resp = storage_client.get("/api/reports", query_string={"f": "csv"})
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.data.decode())))
    assert len(rows) == 5
    assert {"id", "category", "lon", "lat", "status"} <= set(rows[0])
    assert "reporter_name" not in rows[0]


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"bbox": "1,2,3"}, 400, "bbox must be"),
        ({"bbox": "5,0,1,1"}, 400, "min ≤ max"),
        ({"status": "pending"}, 403, "only moderators"),
        ({"status": "lost"}, 400, "status must be among"),
        ({"category": "volcano"}, 400, "unknown category"),
        ({"limit": "-1"}, 400, "limit must be between"),
        ({"limit": "ten"}, 400, "whole number"),
        ({"f": "xml"}, 400, "f must be"),
    ],
)
def test_bad_query_parameters(client, params, status, message):
    resp = client.get("/api/reports", query_string=params)
    assert resp.status_code == status
    assert message in resp.json["error"]["message"]


def test_empty_result_is_an_empty_collection(client):
    assert get_all(client) == {"type": "FeatureCollection", "features": []}


@pytest.mark.slow
def test_concurrent_submissions_are_all_stored_exactly_once(app, make_user):
    """20 threads × 200 submissions (some sent twice) through a real threaded server on SQLite (WAL): exactly 4,000."""
    storage_app = app
    from http.client import HTTPConnection

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from geoapp.models import Report

    _, token = make_user(storage_app, "volunteer")
    failures: list = []

    def worker(port: int, n: int) -> None:
        conn = HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        try:
            for i in range(200):
                body = json.dumps(feature(coords=(106.8 + n * 0.001, -6.2 - i * 0.0001), description=f"{n}/{i}"))
                for _ in range(2 if i % 20 == 0 else 1):  # some resends of the same id
                    conn.request("POST", "/api/reports", body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    if resp.status not in (200, 201):
                        failures.append(resp.status)
        finally:
            conn.close()

    with live_server(storage_app) as base:
        port = urlsplit(base).port
        threads = [threading.Thread(target=worker, args=(port, n)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == []
    with Session(storage_app.extensions["geoapp.db"]) as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 4000
        assert s.scalar(select(func.count(func.distinct(Report.description)))) == 4000


def test_postgis_geometry_column_follows_lon_lat_and_polygons(storage_app, storage_client, make_user):
    """On PostGIS the generated ``geom`` holds the point (or the community polygon) for GIS clients."""
    if storage_app.extensions["geoapp.db"].dialect.name != "postgresql":
        pytest.skip("PostGIS only")
    from sqlalchemy import text

    _, mod = make_user(storage_app, "moderator")
    poly = {"type": "Polygon", "coordinates": [[[106.8, -6.2], [106.81, -6.2], [106.81, -6.21], [106.8, -6.2]]]}
    f = {
        "type": "Feature",
        "geometry": poly,
        "properties": {"id": str(uuid.uuid4()), "category": "community_boundary", "name": "RW 05"},
    }
    assert storage_client.post("/api/reports", json=collection(feature(), f), headers=bearer(mod)).json["accepted"] == 2
    with storage_app.extensions["geoapp.db"].connect() as conn:
        rows = conn.execute(
            text(
                "SELECT category, ST_GeometryType(geom), ST_X(ST_PointOnSurface(geom)), ST_SRID(geom) "
                "FROM reports ORDER BY category"
            )
        ).all()
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("blocked_drain", "ST_Point", 4326),
        ("community_boundary", "ST_Polygon", 4326),
    ]
    assert rows[0][2] == pytest.approx(JAKARTA[0])
    fc = get_all(storage_client, bbox="106.79,-6.22,106.82,-6.19")
    assert [x["geometry"]["type"] for x in fc["features"]] == ["Polygon"]  # public: the boundary, exact


def test_the_same_report_sent_by_20_threads_at_once_is_stored_once(storage_app, make_user):
    """A resend racing the original (two tabs, a retry after a timeout): one row, one 'accepted', 19 duplicates."""
    from http.client import HTTPConnection

    _, token = make_user(storage_app, "volunteer")
    body = json.dumps(feature(description="raced"))
    barrier = threading.Barrier(20)
    answers: list = []

    def send(port: int) -> None:
        conn = HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        conn.request(
            "POST",
            "/api/reports",
            body=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        resp = conn.getresponse()
        answers.append((resp.status, json.loads(resp.read())))
        conn.close()

    with live_server(storage_app) as base:
        port = urlsplit(base).port
        threads = [threading.Thread(target=send, args=(port,)) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(a[0] for a in answers) == [200] * 19 + [201]
    assert sum(a[1]["accepted"] for a in answers) == 1
    assert sum(a[1]["duplicates"] for a in answers) == 19
    _, mod = make_user(storage_app, "moderator")
    assert len(get_all(storage_app.test_client(), bearer(mod))["features"]) == 1


def test_bbox_finds_polygons_that_cross_it_on_postgis(storage_app, storage_client, make_user):
    """On PostGIS the bbox is a spatial test on ``geom``: a community boundary crossing the box is found."""
    if storage_app.extensions["geoapp.db"].dialect.name != "postgresql":
        pytest.skip("PostGIS only: SQLite tests the representative point")
    _, mod = make_user(storage_app, "moderator")
    poly = {
        "type": "Polygon",
        "coordinates": [[[106.80, -6.20], [106.84, -6.20], [106.84, -6.24], [106.80, -6.24], [106.80, -6.20]]],
    }
    f = {"type": "Feature", "geometry": poly, "properties": {"id": str(uuid.uuid4()), "category": "community_boundary"}}
    assert storage_client.post("/api/reports", json=f, headers=bearer(mod)).status_code == 201
    corner = "106.835,-6.205,106.845,-6.195"  # overlaps the polygon's north-east corner only
    assert len(get_all(storage_client, bbox=corner)["features"]) == 1
    assert len(get_all(storage_client, bearer(mod), bbox=corner)["features"]) == 1
    assert get_all(storage_client, bbox="106.9,-6.3,107.0,-6.25")["features"] == []


def test_an_unread_stream_holds_no_request_context(app, client):
    """The listing streams without keeping the request context: an answer nobody reads leaks nothing."""
    from flask import has_app_context, has_request_context

    client.post("/api/reports", json=feature())
    resp = client.get("/api/reports", query_string={"category": "blocked_drain"})
    assert resp.status_code == 200
    assert resp.is_streamed
    assert not has_request_context()
    assert not has_app_context()
    resp.close()


def test_participation_counts_are_counted_in_the_database(storage_app, make_user):
    """The dashboard's participation figures without loading reports: statuses, contributors, mapped units."""
    import geopandas as gpd
    import shapely

    from geoapp.reports.query import participation_counts

    client = storage_app.test_client()
    _, trusted = make_user(storage_app, "volunteer", trusted=True)
    _, vol = make_user(storage_app, "volunteer")
    client.post("/api/reports", json=collection(feature(), feature(coords=(106.9, -6.3))), headers=bearer(trusted))
    client.post("/api/reports", json=feature(), headers=bearer(vol))
    client.post("/api/reports", json=feature())  # anonymous, pending
    units = gpd.GeoDataFrame(
        geometry=[shapely.box(106.82, -6.21, 106.84, -6.19), shapely.box(107.0, -6.0, 107.1, -5.9)], crs=4326
    ).to_crs(32748)
    with storage_app.app_context():
        counts = participation_counts(units)
        plain = participation_counts()
    assert counts == {
        "reports_received": 4,
        "published": 2,
        "pending": 2,
        "rejected": 0,
        "contributors": 2,
        "neighbourhoods_mapped": 1,
        "neighbourhoods_total": 2,
    }
    assert "neighbourhoods_mapped" not in plain
