"""Builds on the queue, with faults: a build submitted over the API runs on a `geoapp worker`; a worker killed
with SIGKILL mid-build leaves the previous build served and its job failed with the reason; a retry succeeds."""

from __future__ import annotations

import os
import shutil
import signal
import warnings

import pyogrio
import pytest
import rasterio
from rasterio.windows import from_bounds

from geoapp import create_app
from geoapp.cli.build import build_with_reports
from geoapp.jobs.store import KILLED
from layers.publish.geopackage import list_layers
from tests.helpers import SAMPLE_AREA, bearer
from tests.service.conftest import config, wait_for

BBOX = (106.82, -6.205, 106.835, -6.19)  # about 300 buildings of the Jakarta sample: a build of seconds


def tiny_area(folder):
    """A corner of the Jakarta sample, its rasters cropped to it."""
    folder.mkdir()
    for name in ("buildings", "roads", "kelurahan"):
        pyogrio.write_dataframe(
            pyogrio.read_dataframe(SAMPLE_AREA / f"{name}.gpkg", bbox=BBOX), folder / f"{name}.gpkg"
        )
    for name in ("flood_current.tif", "population.tif"):
        with rasterio.open(SAMPLE_AREA / name) as src:
            window = from_bounds(*BBOX, transform=src.transform).round_offsets().round_lengths()
            profile = src.profile | {
                "width": window.width,
                "height": window.height,
                "transform": src.window_transform(window),
            }
            with rasterio.open(folder / name, "w", **profile) as dst:
                dst.write(src.read(window=window))
    (folder / "area.toml").write_text(
        '[area]\nname = "tiny"\ncrs = "EPSG:32748"\n'
        '[layers]\nbuildings = "buildings.gpkg"\nroads = "roads.gpkg"\n'
        '[[hazard]]\nid = "current"\nfile = "flood_current.tif"\n'
        '[population]\nfile = "population.tif"\nscale = 0.025\n'
        '[[boundaries]]\nid = "kel"\nfile = "kelurahan.gpkg"\nname_field = "KEL_NAME2"\n'
    )
    return folder


def _stamp(path):
    st = path.stat()
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@pytest.mark.slow
def test_a_worker_killed_mid_build_leaves_the_old_build_and_a_failed_job_then_a_retry_succeeds(
    tmp_path, sqlite_db, redis_url, queue_name, procs, make_user
):
    # SQLite only: the job state's storage on PostGIS is covered by test_jobs and test_worker; a build is slow.
    area = tiny_area(tmp_path / "tiny")
    out = area / "build" / "area.gpkg"
    cfg = config(tmp_path, sqlite_db, REDIS_URL=redis_url, JOB_QUEUE=queue_name, AREA=str(area), BUILD=str(out))
    app = create_app(cfg)
    _, admin = make_user(app, "admin")
    _, planner = make_user(app, "planner")
    client = app.test_client()
    with warnings.catch_warnings():  # the sample's known data warnings; checked by the analyses' own tests
        warnings.simplefilter("ignore")
        build_with_reports(area, out, progress=False, app=app)  # the build being served, as `geoapp build` makes it
    before = _stamp(out)
    served = {layer["name"]: layer["features"] for layer in list_layers(out)}

    slow = procs.worker(cfg | {"JOB_TEST_STEP_DELAY_S": 120})  # sleeps before each step: killed in the first
    assert client.post("/api/builds", json={}, headers=bearer(planner)).status_code == 403
    resp = client.post("/api/builds", json={}, headers=bearer(admin))
    assert resp.status_code == 202
    job_id = resp.get_json()["id"]
    assert resp.headers["Location"].endswith(f"/api/jobs/{job_id}")

    def running():
        job = client.get(f"/api/jobs/{job_id}", headers=bearer(admin)).get_json()
        return job if job["status"] == "running" and job["message"].startswith("build:") else None

    job = wait_for(running, what="the build to start on the worker")
    pid = int(job["worker"].split(":")[1])
    os.kill(pid, signal.SIGKILL)
    os.killpg(slow.pid, signal.SIGKILL)  # and its supervisor, which would start another slow worker
    slow.wait(10)

    def failed():
        job = client.get(f"/api/jobs/{job_id}", headers=bearer(admin)).get_json()
        return job if job["status"] == "failed" else None

    job = wait_for(failed, what="the dead worker's job to be marked failed")
    assert job["error"] == KILLED
    listed = client.get("/api/jobs?status=failed&kind=build", headers=bearer(admin)).get_json()["jobs"]
    assert [(j["id"], j["error"]) for j in listed] == [(job_id, KILLED)]
    assert client.get("/api/jobs", headers=bearer(planner)).status_code == 403
    assert client.get(f"/api/jobs/{job_id}", headers=bearer(planner)).status_code == 404  # not theirs
    # The previous build is untouched and still served; no half-written file is left beside it.
    assert _stamp(out) == before
    assert {layer["name"]: layer["features"] for layer in list_layers(out)} == served
    assert client.get("/api/layers", headers=bearer(admin)).status_code == 200
    assert sorted(p.name for p in out.parent.iterdir()) == ["area.gpkg"]

    procs.worker(cfg)  # a worker without the slow hook
    retry = client.post(f"/api/jobs/{job_id}/retry", headers=bearer(admin))
    assert retry.status_code == 202
    new_id = retry.get_json()["id"]

    def finished():
        job = client.get(f"/api/jobs/{new_id}", headers=bearer(admin)).get_json()
        return job if job["status"] in ("finished", "failed") else None

    done = wait_for(finished, timeout=180, what="the retried build")
    assert done["status"] == "finished", done
    assert done["retry_of"] == job_id
    assert done["result"]["build"] == str(out)
    assert _stamp(out) != before  # a new file was swapped in
    rebuilt = {layer["name"]: layer["features"] for layer in list_layers(out)}
    assert rebuilt["buildings"] == pyogrio.read_info(area / "buildings.gpkg")["features"]
    assert rebuilt == served  # same inputs, same layers
    assert sorted(p.name for p in out.parent.iterdir()) == ["area.gpkg"]
    shutil.rmtree(area)
