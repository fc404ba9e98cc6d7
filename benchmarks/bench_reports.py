"""Benchmark: field-report import and GeoJSON serving on SQLite, against two peers.

1. Import an N-row CSV (default 100,000; target under 20 s) through
   ``geoapp.reports.store.import_path`` — sniffing, column mapping, validation
   of every row, content ids, one transaction with ON CONFLICT DO NOTHING —
   against ``pandas.read_csv + DataFrame.to_sql`` (a raw load, no validation) and
   ``ogr2ogr -f SQLite`` (GDAL's CSV → SQLite copy, no validation) when installed.
   The row counts and the sums of longitudes/latitudes stored must agree.
2. Serve M published reports (default 10,000; target under 1 s) as GeoJSON
   via ``GET /api/reports`` (streamed, anonymous: privacy grid applied), against
   ``geopandas.GeoDataFrame.to_json`` of the same rows read straight from the
   database (no privacy). Feature counts must agree.

    .venv/bin/python benchmarks/bench_reports.py               # 100k import, 10k served
    .venv/bin/python benchmarks/bench_reports.py --rows 20000  # quicker
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

CATEGORIES = ["flooding_observed", "blocked_drain", "damaged_building", "need_water", "need_food", "shelter_site"]


def write_csv(path: Path, n: int, seed: int = 0) -> None:
    """``n`` reports around central Jakarta in the usual CSV columns (a few per cent with errors)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "category": rng.choice(CATEGORIES, n),
            "longitude": np.round(106.75 + rng.random(n) * 0.15, 6),
            "latitude": np.round(-6.25 + rng.random(n) * 0.1, 6),
            "description": [f"report {i}" for i in range(n)],
            "observed_at": pd.Timestamp("2024-02-01T00:00:00Z")
            + pd.to_timedelta(rng.integers(0, 86400 * 30, n), unit="s"),
            "severity": rng.integers(1, 6, n),
            "depth_m": np.round(rng.random(n) * 2, 2),
        }
    )
    df.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")


def bench_import(tmp: Path, n: int) -> dict:
    from geoapp import create_app
    from geoapp.models import Report
    from geoapp.reports.store import import_path

    csv_path = tmp / "reports.csv"
    write_csv(csv_path, n)
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "b",
            "DATABASE_URL": f"sqlite:///{tmp / 'ours.db'}",
            "ANON_RATE_LIMIT": "1/hour",
        }
    )
    with app.test_request_context():
        from geoapp.reports.query import reports_extent

        reports_extent()  # area boundaries loaded once, as in a running server
        t0 = time.perf_counter()
        summary = import_path(csv_path, name=csv_path.name, user=None)
        ours = time.perf_counter() - t0
    with Session(app.extensions["geoapp.db"]) as s:
        stored, lon_sum, lat_sum = s.execute(select(func.count(), func.sum(Report.lon), func.sum(Report.lat))).one()
    t0 = time.perf_counter()
    raw = pd.read_csv(csv_path)
    with sqlite3.connect(tmp / "pandas.db") as con:
        raw.to_sql("reports", con, index=False)
        p_count, p_lon, p_lat = con.execute("SELECT count(*), sum(longitude), sum(latitude) FROM reports").fetchone()
    peer = time.perf_counter() - t0
    assert summary.accepted == stored == p_count == n, (summary.accepted, stored, p_count)
    assert abs(lon_sum - p_lon) < 1e-6 * n
    assert abs(lat_sum - p_lat) < 1e-6 * n
    out = {"rows": n, "ours_s": ours, "pandas_to_sql_s": peer}
    if shutil.which("ogr2ogr"):
        t0 = time.perf_counter()
        subprocess.run(["ogr2ogr", "-f", "SQLite", str(tmp / "ogr.db"), str(csv_path), "-nln", "reports"], check=True)
        out["ogr2ogr_s"] = time.perf_counter() - t0
        with sqlite3.connect(tmp / "ogr.db") as con:
            assert con.execute("SELECT count(*) FROM reports").fetchone()[0] == n
    out["app"] = app
    return out


def bench_serve(app, m: int) -> dict:
    from geoapp.models import Report

    engine = app.extensions["geoapp.db"]
    with engine.begin() as conn:
        ids = [r[0] for r in conn.execute(select(Report.id).order_by(Report.created_at).limit(m))]
        conn.execute(Report.__table__.update().where(Report.id.in_(ids)).values(status="published"))
    client = app.test_client()
    client.get("/api/reports", query_string={"limit": 10}).close()  # warm-up
    t0 = time.perf_counter()
    resp = client.get("/api/reports")
    body = resp.get_data()
    ours = time.perf_counter() - t0
    fc = json.loads(body)
    t0 = time.perf_counter()
    df = pd.read_sql(
        text(
            "SELECT id, category, description, severity, observed_at, lon, lat FROM reports WHERE status = 'published'"
        ),
        engine,
    )
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326")
    peer_body = gdf.to_json()
    peer = time.perf_counter() - t0
    assert len(fc["features"]) == len(json.loads(peer_body)["features"]) == len(ids)
    return {"features": len(ids), "bytes": len(body), "ours_s": ours, "geopandas_to_json_s": peer}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000, help="rows in the imported CSV (default 100,000)")
    ap.add_argument("--serve", type=int, default=10_000, help="published reports served as GeoJSON (default 10,000)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        imp = bench_import(Path(tmp), args.rows)
        app = imp.pop("app")
        print(
            f"import {imp['rows']:,} CSV rows into SQLite: ours {imp['ours_s']:.2f} s "
            f"({imp['rows'] / imp['ours_s']:,.0f} rows/s, target < 20 s for 100k)"
        )
        print(
            f"  peer pandas read_csv+to_sql (no validation): {imp['pandas_to_sql_s']:.2f} s "
            f"-> ours/peer = {imp['ours_s'] / imp['pandas_to_sql_s']:.1f}x"
        )
        if "ogr2ogr_s" in imp:
            print(
                f"  peer ogr2ogr -f SQLite (no validation): {imp['ogr2ogr_s']:.2f} s "
                f"-> ours/peer = {imp['ours_s'] / imp['ogr2ogr_s']:.1f}x"
            )
        srv = bench_serve(app, min(args.serve, args.rows))
        print(
            f"serve {srv['features']:,} published reports as GeoJSON ({srv['bytes'] / 1e6:.1f} MB, blurred): "
            f"ours {srv['ours_s']:.2f} s (target < 1 s)"
        )
        print(
            f"  peer geopandas read_sql+to_json (no privacy): {srv['geopandas_to_json_s']:.2f} s "
            f"-> ours/peer = {srv['ours_s'] / srv['geopandas_to_json_s']:.1f}x"
        )
        app.extensions["geoapp.db"].dispose()


if __name__ == "__main__":
    main()
