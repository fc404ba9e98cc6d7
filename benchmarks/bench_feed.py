"""Published reports feed the analyses: seconds from a moderator publishing a shelter report to the shelter in
the evacuation layers of the Jakarta sample, against the shell way (a full ``geoapp build``).

Set-up: the Jakarta sample is built with ``geoapp build`` into a temporary GeoPackage (this run is also the
named peer: what a shell user had to run before, every layer rebuilt). Then an app serves that build with
in-process jobs (as on a laptop); a volunteer submits a ``shelter_site`` report with a capacity.

Timed (ours): the moderator's ``POST /api/reports/<id>/review`` (published) → the debounced build job
(``LIVE_REBUILD_DELAY_S``, default 5 s, included) reruns only the evacuation step → polling until the build's
``shelters`` layer holds the report (``report_id``) with its capacity, for every scenario. Then the same for a
``road_closed`` report on the busiest route edge: until ``road_closures`` names it and no route uses it.
Peak memory: ``ru_maxrss`` of this process (the app and its job threads) and of the CLI build's process tree.
Target: under 30 s for the shelter on this machine.

Run: ``.venv/bin/python benchmarks/bench_feed.py [--delay 5]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import load_average, measured  # noqa: E402

AREA = ROOT / "data" / "jakarta"
SHELTER = (106.8345, -6.1655)


def _wait(check, timeout_s: float = 600.0) -> float:
    t0 = time.perf_counter()
    while not check():
        if time.perf_counter() - t0 > timeout_s:
            raise SystemExit("timed out")
        time.sleep(0.2)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay", type=float, default=5.0, help="LIVE_REBUILD_DELAY_S (the debounce)")
    args = ap.parse_args()
    import pyogrio
    from sqlalchemy.orm import Session

    from geoapp import create_app
    from geoapp.auth import create_user

    tmp = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    build = tmp / "area.gpkg"
    db = f"sqlite:///{tmp / 'r.db'}"
    print(f"load average {load_average()}")
    peer = measured(
        [str(Path(sys.executable).with_name("geoapp")), "build", str(AREA), "--out", str(build), "--quiet", "--db", db]
    )
    print(
        f"peer: geoapp build (every layer)  {peer['wall_s']:.1f} s wall, {peer['cpu_s']:.1f} s CPU, "
        f"{peer['peak_mb']:.0f} MB"
    )

    app = create_app(
        {
            "SECRET_KEY": "b",
            "DATABASE_URL": db,
            "AREA": str(AREA),
            "BUILD": str(build),
            "LIVE_REBUILD": True,
            "LIVE_REBUILD_DELAY_S": args.delay,
        }
    )
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
        _, vol = create_user(s, f"v{uuid.uuid4().hex[:6]}", "volunteer")
        _, mod = create_user(s, f"m{uuid.uuid4().hex[:6]}", "moderator")
    from geoapp import jobs

    jobs.start(app)
    c = app.test_client()
    hv, hm = {"Authorization": f"Bearer {vol}"}, {"Authorization": f"Bearer {mod}"}

    def publish(feature: dict) -> tuple[str, float]:
        r = c.post("/api/reports", json=feature, headers=hv)
        rid = r.get_json()["ids"][0]
        t0 = time.perf_counter()
        assert c.post(f"/api/reports/{rid}/review", json={"status": "published"}, headers=hm).status_code == 200
        return rid, t0

    rid, t0 = publish(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(SHELTER)},
            "properties": {
                "id": str(uuid.uuid4()),
                "category": "shelter_site",
                "attributes": {"capacity": "150 Orang", "name": "Posko bench"},
            },
        }
    )

    def shelter_shown() -> bool:
        try:
            sh = pyogrio.read_dataframe(
                build, layer="shelters", read_geometry=False, columns=["report_id", "capacity", "scenario"]
            )
        except Exception:
            return False
        mine = sh[sh["report_id"] == rid]
        return len(mine) == 2 and (mine["capacity"] == 150).all()

    _wait(shelter_shown)
    ours = time.perf_counter() - t0
    print(
        f"ours: publish a shelter -> in the evacuation layers  {ours:.1f} s (debounce {args.delay:g} s included)"
        f"  = {peer['wall_s'] / ours:.1f}x faster than the full build"
    )

    routes = pyogrio.read_dataframe(build, layer="evacuation_routes")
    busy = routes.sort_values("people", ascending=False).iloc[0]
    mid = busy.geometry.interpolate(0.5, normalized=True)
    import geopandas as gpd

    lon, lat = gpd.GeoSeries([mid], crs=routes.crs).to_crs(4326).iloc[0].coords[0]
    rid2, t1 = publish(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": str(uuid.uuid4()), "category": "road_closed"},
        }
    )

    def closed() -> bool:
        try:
            rc = pyogrio.read_dataframe(build, layer="road_closures", read_geometry=False)
        except Exception:
            return False
        return bool((rc["report_id"] == rid2).any())

    _wait(closed)
    closure_s = time.perf_counter() - t1
    after = pyogrio.read_dataframe(build, layer="evacuation_routes", read_geometry=False)
    rc = pyogrio.read_dataframe(build, layer="road_closures", read_geometry=False)
    walk_closed = set(rc.loc[rc["mode"] == "walk", "edge_id"])
    assert not (set(after["edge_id"]) & walk_closed), "a route still uses a closed edge"
    print(f"ours: publish a road closure -> routes avoid it  {closure_s:.1f} s ({len(walk_closed)} walk edges closed)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak memory: ours {peak:.0f} MB (this process), peer {peer['peak_mb']:.0f} MB; load average {load_average()}"
    )


if __name__ == "__main__":
    main()
