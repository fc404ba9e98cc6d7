"""Published reports feed the analyses (geoapp.live): a moderator's decision queues a rebuild of only the
steps the reports change, and the dashboard lists the flood reports the scenarios disagree with."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import xy
from scipy.ndimage import maximum_filter, minimum_filter

from geoapp import create_app
from layers.publish.geopackage import read_metadata, write_geopackage
from tests.helpers import bearer, collection, feature

JAKARTA = Path(__file__).resolve().parents[2] / "data" / "jakarta"


def _cells(path: Path, *, wet: bool, n: int, deep_m: float = 0.5) -> list[tuple[float, float]]:
    """Centres (lon, lat) of ``n`` cells that are dry (no class: < 0.1 m) — or at least ``deep_m`` deep — and
    whose eight neighbours are too, so the public 25 m blur cannot move a report into another kind of cell."""
    with rasterio.open(path) as src:
        depth = src.read(1, masked=True).filled(np.nan)
        transform = src.transform
    valid = np.isfinite(depth)
    if wet:
        ok = minimum_filter(np.where(valid, depth, -1.0), size=3) >= deep_m + 0.2
    else:
        ok = (maximum_filter(np.where(valid, depth, 99.0), size=3) < 0.1) & valid
    rows, cols = np.nonzero(ok)
    xs, ys = (np.asarray(v) for v in xy(transform, rows, cols))
    # Cells inside an RW neighbourhood (the grid also covers sea and land outside the city's boundaries).
    import geopandas as gpd
    import shapely

    rw = gpd.read_file(JAKARTA / "rw.gpkg").to_crs(4326)
    inside = np.unique(rw.sindex.query(shapely.points(xs, ys), predicate="within")[0])
    pick = inside[np.linspace(0, len(inside) - 1, n).astype(int)]
    return list(zip(xs[pick].tolist(), ys[pick].tolist(), strict=True))


@pytest.fixture
def live_app(tmp_path):
    build = tmp_path / "build" / "area.gpkg"
    build.parent.mkdir()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'reports.db'}",
            "AREA": str(JAKARTA),
            "BUILD": str(build),
            "JOBS_SYNC": True,
            "LIVE_REBUILD": True,
            "ANON_RATE_LIMIT": "1000/hour",
        }
    )
    # A current build to rebuild steps of (the area's RW boundaries stand in for a full build here).
    from layers.area import load_area

    area = load_area(JAKARTA / "area.toml")
    write_geopackage({"boundaries_rw": area.boundary_layer("rw")}, build, metadata=area.metadata())
    return app


def _publish(client, make_user, app, feats) -> list[str]:
    _, vol = make_user(app, "volunteer")
    _, mod = make_user(app, "moderator")
    r = client.post("/api/reports", json=collection(*feats), headers=bearer(vol))
    assert r.status_code == 201, r.get_json()
    ids = r.get_json()["ids"]
    r = client.post("/api/reports/review", json={"ids": ids, "status": "published"}, headers=bearer(mod))
    assert r.status_code == 200, r.get_json()
    return ids


def test_wet_reports_where_the_scenario_is_dry_are_listed_on_the_dashboard(live_app, make_user):
    client = live_app.test_client()
    dry_cells = _cells(JAKARTA / "flood_current.tif", wet=False, n=5)
    deep_cell = _cells(JAKARTA / "flood_current.tif", wet=True, n=1)[0]
    days = [f"2026-11-0{d}T08:00:00Z" for d in range(1, 6)]
    wet = [
        feature("flooding_observed", c, attributes={"depth_m": 0.3}, observed_at=day)
        for c, day in zip(dry_cells, days, strict=True)
    ]
    dry = feature("flooding_observed", deep_cell, attributes={"depth_m": 0})
    ids = _publish(client, make_user, live_app, [*wet, dry])

    # The moderator's decision rebuilt the observations step only (JOBS_SYNC runs the job at once).
    meta = read_metadata(live_app.config["BUILD"])
    assert "layer_updated:observation_mismatches" in meta
    assert "layer_updated:evacuation_buildings" not in meta

    page = client.get("/dashboard").get_data(as_text=True)
    rows = re.findall(r'<tr data-mismatch="([^"]+)" data-scenario="current">.*?<code>([^<]+)</code>', page)
    listed = {rid for what, rid in rows if what == "reported wet, model dry"}
    assert listed == set(ids[:5])
    assert ("reported dry, model deep", ids[5]) in rows
    # Newest published report per neighbourhood: the RWs holding the (public, blurred) points, found here with
    # a plain point-in-polygon test on the boundary file.
    import geopandas as gpd
    import pyogrio

    public = pyogrio.read_dataframe(live_app.config["BUILD"], layer="field_reports")
    rw = gpd.read_file(JAKARTA / "rw.gpkg").to_crs(public.crs)
    newest: dict[str, str] = {}
    for pt, when in zip(public.geometry, public["observed_at"], strict=True):
        hit = rw[rw.contains(pt)]
        if len(hit) and not pd.isna(when):
            name = f"{hit.iloc[0]['KEL_NAME']} {hit.iloc[0]['RW']}"
            newest[name] = max(newest.get(name, ""), str(when)[:10])
    assert newest
    table = page[page.index('id="newest-reports"') :].split("</table>")[0]
    assert dict(re.findall(r"<tr><td>([^<]+)</td><td>(\d{4}-\d\d-\d\d)</td>", table)) == newest
    # Independent check of the dry cells: the raster read again at the report points.
    with rasterio.open(JAKARTA / "flood_current.tif") as src:
        values = np.array([v[0] for v in src.sample(dry_cells)])
        deep = next(src.sample([deep_cell]))[0]
    assert (values < 0.1).all()
    assert deep >= 0.5


def test_publishing_closures_and_shelters_queues_one_evacuation_rebuild(live_app, make_user, monkeypatch):
    from geoapp import jobs, live

    submitted = []
    monkeypatch.setattr(jobs, "submit", lambda kind, payload, **kw: submitted.append((kind, payload, kw)) or "x")
    client = live_app.test_client()
    feats = [
        feature("road_closed", (106.8272, -6.1754)),
        feature("shelter_site", (106.8280, -6.1760), attributes={"capacity": 120, "name": "Posko"}),
        feature("need_water", (106.8290, -6.1770)),
    ]
    _publish(client, make_user, live_app, feats)
    steps = {kw["dedupe_key"]: payload["only"] for _, payload, kw in submitted}
    assert steps == {"feed:jakarta:evacuation": ["evacuation"], "feed:jakarta:precarity": ["precarity"]}
    assert all(kind == "build" and kw["lock"] == "build:jakarta" for kind, _, kw in submitted)
    assert live.steps_for(["blocked_drain"]) == []
