"""The input and output alone of ``geoapp evacuate`` on the ``bench_evacuation.py --whole`` case: a floor.

In a fresh interpreter, as the command does: import the I/O stack (pyogrio, numpy, shapely, geopandas and
geoapp's GeoPackage writer), read the buildings and roads (Arrow), then write the layers ``geoapp evacuate``
wrote in the last ``--whole`` run (read back from its ``evac.gpkg``, not timed) with geoapp's own writer
(spatial indexes, styles, metadata). No network, snapping, routing or catchment: what is left of the
networkx pipeline's time for those, if ours is to be 1.5x faster, is the peer's time / 1.5 minus this.

Run after ``bench_evacuation.py --whole --workdir DIR``:
``.venv/bin/python benchmarks/evacuation_io_floor.py --workdir DIR`` (records into
``benchmarks/results/evacuation_whole.json`` as ``io_floor``; the README table shows it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "evacuation_whole.json"


def floor(folder: Path) -> dict:
    """Timed in this process: import, read, write (seconds)."""
    t0 = time.perf_counter()
    import pyogrio

    from layers.publish.export import write_geopackage

    t1 = time.perf_counter()
    buildings = pyogrio.read_dataframe(folder / "buildings.gpkg", use_arrow=True)
    roads = pyogrio.read_dataframe(folder / "roads.gpkg", use_arrow=True)
    t2 = time.perf_counter()
    names = [
        str(n) for n, _ in pyogrio.list_layers(folder / "evac.gpkg") if n not in ("layer_styles", "geoapp_metadata")
    ]
    layers = {n: pyogrio.read_dataframe(folder / "evac.gpkg", layer=n, use_arrow=True) for n in names}
    out = folder / "io_floor.gpkg"
    t3 = time.perf_counter()
    write_geopackage(layers, out)
    t4 = time.perf_counter()
    out.unlink()
    return {
        "import_s": t1 - t0,
        "read_s": t2 - t1,
        "write_s": t4 - t3,
        "total_s": (t1 - t0) + (t2 - t1) + (t4 - t3),
        "read_features": len(buildings) + len(roads),
        "written_features": {n: len(v) for n, v in layers.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True, help="the folder of a bench_evacuation.py --whole run")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = Path(args.workdir)
    if args.inner:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(floor(folder)))
        return
    if not (folder / "evac.gpkg").exists():
        raise SystemExit(f"{folder}/evac.gpkg is missing: run bench_evacuation.py --whole --workdir {folder} first")
    runs = []
    for _ in range(3):  # the best of three: a floor, not an average
        out = subprocess.run(
            [sys.executable, __file__, "--workdir", str(folder), "--inner"], capture_output=True, text=True
        )
        if out.returncode != 0:
            raise SystemExit(out.stderr[-1500:])
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["total_s"])
    results = json.loads(RESULTS.read_text())
    peer = results["networkx"]["wall_s"]
    print(
        f"input and output alone: import {best['import_s']:.2f} s, read {best['read_s']:.2f} s, "
        f"write {best['write_s']:.2f} s = {best['total_s']:.2f} s; the 1.5x budget is {peer / 1.5:.2f} s "
        f"(networkx pipeline {peer:.2f} s in the last --whole run)"
    )
    results["io_floor"] = best
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"recorded in {RESULTS.relative_to(ROOT)}; `python scripts/readme_performance.py` updates the README")


if __name__ == "__main__":
    main()
