"""Attacks on report ids (issue 14 #1, #2), on SQLite and PostGIS: no exact point from a public id, no id claiming.

Households are real Jakarta building centroids (the sample area's buildings.gpkg).
"""

from __future__ import annotations

import io
import json

import geopandas as gpd
import numpy as np

from layers.reports.config import ReportConfig
from layers.reports.parse import read_reports
from tests.helpers import SAMPLE_AREA, bearer, feature

HEADER = "lon,lat,category,description,observed_at\n"


def _households(n: int = 4) -> list[tuple[float, float]]:
    """Building centroids in lon/lat, on the 1e-5 degree grid a phone export would write."""
    b = gpd.read_file(SAMPLE_AREA / "buildings.gpkg", rows=200)
    pts = b.geometry.to_crs(b.estimate_utm_crs()).centroid.to_crs(4326).iloc[::50][:n]
    return [(round(p.x, 5), round(p.y, 5)) for p in pts]


def _csv(points, description: str = "no food for 3 days") -> str:
    return HEADER + "".join(f"{x:.5f},{y:.5f},need_food,{description},2024-05-01T08:00:00Z\n" for x, y in points)


def _import(client, token, text: str, name: str = "households.csv") -> dict:
    resp = client.post(
        "/api/reports/import",
        data={"file": (io.BytesIO(text.encode()), name)},
        headers=bearer(token),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.data
    return resp.json


def test_exact_point_cannot_be_recovered_by_hashing_candidates_around_the_blurred_point(storage_app, make_user):
    """The attacker knows the parser and the file layout and tries every 1e-5° point of the blur cell."""
    client = storage_app.test_client()
    _, mod = make_user(storage_app, "moderator")  # publishes directly
    points = _households()
    assert _import(client, mod, _csv(points))["accepted"] == len(points)
    public = json.loads(client.get("/api/reports").data)["features"]
    assert len(public) == len(points)
    cfg = ReportConfig.from_section(None)
    for feat in public:
        bx, by = feat["geometry"]["coordinates"]
        assert (round(bx, 5), round(by, 5)) not in points  # blurred
        steps = np.arange(-0.0009, 0.0009 + 1e-9, 0.00001)  # the whole 100 m cell and more
        cand = [(bx + dx, by + dy) for dx in steps for dy in steps]
        path = storage_app.instance_path + "/candidates.csv"
        with open(path, "w") as f:
            f.write(_csv(cand))
        ids = set(read_reports(path, config=cfg).records["id"])
        assert feat["id"] not in ids
        assert feat["id"][14] != "5"  # not a name-based (uuid5) id at all


def test_the_attack_recovers_the_point_when_ids_are_content_hashes(storage_app, tmp_path):
    """The same search finds the household when the id is the parser's content hash: the attack is real."""
    cfg = ReportConfig.from_section(None)
    (px, py) = _households(1)[0]
    one = tmp_path / "one.csv"
    one.write_text(_csv([(px, py)]))
    content_id = read_reports(one, config=cfg).records["id"].iloc[0]
    steps = np.round(np.arange(-0.0005, 0.0005 + 1e-9, 0.00001), 5)
    cand = tmp_path / "cand.csv"
    cand.write_text(_csv([(px + dx, py + dy) for dx in steps for dy in steps]))
    recs = read_reports(cand, config=cfg).records
    hit = recs[recs["id"] == content_id]
    assert len(hit) == 1
    assert (round(hit["lon"].iloc[0], 5), round(hit["lat"].iloc[0], 5)) == (px, py)


def test_idempotency_keys_are_never_shown(storage_app, make_user):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from geoapp.models import Report

    client = storage_app.test_client()
    _, mod = make_user(storage_app, "moderator")
    _import(client, mod, _csv(_households(2)))
    with Session(storage_app.extensions["geoapp.db"]) as s:
        keys = list(s.scalars(select(Report.client_key)))
    assert len(keys) == 2
    for headers in ({}, bearer(mod)):
        for fmt in ("geojson", "csv"):
            body = client.get("/api/reports", query_string={"f": fmt}, headers=headers).get_data(as_text=True)
            assert "client_key" not in body
            assert not any(k in body for k in keys)


def test_two_volunteers_ids_1_2_are_both_stored_and_a_resend_stays_idempotent(storage_app, make_user):
    client = storage_app.test_client()
    _, a = make_user(storage_app, "volunteer")
    _, b = make_user(storage_app, "volunteer")
    _, mod = make_user(storage_app, "moderator")
    text = "id,lon,lat,category\n1,106.83,-6.2,blocked_drain\n2,106.831,-6.2,blocked_drain\n"
    assert _import(client, a, text)["accepted"] == 2
    second = _import(client, b, text)
    assert (second["accepted"], second["duplicates"]) == (2, 0)
    again = _import(client, a, text)  # the same volunteer sending the same file again
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    pending = json.loads(client.get("/api/reports", headers=bearer(mod)).data)["features"]
    assert len(pending) == 4
    assert len({f["id"] for f in pending}) == 4


def test_resending_someone_elses_pending_id_reveals_nothing(storage_app, make_user):
    """B's answer for A's pending id 7 is the same as for an id nobody used."""
    client = storage_app.test_client()
    _, a = make_user(storage_app, "volunteer")
    _, b = make_user(storage_app, "volunteer")
    _import(client, a, "id,lon,lat,category\n7,106.83,-6.2,blocked_drain\n")
    taken = _import(client, b, "id,lon,lat,category\n7,106.83,-6.2,blocked_drain\n")
    fresh = _import(client, b, "id,lon,lat,category\n8,106.83,-6.2,blocked_drain\n")
    assert {k: v for k, v in taken.items() if k != "import"} == {k: v for k, v in fresh.items() if k != "import"}
    # A client UUID someone else used is stored too (as a report of its own), not answered as a duplicate.
    f = feature()
    assert client.post("/api/reports", json=f, headers=bearer(a)).status_code == 201
    resp = client.post("/api/reports", json=f, headers=bearer(b))
    assert resp.status_code == 201
    assert (resp.json["accepted"], resp.json["duplicates"]) == (1, 0)
