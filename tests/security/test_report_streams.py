"""Streamed report listings with points and community polygons together (issue 14 #3), SQLite and PostGIS."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest

from tests.helpers import bearer, collection, feature

POLY = {
    "type": "Polygon",
    "coordinates": [[[106.80, -6.20], [106.81, -6.20], [106.81, -6.21], [106.80, -6.21], [106.80, -6.20]]],
}


def _boundary(**props) -> dict:
    props = {"id": str(uuid.uuid4()), "category": "community_boundary", "name": "RW 05", **props}
    return {"type": "Feature", "geometry": POLY, "properties": props}


def _mixed(storage_app, make_user, *, publish: bool) -> tuple:
    client = storage_app.test_client()
    _, mod = make_user(storage_app, "moderator")
    _, vol = make_user(storage_app, "volunteer", trusted=publish)
    body = collection(feature(), _boundary(), feature("need_food", (106.831, -6.201)), _boundary(name="RW 06"))
    assert client.post("/api/reports", json=body, headers=bearer(vol)).json["accepted"] == 4
    return client, mod


@pytest.mark.parametrize("who", ["public", "moderator"])
def test_geojson_listing_with_polygons_is_complete_and_valid(storage_app, make_user, who):
    client, mod = _mixed(storage_app, make_user, publish=True)
    resp = client.get("/api/reports", headers=bearer(mod) if who == "moderator" else {})
    fc = json.loads(resp.get_data(as_text=True))  # the whole stream parses
    assert sorted(f["geometry"]["type"] for f in fc["features"]) == ["Point", "Point", "Polygon", "Polygon"]
    poly = next(f for f in fc["features"] if f["geometry"]["type"] == "Polygon")
    assert poly["geometry"] == POLY


def test_moderation_queue_lists_a_pending_polygon(storage_app, make_user):
    client, mod = _mixed(storage_app, make_user, publish=False)
    resp = client.get("/api/reports", query_string={"status": "pending", "limit": 500}, headers=bearer(mod))
    fc = json.loads(resp.get_data(as_text=True))
    assert len(fc["features"]) == 4
    assert [f["properties"]["category"] for f in fc["features"]].count("community_boundary") == 2


@pytest.mark.parametrize("who", ["public", "moderator"])
def test_csv_listing_with_polygons_has_every_row(storage_app, make_user, who):
    client, mod = _mixed(storage_app, make_user, publish=True)
    resp = client.get("/api/reports", query_string={"f": "csv"}, headers=bearer(mod) if who == "moderator" else {})
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 4
    assert sum(r["wkt"].startswith("POLYGON") for r in rows) == 2
    assert sum(r["wkt"] == "" for r in rows) == 2


def test_one_report_and_the_bbox_listing_with_polygons(storage_app, make_user):
    client, _ = _mixed(storage_app, make_user, publish=True)
    fc = json.loads(client.get("/api/reports", query_string={"bbox": "106.79,-6.22,106.84,-6.19"}).data)
    assert len(fc["features"]) == 4
    poly = next(f for f in fc["features"] if f["geometry"]["type"] == "Polygon")
    one = client.get(f"/api/reports/{poly['id']}")
    assert one.status_code == 200
    assert one.json["geometry"] == POLY


@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_a_stream_that_fails_part_way_ends_visibly_invalid(storage_app, make_user, monkeypatch, fmt):
    """A failure after the 200 was sent ends the body with a marker no parser reads as a complete answer."""
    import geoapp.views.reports as views

    client, _ = _mixed(storage_app, make_user, publish=True)
    calls = {"n": 0}
    real = views.features

    def failing(frame):
        calls["n"] += 1
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "features", failing)
    if fmt == "csv":
        monkeypatch.setattr(views, "neutralise_formulas", lambda frame: failing(frame))
    text = client.get("/api/reports", query_string={"f": fmt}).get_data(as_text=True)
    assert calls["n"] == 1
    if fmt == "geojson":
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        assert views.STREAM_FAILED_JSON in text
    else:
        assert text.endswith(views.STREAM_FAILED_CSV)
    assert real is not failing
