"""ODK Central and KoboToolbox pulls (geoapp.feeds) against a loopback server implementing the endpoints geoapp
calls, as the two APIs document them, serving the rows of a real ODK Central OData export."""

from __future__ import annotations

import copy
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from geoapp import create_app

ODK_EXPORT = Path(__file__).resolve().parents[3] / "shared" / "data" / "field" / "odk_central_camps_odata.json"
PROJECT, FORM, ASSET = 19, "camping-nodata", "aT3kPq9wXyZ"
EMAIL, PASSWORD, KOBO_TOKEN = "field@example.org", "s3cret-pass", "kobo-token-123"
N_ROWS = 12


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


class FakeServers:
    """ODK Central: POST /v1/sessions, the OData Submissions feed ($top/$skip, @odata.nextLink), the submission
    attachment list and files. KoboToolbox: /api/v2/assets/<uid>/data/ (Token auth, results/next paging), files
    by download_url. The Kobo rows are the same real submissions in Kobo's flat JSON shape."""

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.photo = _jpeg()
        self.calls: list[str] = []
        self.session_token = "odk-session-token"
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _send(self, code: int, body, ctype="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                outer.calls.append(f"POST {self.path}")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/v1/sessions" and body == {"email": EMAIL, "password": PASSWORD}:
                    return self._send(
                        200, {"token": outer.session_token, "expiresAt": "2099-01-01T00:00:00Z", "createdAt": "x"}
                    )
                return self._send(
                    401, {"code": 401.2, "message": "Could not authenticate with the provided credentials."}
                )

            def do_GET(self):
                outer.calls.append(f"GET {self.path}")
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                path = unquote(url.path)
                if path.startswith("/v1/"):
                    if self.headers.get("Authorization") != f"Bearer {outer.session_token}":
                        return self._send(401, {"code": 401.2, "message": "unauthorised"})
                    return self._odk(path, q)
                if path.startswith(("/api/v2/", "/media/")):
                    if self.headers.get("Authorization") != f"Token {KOBO_TOKEN}":
                        return self._send(401, {"detail": "Invalid token."})
                    return self._kobo(path, q)
                return self._send(404, {"message": "not found"})

            def _odk(self, path, q):
                base = f"/v1/projects/{PROJECT}/forms/{FORM}"
                if path == f"{base}.svc/Submissions":
                    top, skip = int(q.get("$top", 1000)), int(q.get("$skip", 0))
                    page = outer.rows[skip : skip + top]
                    body = {"@odata.context": f"{base}.svc/$metadata#Submissions", "value": page}
                    if skip + top < len(outer.rows):
                        body["@odata.nextLink"] = f"{base}.svc/Submissions?%24top={top}&%24skip={skip + top}"
                    return self._send(200, body)
                prefix = f"{base}/submissions/"
                if path.startswith(prefix) and "/attachments" in path:
                    iid, _, rest = path[len(prefix) :].partition("/attachments")
                    row = next((r for r in outer.rows if r["__id"] == iid), None)
                    if row is None:
                        return self._send(404, {"message": "not found"})
                    image = row["all"]["second_screen"].get("image")
                    if rest in ("", "/"):
                        return self._send(200, [{"name": image, "exists": True}] if image else [])
                    if image and rest == f"/{image}":
                        return self._send(200, outer.photo, "image/jpeg")
                return self._send(404, {"message": "not found"})

            def _kobo(self, path, q):
                host = f"http://127.0.0.1:{self.server.server_address[1]}"
                if path == f"/api/v2/assets/{ASSET}/data/":
                    limit, start = int(q.get("limit", 1000)), int(q.get("start", 0))
                    results = [outer.kobo_row(r, host) for r in outer.rows[start : start + limit]]
                    nxt = None
                    if start + limit < len(outer.rows):
                        nxt = f"{host}/api/v2/assets/{ASSET}/data/?format=json&limit={limit}&start={start + limit}"
                    return self._send(
                        200, {"count": len(outer.rows), "next": nxt, "previous": None, "results": results}
                    )
                if path.startswith("/media/"):
                    return self._send(200, outer.photo, "image/jpeg")
                return self._send(404, {"detail": "Not found."})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @staticmethod
    def kobo_row(r: dict, host: str) -> dict:
        """A submission as KoboToolbox's data API gives it: flat group/field keys, _uuid, _geolocation [lat, lon]."""
        where = r["all"]["second_screen"]["where"]["coordinates"]
        flat = {f"all/second_screen/{k}": v for k, v in r["all"]["second_screen"].items() if k != "where" and v}
        flat["all/second_screen/where"] = f"{where[1]} {where[0]} {where[2]} 5.0"
        out = {
            **flat,
            "_uuid": r["__id"][5:],
            "meta/instanceID": r["__id"],
            "_geolocation": [where[1], where[0]],
            "_submission_time": r["__system"]["submissionDate"][:19],
            "end": r["end"],
        }
        image = r["all"]["second_screen"].get("image")
        out["_attachments"] = (
            [
                {
                    "download_url": f"{host}/media/original?media_file=u/attachments/{image}",
                    "filename": f"u/attachments/{image}",
                }
            ]
            if image
            else []
        )
        return out


@pytest.fixture
def servers():
    if not ODK_EXPORT.exists():
        pytest.skip("../shared/data/field/odk_central_camps_odata.json is not beside the checkout")
    rows = json.loads(ODK_EXPORT.read_text())["value"][:N_ROWS]
    rows = copy.deepcopy(rows)
    rows[0]["all"]["second_screen"]["image"] = "1690820000.jpg"  # one submission with a photo attachment
    srv = FakeServers(rows)
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def _app(tmp_path, servers, platform: str):
    common = {
        "category": "shelter_site",
        "fields": {
            "location": "all/second_screen/where",
            "name": "all/second_screen/name",
            "camptype": "all/first_screen/camptype",
        },
        "photo": "all/second_screen/image",
    }
    if platform == "odk":
        feed = {
            "platform": "odk",
            "url": servers.url,
            "project": PROJECT,
            "form": FORM,
            "username": EMAIL,
            "password": PASSWORD,
            **common,
        }
    else:
        common["fields"] = {"location": "all/second_screen/where", "name": "all/second_screen/name"}
        feed = {"platform": "kobo", "url": servers.url, "asset": ASSET, "token": KOBO_TOKEN, **common}
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}",
            "BUILD": str(tmp_path / "no-build" / "area.gpkg"),
            "FEEDS": {"camps": feed},
        }
    )


def _reports(app):
    from geoapp.models import Report, Review

    with app.app_context(), Session(app.extensions["geoapp.db"]) as s:
        reps = {
            r.id: (r.category, r.lon, r.lat, r.accuracy_m, dict(r.attributes or {}), r.photo_type, r.source)
            for r in s.scalars(select(Report))
        }
        reviews = [(v.report_id, v.reason, v.changes) for v in s.scalars(select(Review))]
    return reps, reviews


@pytest.mark.parametrize("platform", ["odk", "kobo"])
def test_pull_repull_and_edit(tmp_path, servers, platform):
    from geoapp.feeds.pull import pull

    app = _app(tmp_path, servers, platform)
    with app.app_context():
        first = pull("camps")
    assert first["fetched"] == N_ROWS
    assert first["accepted"] == N_ROWS
    assert first["photos"] == 1
    reps, _ = _reports(app)
    # Every report is keyed by its instance id, at the submission's own point.
    for r in servers.rows:
        iid = r["__id"][5:]
        lon, lat = r["all"]["second_screen"]["where"]["coordinates"][:2]
        assert reps[iid][0] == "shelter_site"
        assert reps[iid][1] == pytest.approx(lon)
        assert reps[iid][2] == pytest.approx(lat)
        assert reps[iid][6] == platform
    assert reps[servers.rows[0]["__id"][5:]][5] == "image/jpeg"

    with app.app_context():
        again = pull("camps")
    assert again["accepted"] == 0
    assert again["duplicates"] == N_ROWS
    assert again["updated"] == 0
    assert len(_reports(app)[0]) == N_ROWS

    # An edit on the server: a new name and a moved point.
    edited = servers.rows[3]
    edited["all"]["second_screen"]["name"] = "Camp Lower Meadow"
    edited["all"]["second_screen"]["where"]["coordinates"][0] += 0.001
    with app.app_context():
        third = pull("camps")
    assert (third["accepted"], third["updated"]) == (0, 1)
    reps, reviews = _reports(app)
    iid = edited["__id"][5:]
    assert reps[iid][4]["name"] == "Camp Lower Meadow"
    assert reps[iid][1] == pytest.approx(edited["all"]["second_screen"]["where"]["coordinates"][0])
    history = [c for rid, reason, c in reviews if rid == iid and reason == f"edited on the {platform} server"]
    assert len(history) == 1
    assert set(history[0]) >= {"lon", "attributes"}


def _cli(app, *args):
    from click.testing import CliRunner

    from geoapp.cli import main

    env = {"GEOAPP_FEEDS": json.dumps(app.config["FEEDS"]), "GEOAPP_BUILD": app.config["BUILD"]}
    return CliRunner().invoke(main, [*args, "--db", app.config["DATABASE_URL"]], env=env)


def test_dry_run_shows_the_first_rows_and_stores_nothing(tmp_path, servers):
    app = _app(tmp_path, servers, "odk")
    result = _cli(app, "feeds", "dry-run", "camps")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [r["instance_id"] for r in out["rows"]] == [r["__id"][5:] for r in servers.rows[:5]]
    first = out["rows"][0]["report"]
    assert first["geometry"]["coordinates"] == servers.rows[0]["all"]["second_screen"]["where"]["coordinates"][:2]
    assert first["properties"]["category"] == "shelter_site"
    assert _reports(app)[0] == {}


def test_bad_credentials_are_one_clear_error(tmp_path, servers):
    app = _app(tmp_path, servers, "odk")
    app.config["FEEDS"]["camps"]["password"] = "wrong"
    result = _cli(app, "feeds", "pull", "camps")
    assert result.exit_code == 1
    assert result.output.startswith("error:")
    assert "refused the credentials" in result.output
    assert "Traceback" not in result.output


def test_the_scheduled_job_pulls(tmp_path, servers):
    from geoapp import jobs
    from geoapp.feeds.tasks import schedule_pull

    app = _app(tmp_path, servers, "kobo")
    app.config["JOBS_SYNC"] = True
    with app.app_context():
        job = schedule_pull("camps", delay_s=0)
        state = jobs.get(job)
    assert state is not None
    assert state.status == "finished", state
    assert len(_reports(app)[0]) == N_ROWS


def test_a_trusted_feed_publishes_and_queues_the_rebuild(tmp_path, servers, monkeypatch):
    from geoapp import live
    from geoapp.feeds.pull import pull

    app = _app(tmp_path, servers, "odk")
    app.config["FEEDS"]["camps"]["trusted"] = True
    queued = []
    monkeypatch.setattr(live, "schedule", lambda cats: queued.append(set(cats)) or [])
    with app.app_context():
        pull("camps")
    from geoapp.models import Report

    with app.app_context(), Session(app.extensions["geoapp.db"]) as s:
        statuses = {r.status for r in s.scalars(select(Report))}
    assert statuses == {"published"}
    assert queued == [{"shelter_site"}]
