"""Review of reports: approve/reject with a reason, bulk, edits keep the original, trusted volunteers, /moderate."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from tests.helpers import bearer, feature


def _submit(client, n=1, token=None, **props) -> list[str]:
    feats = [feature(**props) for _ in range(n)]
    resp = client.post(
        "/api/reports", json={"type": "FeatureCollection", "features": feats}, headers=bearer(token) if token else {}
    )
    assert resp.status_code == 201, resp.data
    return [f["properties"]["id"] for f in feats]


def test_approve_and_reject_with_history(storage_app, storage_client, make_user):
    _, mod = make_user(storage_app, "moderator", name="mona")
    a, b = _submit(storage_client, 2)
    ok = storage_client.post(f"/api/reports/{a}/review", json={"status": "published"}, headers=bearer(mod))
    assert ok.status_code == 200
    assert ok.json == {"id": a, "status": "published"}
    no_reason = storage_client.post(f"/api/reports/{b}/review", json={"status": "rejected"}, headers=bearer(mod))
    assert no_reason.status_code == 400
    assert "give a reason" in no_reason.json["error"]["message"]
    rej = storage_client.post(
        f"/api/reports/{b}/review", json={"status": "rejected", "reason": "duplicate of a"}, headers=bearer(mod)
    )
    assert rej.status_code == 200
    public = json.loads(storage_client.get("/api/reports").data)
    assert [f["id"] for f in public["features"]] == [a]
    one = storage_client.get(f"/api/reports/{b}", headers=bearer(mod)).json
    assert one["properties"]["status"] == "rejected"
    [step] = one["properties"]["history"]
    assert (step["from"], step["to"], step["reason"]) == ("pending", "rejected", "duplicate of a")
    assert storage_client.get(f"/api/reports/{b}").status_code == 404  # rejected: invisible to the public


def test_bulk_review_is_all_or_nothing(storage_app, storage_client, make_user):
    _, mod = make_user(storage_app, "moderator")
    ids = _submit(storage_client, 3)
    bad = storage_client.post(
        "/api/reports/review", json={"ids": ids + ["missing"], "status": "published"}, headers=bearer(mod)
    )
    assert bad.status_code == 404
    assert json.loads(storage_client.get("/api/reports").data)["features"] == []  # none published
    good = storage_client.post("/api/reports/review", json={"ids": ids, "status": "published"}, headers=bearer(mod))
    assert good.status_code == 200
    assert good.json["reviewed"] == 3
    assert len(json.loads(storage_client.get("/api/reports").data)["features"]) == 3


def test_edits_are_validated_recorded_and_keep_the_original(storage_app, storage_client, make_user):
    _, mod = make_user(storage_app, "moderator")
    [rid] = _submit(storage_client, 1, description="drian blocked")
    bad = storage_client.post(
        f"/api/reports/{rid}/review",
        json={"status": "published", "edits": {"category": "volcano"}},
        headers=bearer(mod),
    )
    assert bad.status_code == 400
    assert "unknown category" in bad.json["error"]["message"]
    not_allowed = storage_client.post(
        f"/api/reports/{rid}/review", json={"status": "published", "edits": {"status": "x"}}, headers=bearer(mod)
    )
    assert not_allowed.status_code == 400
    edit = {"description": "drain blocked", "lon": 106.831}
    resp = storage_client.post(
        f"/api/reports/{rid}/review", json={"status": "published", "edits": edit, "reason": "typo"}, headers=bearer(mod)
    )
    assert resp.status_code == 200, resp.data
    props = storage_client.get(f"/api/reports/{rid}", headers=bearer(mod)).json["properties"]
    assert props["description"] == "drain blocked"
    assert props["original"]["description"] == "drian blocked"
    assert props["original"]["lon"] == 106.83
    assert props["history"][0]["changes"] == {
        "description": ["drian blocked", "drain blocked"],
        "lon": [106.83, 106.831],
    }


def test_trusted_volunteers_publish_directly_others_wait(storage_app, storage_client, make_user):
    _, trusted = make_user(storage_app, "volunteer", trusted=True)
    _, plain = make_user(storage_app, "volunteer")
    _submit(storage_client, 1, token=trusted, description="trusted")
    _submit(storage_client, 1, token=plain, description="plain")
    public = json.loads(storage_client.get("/api/reports").data)
    assert [f["properties"]["description"] for f in public["features"]] == ["trusted"]


@pytest.mark.parametrize("role", ["volunteer", "planner"])
def test_only_moderators_and_admins_review(app, client, make_user, role):
    _, token = make_user(app, role)
    [rid] = _submit(client, 1)
    resp = client.post(f"/api/reports/{rid}/review", json={"status": "published"}, headers=bearer(token))
    assert resp.status_code == 403
    assert "may not" in resp.json["error"]["message"]
    assert client.post(f"/api/reports/{rid}/review", json={"status": "published"}).status_code == 401
    _, admin = make_user(app, "admin")
    assert (
        client.post(f"/api/reports/{rid}/review", json={"status": "published"}, headers=bearer(admin)).status_code
        == 200
    )


def test_review_of_unknown_report_and_bad_bodies(app, client, make_user):
    _, mod = make_user(app, "moderator")
    assert (
        client.post(
            f"/api/reports/{uuid.uuid4()}/review", json={"status": "published"}, headers=bearer(mod)
        ).status_code
        == 404
    )
    [rid] = _submit(client, 1)
    assert client.post(f"/api/reports/{rid}/review", json={"status": "gone"}, headers=bearer(mod)).status_code == 400
    assert (
        client.post("/api/reports/review", json={"ids": [], "status": "published"}, headers=bearer(mod)).status_code
        == 400
    )


def test_moderate_page_needs_a_moderator_session(app, client, make_user):
    assert client.get("/moderate").status_code == 302
    make_user(app, "volunteer", name="vera", password="pw-vera")
    make_user(app, "moderator", name="mo", password="pw-mo")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"name": "vera", "password": "pw-vera", "csrf_token": token})
    assert client.get("/moderate").status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"name": "mo", "password": "pw-mo", "csrf_token": token})  # a new session, a new token
    page = client.get("/moderate")
    assert page.status_code == 200
    assert b"moderate_queue.js" in page.data
    assert b'name="csrf-token"' in page.data
