"""A report import over IMPORT_JOB_MIN_BYTES is a job: 202 at once, the rows stored by the job, its summary on it."""

from __future__ import annotations

import io

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geoapp.models import Report
from tests.helpers import bearer
from tests.service.conftest import make_app, wait_for


def _csv(rows: int, tag: str) -> bytes:
    lines = ["category,lon,lat,description"]
    lines += [
        f"blocked_drain,{106.82 + i * 1e-4:.5f},{-6.2 - i * 1e-4:.5f},{tag} drain {i} blocked by rubbish"
        for i in range(rows)
    ]
    lines.append("volcano,106.83,-6.2,not a category")  # one bad row: reported, the others kept
    return ("\n".join(lines) + "\n").encode()


def _upload(client, token, data: bytes, name: str):
    return client.post(
        "/api/reports/import",
        data={"file": (io.BytesIO(data), name)},
        headers=bearer(token),
        content_type="multipart/form-data",
    )


def test_a_big_import_runs_as_a_job_and_a_small_one_at_once(tmp_path, db, make_user):
    app = make_app(tmp_path, db, IMPORT_JOB_MIN_BYTES=2000, IMPORT_DIR=str(tmp_path / "imports"))
    client = app.test_client()
    uid, token = make_user(app, "volunteer")
    _, other = make_user(app, "volunteer")
    small = _upload(client, token, _csv(3, "small"), "small.csv")
    assert small.status_code == 200
    assert small.json["accepted"] == 3
    data = _csv(200, "big")
    assert len(data) > 2000
    resp = _upload(client, token, data, "big.csv")
    assert resp.status_code == 202
    job_url = resp.headers["Location"].replace("http://localhost", "")
    assert client.get(job_url, headers=bearer(other)).status_code == 404  # someone else's job

    def done():
        doc = client.get(job_url, headers=bearer(token)).get_json()
        return doc if doc["status"] in ("finished", "failed") else None

    job = wait_for(done, timeout=120, what="the import job")
    assert job["status"] == "finished", job
    assert job["owner"] == uid
    result = job["result"]
    expected = data.decode().count("\nblocked_drain,")  # the good rows, counted in the file itself
    assert result["accepted"] == expected == 200, result
    assert [e["row"] for e in result["rejected"]] == [201]
    assert result["duplicates"] == 0
    assert result["import"]["status"] == "done"
    with Session(app.extensions["geoapp.db"]) as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 3 + 200
    assert list((tmp_path / "imports").iterdir()) == []  # the kept upload is removed once imported
