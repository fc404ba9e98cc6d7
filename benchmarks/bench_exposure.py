"""Per-building max depth and class: layers.hazard.sampling vs rasterstats and exactextract.

A synthetic city of N rotated rectangular footprints (30–300 m²) over a depth
raster of 5000×5000 cells at 2 m (EPSG:32748, float32, tiled GeoTIFF). For
each N we time:

* ours: ``layers.hazard.sampling.geometry_hazard`` (all-touched max depth and class,
  raster read by windows), in a fresh process so its peak memory is its own;
* exactextract: ``exact_extract(raster, buildings, ["max"])`` (max over cells
  with coverage > 0);
* rasterstats: ``zonal_stats(..., stats="max", all_touched=True)``, on the
  first ``--rasterstats-cap`` buildings only (it is slow) unless ``--full``;
  its rate (buildings/s) is compared with ours.

Answers must agree: ours equals exactextract's max for every building, and
rasterstats' for all but buildings whose edge lies exactly on a cell line
(GDAL's all-touched burns those neighbours too).

Run: ``.venv/bin/python benchmarks/bench_exposure.py`` (10k and 100k), ``--full``
adds 1M and runs rasterstats on every building.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CRS = "EPSG:32748"
SIZE, CELL = 5000, 2.0
X0, Y0 = 500_000.0, 9_300_000.0


def make_raster(path: Path) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    depth = 1.2 + 0.9 * np.sin(7 * x) * np.cos(5 * y) + 0.6 * np.sin(31 * x + 17 * y) + 0.3 * np.cos(97 * x * y)
    depth = np.clip(depth, 0, None).astype(np.float32)
    depth[:50, :50] = -9999.0  # a nodata corner
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=SIZE,
        height=SIZE,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=from_origin(X0, Y0, CELL, CELL),
        nodata=-9999.0,
        tiled=True,
        blockxsize=512,
        blockysize=512,
    ) as dst:
        dst.write(depth, 1)
    return path


def make_buildings(n: int, seed: int = 0):
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed)
    area = rng.uniform(30, 300, n)
    aspect = rng.uniform(1, 2, n)
    w = np.sqrt(area / aspect)
    h = w * aspect
    theta = rng.uniform(0, np.pi, n)
    extent = SIZE * CELL
    cx = X0 + rng.uniform(20, extent - 20, n)
    cy = Y0 - rng.uniform(20, extent - 20, n)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    lx = corners[None, :, 0] * w[:, None]
    ly = corners[None, :, 1] * h[:, None]
    c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
    xy = np.stack([cx[:, None] + lx * c - ly * s, cy[:, None] + lx * s + ly * c], axis=-1)
    return gpd.GeoDataFrame({"building_id": np.arange(1, n + 1)}, geometry=shapely.polygons(xy), crs=CRS)


def ours_worker(raster: str, buildings: str, out: str) -> None:
    """Run in a child process: time our path and report peak RSS."""
    import pyogrio

    from layers.hazard.sampling import geometry_hazard
    from layers.hazard.sources import open_hazard

    b = pyogrio.read_dataframe(buildings)
    start, cpu = time.perf_counter(), time.process_time()
    h = open_hazard(raster)
    res = geometry_hazard(b.geometry, h, progress="buildings")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    np.save(out, res["depth_max_m"].to_numpy())
    # VmHWM: this process's own peak (ru_maxrss would include the parent's memory at fork time).
    status = Path("/proc/self/status")
    if status.exists():
        peak_mb = (
            next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmHWM")) / 1024
        )
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "cpu_s": cpu, "peak_mb": peak_mb}))


def run(sizes: list[int], *, full: bool, rasterstats_cap: int, workdir: Path) -> list[dict]:
    import pyogrio
    from exactextract import exact_extract
    from rasterstats import zonal_stats

    from layers.hazard.classes import DEFAULT_FLOOD_CLASSES, parse_classes

    scheme = parse_classes(DEFAULT_FLOOD_CLASSES)
    raster = workdir / "depth.tif"
    if not raster.exists():
        t = time.perf_counter()
        make_raster(raster)
        print(f"raster {SIZE}x{SIZE} at {CELL:g} m written in {time.perf_counter() - t:.1f} s")
    rows = []
    for n in sizes:
        b = make_buildings(n)
        path = workdir / f"buildings_{n}.gpkg"
        if not path.exists():
            pyogrio.write_dataframe(b, path, layer="buildings")
        out = workdir / f"ours_{n}.npy"
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", str(raster), str(path), str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
        ours = json.loads(proc.stdout.strip().splitlines()[-1])
        depth = np.load(out)

        t = time.perf_counter()
        ee = exact_extract(str(raster), b, ["max"], output="pandas")["max"].to_numpy(float)
        ee_s = time.perf_counter() - t

        m = n if full else min(n, rasterstats_cap)
        t = time.perf_counter()
        rs = zonal_stats(b.geometry.iloc[:m], str(raster), stats="max", all_touched=True, nodata=-9999.0)
        rs_s = time.perf_counter() - t
        rs = np.array([np.nan if r["max"] is None else r["max"] for r in rs], dtype=float)

        both = ~np.isnan(ee) & ~np.isnan(depth)
        agree_ee = float(np.mean(np.isclose(depth[both], ee[both], atol=1e-6)))
        cls_ee = float(np.mean(scheme.classify(depth) == scheme.classify(ee)))
        both_rs = ~np.isnan(rs) & ~np.isnan(depth[:m])
        agree_rs = float(np.mean(np.isclose(depth[:m][both_rs], rs[both_rs], atol=1e-6)))
        ours_rate = n / ours["seconds"]
        row = {
            "buildings": n,
            "ours_s": round(ours["seconds"], 2),
            "ours_cpu_s": round(ours["cpu_s"], 2),
            "ours_bldg_per_s": round(ours_rate),
            "ours_peak_mb": round(ours["peak_mb"]),
            "exactextract_s": round(ee_s, 2),
            "rasterstats_s": round(rs_s, 2),
            "rasterstats_on": m,
            "vs_exactextract": round(ee_s / ours["seconds"], 2),
            "vs_rasterstats": round((rs_s / m) / (ours["seconds"] / n), 1),
            "same_max_as_exactextract": round(agree_ee, 5),
            "same_class_as_exactextract": round(cls_ee, 5),
            "same_max_as_rasterstats": round(agree_rs, 5),
        }
        rows.append(row)
        print(json.dumps(row))
        assert agree_ee > 0.999, f"ours and exactextract disagree on {1 - agree_ee:.4%} of buildings"
        assert agree_rs > 0.99, f"ours and rasterstats disagree on {1 - agree_rs:.4%} of buildings"
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        ours_worker(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="add 1M buildings; rasterstats on every building")
    ap.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], help="e.g. 10000,100000")
    ap.add_argument("--rasterstats-cap", type=int, default=10_000)
    ap.add_argument("--workdir", type=Path, help="keep the synthetic inputs here (default: a temp dir)")
    args = ap.parse_args()
    sizes = args.sizes or ([10_000, 100_000, 1_000_000] if args.full else [10_000, 100_000])
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        rows = run(sizes, full=args.full, rasterstats_cap=args.rasterstats_cap, workdir=args.workdir)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            rows = run(sizes, full=args.full, rasterstats_cap=args.rasterstats_cap, workdir=Path(tmp))
    print("\n| buildings | ours s (CPU s) | buildings/s | peak MB | exactextract s | × exactextract | × rasterstats |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['buildings']:,} | {r['ours_s']} ({r['ours_cpu_s']}) | {r['ours_bldg_per_s']:,} | "
            f"{r['ours_peak_mb']} | "
            f"{r['exactextract_s']} | {r['vs_exactextract']} | {r['vs_rasterstats']} |"
        )


if __name__ == "__main__":
    main()
