"""The jobs API's answers to bad requests and to callers who may not see a job (no build runs here)."""

from __future__ import annotations

from geoapp import jobs
from tests.helpers import bearer
from tests.service.conftest import make_app


def test_build_requests_are_checked_before_anything_is_queued(tmp_path, sqlite_db, make_user):
    app = make_app(tmp_path, sqlite_db)
    client = app.test_client()
    _, admin = make_user(app, "admin")
    _, planner = make_user(app, "planner")
    assert client.post("/api/builds", json={}).status_code == 401
    assert client.post("/api/builds", json={}, headers=bearer(planner)).status_code == 403
    bad = client.post("/api/builds", json={"only": ["evacuaton"]}, headers=bearer(admin))
    assert bad.status_code == 400
    assert "evacuaton" in bad.get_json()["error"]["message"]
    assert client.post("/api/builds", json={"only": "evacuation"}, headers=bearer(admin)).status_code == 400
    unknown = client.post("/api/builds", json={"area": "atlantis"}, headers=bearer(admin))
    assert unknown.status_code == 404
    assert "atlantis" in unknown.get_json()["error"]["message"]
    with app.app_context():
        assert jobs.recent() == []


def test_job_listing_and_visibility(tmp_path, sqlite_db, make_user):
    app = make_app(tmp_path, sqlite_db, JOBS_SYNC=True)
    client = app.test_client()
    owner_id, owner = make_user(app, "volunteer")
    _, stranger = make_user(app, "volunteer")
    _, admin = make_user(app, "admin")
    with app.app_context():
        mine = jobs.submit("test.record", {"numbers": [2, 3]}, owner=owner_id)
        failed = jobs.submit("test.fail", {"x": 1})
    assert client.get(f"/api/jobs/{mine}").status_code == 401
    assert client.get(f"/api/jobs/{mine}", headers=bearer(stranger)).status_code == 404
    doc = client.get(f"/api/jobs/{mine}", headers=bearer(owner)).get_json()
    assert (doc["status"], doc["result"]["sum"]) == ("finished", 5)
    assert "worker" not in doc  # where it ran is for admins
    assert client.get(f"/api/jobs/{failed}", headers=bearer(owner)).status_code == 404  # nobody's: admins only
    listed = client.get("/api/jobs?status=failed", headers=bearer(admin)).get_json()["jobs"]
    assert [(j["id"], j["error"]) for j in listed] == [(failed, "field 'x' is 1; give a number")]
    assert client.get("/api/jobs?status=lost", headers=bearer(admin)).status_code == 400
    assert client.get("/api/jobs?limit=x", headers=bearer(admin)).status_code == 400
    assert client.get("/api/jobs", headers=bearer(owner)).status_code == 403
    retried = client.post(f"/api/jobs/{mine}/retry", headers=bearer(owner))
    assert retried.status_code == 202
    assert retried.get_json()["retry_of"] == mine
