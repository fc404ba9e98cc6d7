"""Country scale: exposure and precarity of N synthetic buildings streamed in chunks, peak memory measured by the OS.

Inputs (written once into ``--workdir`` and reused): a ``--raster`` x ``--raster`` depth raster at 2 m
(float32, tiled, deflate; waves of water and a nodata corner, as in ``bench_exposure.py``), N rotated
footprints of 30-300 m² spread over it (GeoPackage, written in batches), a grid of streets every
400 m (a third of them footways) and 2,000 facilities (hospitals, schools, water points).

Runs, each a whole ``geoapp`` command in its own process (``benchmarks/measure.py``: wall, CPU and
the kernel's peak RSS of that process tree):

* ``geoapp exposure --hazard R --buildings B --chunk-rows C --json`` (ours, chunked);
* the same without ``--chunk-rows`` (the in-memory path: the peer for memory), when N <= ``--in-memory-max``;
* ``geoapp precarity --buildings B --roads S --facilities F --chunk-rows C --json`` (and in memory, same limit);
* with ``--workers``: the chunked exposure on a local Dask cluster of 1 then 2 worker processes
  (``--scheduler``), to show the speed-up on this 2-core machine (worker memory is theirs, not counted).

The answers are compared (the JSON summaries of chunked and in-memory runs must be equal). Results are
appended to ``benchmarks/results/scale.json``; ``scripts/readme_performance.py`` writes the README table
from that file.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_scale.py --buildings 1000000 [--workers]``;
``--buildings 10000000 --raster 20000`` is the country-scale case.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CRS = "EPSG:32748"
CELL = 2.0
X0, Y0 = 500_000.0, 9_300_000.0
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
CLASSES = "low:0.1-0.7,medium:0.7-1.5,high:1.5-"


def write_raster(path: Path, size: int) -> None:
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": from_origin(X0, Y0, CELL, CELL),
        "nodata": -9999.0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "compress": "deflate",
        "BIGTIFF": "YES",
    }
    x = (np.arange(size, dtype=np.float32) / size)[None, :]
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, size, 512):
            rows = min(512, size - r0)
            y = (np.arange(r0, r0 + rows, dtype=np.float32) / size)[:, None]
            depth = 1.2 + 0.9 * np.sin(7 * x) * np.cos(5 * y) + 0.6 * np.sin(31 * x + 17 * y)
            depth = np.clip(depth, 0, None).astype(np.float32)
            if r0 == 0:
                depth[:50, :50] = -9999.0
            dst.write(depth, 1, window=Window(0, r0, size, rows))


def write_buildings(path: Path, n: int, size: int, seed: int = 0) -> None:
    import geopandas as gpd
    import pyogrio
    import shapely

    rng = np.random.default_rng(seed)
    span = size * CELL
    batch = 1_000_000
    for s in range(0, n, batch):
        k = min(batch, n - s)
        area = rng.uniform(30, 300, k)
        aspect = rng.uniform(1, 2, k)
        w = np.sqrt(area / aspect)
        h = w * aspect
        t = rng.uniform(0, np.pi, k)
        cx, cy = X0 + rng.uniform(20, span - 20, k), Y0 - rng.uniform(20, span - 20, k)
        dx = np.array([-0.5, 0.5, 0.5, -0.5, -0.5])
        dy = np.array([-0.5, -0.5, 0.5, 0.5, -0.5])
        px = cx[:, None] + dx * w[:, None] * np.cos(t)[:, None] - dy * h[:, None] * np.sin(t)[:, None]
        py = cy[:, None] + dx * w[:, None] * np.sin(t)[:, None] + dy * h[:, None] * np.cos(t)[:, None]
        polys = shapely.polygons(np.stack([px, py], axis=-1))
        kinds = np.array(["house", "yes", "residential", "shop"], dtype=object)[rng.integers(0, 4, k)]
        gdf = gpd.GeoDataFrame(
            {
                "osm_id": np.arange(s + 1, s + k + 1),
                "building": kinds,
                "building:levels": np.where(rng.random(k) < 0.3, "2", None),
            },
            geometry=polys,
            crs=CRS,
        )
        pyogrio.write_dataframe(gdf, path, layer="buildings", append=s > 0, use_arrow=True)


def write_network(folder: Path, size: int, seed: int = 1) -> None:
    import geopandas as gpd
    import pyogrio
    import shapely

    rng = np.random.default_rng(seed)
    span = size * CELL
    steps = np.arange(0, span + 1, 400.0)
    lines = [shapely.LineString([(X0, Y0 - v), (X0 + span, Y0 - v)]) for v in steps]
    lines += [shapely.LineString([(X0 + v, Y0), (X0 + v, Y0 - span)]) for v in steps]
    kinds = np.where(np.arange(len(lines)) % 3 == 0, "footway", "residential")
    roads = gpd.GeoDataFrame({"highway": kinds, "name": None}, geometry=lines, crs=CRS)
    pyogrio.write_dataframe(roads, folder / "roads.gpkg")
    m = 2_000
    cats = np.array(["hospital", "school", "drinking_water", "clinic"], dtype=object)[np.arange(m) % 4]
    fac = gpd.GeoDataFrame(
        {"amenity": cats, "name": None},
        geometry=shapely.points(X0 + rng.uniform(0, span, m), Y0 - rng.uniform(0, span, m)),
        crs=CRS,
    )
    pyogrio.write_dataframe(fac, folder / "facilities.gpkg")


def prepare(folder: Path, n: int, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    raster = folder / f"depth_{size}.tif"
    if not raster.exists():
        print(f"writing a {size:,}² raster ...", flush=True)
        write_raster(raster.with_suffix(".part.tif"), size)
        raster.with_suffix(".part.tif").rename(raster)
    b = folder / f"buildings_{n}_{size}.gpkg"
    if not b.exists():
        print(f"writing {n:,} buildings ...", flush=True)
        write_buildings(b.with_suffix(".part.gpkg"), n, size)
        b.with_suffix(".part.gpkg").rename(b)
    if not (folder / f"roads_{size}.done").exists():
        write_network(folder, size)
        (folder / f"roads_{size}.done").touch()


def _json_of(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed: {out.stderr[-1500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from benchmarks.measure import load_average, measured

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buildings", type=int, default=1_000_000)
    parser.add_argument("--raster", type=int, default=20_000, help="raster side in cells (2 m)")
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--in-memory-max", type=int, default=1_000_000, help="run the in-memory peer up to this N")
    parser.add_argument("--workers", action="store_true", help="also time 1 vs 2 Dask worker processes")
    parser.add_argument("--skip-precarity", action="store_true")
    parser.add_argument("--workdir", default="/tmp/geoapp-bench-scale")
    args = parser.parse_args()
    folder = Path(args.workdir)
    n, size = args.buildings, args.raster
    prepare(folder, n, size)
    geoapp = str(Path(sys.executable).with_name("geoapp"))
    b = str(folder / f"buildings_{n}_{size}.gpkg")
    r = str(folder / f"depth_{size}.tif")
    exp = [geoapp, "exposure", "--hazard", r, "--classes", CLASSES, "--buildings", b, "--json"]
    pre = [geoapp, "precarity", "--buildings", b, "--roads", str(folder / "roads.gpkg")]
    pre += ["--facilities", str(folder / "facilities.gpkg"), "--json"]
    chunk = ["--chunk-rows", str(args.chunk_rows)]
    record: dict = {"buildings": n, "raster": size, "chunk_rows": args.chunk_rows, "load_before": load_average()}
    print(f"\n== {n:,} buildings over a {size:,}² raster (2 m), chunks of {args.chunk_rows:,} ==")
    print(f"load average before: {record['load_before']} (2 cores, shared with other jobs)")
    # Each figure is recorded as soon as it is measured (a long run stopped half-way keeps what it measured).
    record["exposure"] = measured(exp + chunk)
    print(_line("exposure, chunked", record["exposure"]))
    _record(record)
    if not args.skip_precarity:
        record["precarity"] = measured(pre + chunk)
        print(_line("precarity, chunked", record["precarity"]))
        _record(record)
    if args.workers:
        record["dask"] = _workers(exp + chunk)
        one, two = record["dask"]["1"], record["dask"]["2"]
        print(
            f"Dask, 1 worker {one:.1f} s, 2 workers {two:.1f} s wall: {one / two:.2f}x "
            "(each worker a process with one thread)"
        )
        _record(record)
    if n <= args.in_memory_max:
        record["exposure_in_memory"] = measured(exp)
        print(_line("exposure, in memory (peer)", record["exposure_in_memory"]))
        _record(record)
        if not args.skip_precarity:
            record["precarity_in_memory"] = measured(pre)
            print(_line("precarity, in memory (peer)", record["precarity_in_memory"]))
            _record(record)
    print(f"load average after: {record['load_after']}")
    print(f"recorded in {RESULTS.relative_to(ROOT)}; `python scripts/readme_performance.py` updates the README")


def _record(record: dict) -> None:
    """Add (or replace) this size's figures in ``benchmarks/results/scale.json``."""
    from benchmarks.measure import load_average

    record["load_after"] = load_average()
    record["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[f"{record['buildings']}"] = record
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def _line(what: str, m: dict) -> str:
    return f"{what:<30} {m['wall_s']:8.1f} s wall {m['cpu_s']:8.1f} s CPU   peak {m['peak_mb']:,.0f} MB"


def _workers(cmd: list[str]) -> dict:
    from distributed import LocalCluster

    out = {}
    for k in (1, 2):
        with LocalCluster(n_workers=k, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
            t = time.perf_counter()
            subprocess.run([*cmd, "--scheduler", cluster.scheduler_address], check=True, capture_output=True)
            out[str(k)] = time.perf_counter() - t
    return out


if __name__ == "__main__":
    main()
