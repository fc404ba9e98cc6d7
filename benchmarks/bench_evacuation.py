"""Evacuation assignment: layers.evacuation.assign vs networkx multi-source Dijkstra and per-building osmnx paths.

A synthetic street grid of N nodes (side x side, 80 m blocks with jitter): whole
horizontal and vertical lines that are NOT split at junctions, so building the
network also exercises the shared-vertex topology. N buildings at random points
(as many as nodes) and 50 shelters on random nodes, unlimited capacity, dry
streets (so the answers can be compared with plain Dijkstra). We time:

* network build: ``network_from_roads`` from the unsplit lines;
* ours: ``evacuate`` (snap every building and shelter, one multi-source
  ``scipy.sparse.csgraph.dijkstra`` pass, per-building time, distance and
  shelter, people per edge);
* networkx: ``multi_source_dijkstra_path_length`` from the 50 shelter nodes over
  the same graph (graph construction not timed), then the same per-building
  join in numpy; the per-building times must be identical to ours;
* osmnx: ``routing.shortest_path`` from a sample of buildings' nearest nodes to
  their own shelter, one route each (a lower bound: without a multi-source
  search a building needs a route to every shelter), extrapolated to 1,000
  buildings and to N.

Also reported: ours with a capacity limit (total capacity = people + 10 %,
so shelters fill and people spill in rounds).

Run: ``.venv/bin/python benchmarks/bench_evacuation.py`` (100k nodes);
``--full`` adds 1M nodes.

``--whole [--side 600]``: the whole user job, as a user runs it, against the networkx pipeline,
each in its own process measured by the OS (wall, CPU, peak RSS; see ``benchmarks/measure.py``).
Files: a side x side grid of unsplit streets (GeoPackage), side² building footprints with messy
text attributes (``building:levels`` "2", "3+", "1-2"), 50 shelter points, an all-dry depth raster.
Ours is ``geoapp evacuate --roads --buildings --shelters --hazard --out x.gpkg`` (read, network,
snap, route, catchments, write). The peer reads the same files with pyogrio, builds a networkx
graph of the lines' vertices, runs ``multi_source_dijkstra_path_length`` from the shelters'
nearest nodes and looks up every building's nearest node (scipy KD-tree): no snapping to edges,
no catchments, nothing written. The per-building times are compared (ours snaps to the nearest
edge, the peer to the nearest node: the median difference is printed).

``--whole --side 2236 --no-peer``: the scale target, a 5M-node network with 5M buildings in under
3 minutes within 8 GB (``LARGE_TARGET``). The networkx peer would need well over 8 GB there, so
``--no-peer`` runs ours alone; ``--kill-above-gb`` (default 12) stops our run when its memory passes that
much, so a shared machine is never pushed into swap, and reports how far it got. Sides other than 600
are recorded under ``"other_sides"`` in the results file, beside the 600 x 600 figures the README shows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CRS = "EPSG:32748"
BLOCK_M = 80.0
N_SHELTERS = 50
README_SIDE = 600  # the case scripts/readme_performance.py shows
LARGE_TARGET = {"buildings": 5_000_000, "wall_s": 180.0, "peak_mb": 8 * 1024.0}


def street_grid(side: int, rng: np.random.Generator):
    """Unsplit lines: ``side`` horizontal and ``side`` vertical streets sharing their crossing vertices."""
    import geopandas as gpd
    import shapely

    jitter = rng.uniform(-15, 15, size=(side, side, 2))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    xy = np.stack([jj * BLOCK_M, ii * BLOCK_M], axis=-1) + jitter + [500_000.0, 9_300_000.0]
    rows = shapely.linestrings(xy.reshape(-1, 2), indices=np.repeat(np.arange(side), side))
    cols = shapely.linestrings(xy.transpose(1, 0, 2).reshape(-1, 2), indices=np.repeat(np.arange(side), side))
    lines = np.concatenate([rows, cols])
    n = len(lines)
    return gpd.GeoDataFrame(
        {"road_id": np.arange(1, n + 1), "road_class": "residential", "oneway": False, "name": None},
        geometry=lines,
        crs=CRS,
    )


def run(n_nodes: int, osmnx_sample: int, rng: np.random.Generator) -> dict:
    import geopandas as gpd
    import networkx as nx
    import shapely

    from layers.evacuation.assign import evacuate
    from layers.evacuation.graph import walk_costs
    from layers.evacuation.network import network_from_roads

    side = int(round(np.sqrt(n_nodes)))
    roads = street_grid(side, rng)
    t = time.perf_counter()
    net = network_from_roads(roads, mode="walk")
    t_net = time.perf_counter() - t
    xmin, ymin, xmax, ymax = net.edges.total_bounds
    nb = net.n_nodes
    pts = shapely.points(rng.uniform(xmin, xmax, nb), rng.uniform(ymin, ymax, nb))
    buildings = gpd.GeoDataFrame({"building_id": np.arange(1, nb + 1)}, geometry=pts, crs=CRS)
    shelter_nodes = rng.choice(net.n_nodes, N_SHELTERS, replace=False)
    shelters = gpd.GeoDataFrame(
        {"shelter_id": np.arange(1, N_SHELTERS + 1), "capacity": np.nan, "safe": True},
        geometry=shapely.points(net.nodes_xy[shelter_nodes]),
        crs=CRS,
    )
    # Best of two runs (the first also pays for imports and the snapping index), wall and CPU time:
    # CPU time is what to compare on a shared machine.
    runs = []
    for _ in range(2):
        w, c = time.perf_counter(), time.process_time()
        res = evacuate(net, buildings, shelters, people=4.0)
        runs.append((time.perf_counter() - w, time.process_time() - c, res.timings))
    t_ours, cpu_ours, timings = min(runs, key=lambda r: r[1])

    # networkx on the same costs.
    passable, _ = walk_costs(net, None)
    e = net.edges
    g = nx.Graph()
    g.add_weighted_edges_from(
        zip(e["u"].to_numpy().tolist(), e["v"].to_numpy().tolist(), passable.tolist(), strict=False)
    )
    w, c = time.perf_counter(), time.process_time()
    dist = nx.multi_source_dijkstra_path_length(g, set(shelter_nodes.tolist()), weight="weight")
    t_nx, cpu_nx = time.perf_counter() - w, time.process_time() - c
    node_d = np.full(net.n_nodes, np.inf)
    node_d[np.fromiter(dist.keys(), dtype=np.int64)] = np.fromiter(dist.values(), dtype=np.float64)
    b_edge, b_frac, b_gap = net.snap(pts, max_distance_m=500)
    u, v = e["u"].to_numpy()[b_edge], e["v"].to_numpy()[b_edge]
    c = passable[b_edge]
    expected = np.minimum(node_d[u] + b_frac * c, node_d[v] + (1 - b_frac) * c) + b_gap
    got = res.buildings["time_s"].to_numpy()
    same = np.allclose(got, expected, rtol=1e-9, atol=1e-6)
    max_diff = float(np.nanmax(np.abs(got - expected)))

    # osmnx: one route per sampled building to its own shelter (a lower bound: without a
    # multi-source search each building needs a route to every shelter), extrapolated.
    import osmnx as ox

    mg = nx.MultiDiGraph(g.to_directed())
    mg.graph["crs"] = CRS
    sample = rng.choice(nb, osmnx_sample, replace=False)
    origins = np.where(b_frac[sample] < 0.5, u[sample], v[sample])
    dest = shelter_nodes[res.buildings["shelter_id"].to_numpy()[sample] - 1]
    c = time.process_time()
    ox.routing.shortest_path(mg, origins.tolist(), dest.tolist(), weight="weight")
    per_route = (time.process_time() - c) / osmnx_sample

    # Capacity-limited run: shelters fill, people spill in rounds.
    shelters_cap = shelters.assign(capacity=np.full(N_SHELTERS, 4.0 * nb * 1.1 / N_SHELTERS))
    c = time.process_time()
    res_cap = evacuate(net, buildings, shelters_cap, people=4.0)
    t_cap = time.process_time() - c
    return {
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "buildings": nb,
        "network_s": t_net,
        "ours_wall_s": t_ours,
        "ours_s": cpu_ours,
        "ours_search_s": timings["search"],
        "ours_snap_s": timings["snap"],
        "networkx_s": cpu_nx,
        "networkx_wall_s": t_nx,
        "osmnx_per_route_s": per_route,
        "same": same,
        "max_diff_s": max_diff,
        "capacity_s": t_cap,
        "capacity_over": int(res_cap.shelters["over_capacity"].sum()),
        "capacity_reachable": int(res_cap.buildings["reachable"].sum()),
    }


def write_whole_inputs(folder: Path, side: int, seed: int = 1) -> None:
    """The files of the whole-job case (see the module docstring) into ``folder``."""
    import geopandas as gpd
    import pyogrio
    import rasterio
    import shapely
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    roads = street_grid(side, rng)
    pyogrio.write_dataframe(roads, folder / "roads.gpkg", use_arrow=True)
    xmin, ymin, xmax, ymax = roads.total_bounds
    n = side * side
    x, y = rng.uniform(xmin + 10, xmax - 10, n), rng.uniform(ymin + 10, ymax - 10, n)
    w, h = rng.uniform(5, 12, n), rng.uniform(5, 12, n)
    levels = np.array(["1", "2", "3+", "1-2", "", "fix me"], dtype=object)[rng.integers(0, 6, n)]
    buildings = gpd.GeoDataFrame(
        {
            "osm_id": np.arange(1, n + 1),
            "building": np.array(["house", "residential", "yes"], dtype=object)[rng.integers(0, 3, n)],
            "building:levels": levels,
            "name": None,
        },
        geometry=shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2),
        crs=CRS,
    )
    pyogrio.write_dataframe(buildings, folder / "buildings.gpkg", use_arrow=True)
    pick = rng.choice(n, N_SHELTERS, replace=False)
    shelters = gpd.GeoDataFrame(
        {"name": [f"shelter {i}" for i in range(N_SHELTERS)], "amenity": "shelter"},
        geometry=shapely.points(x[pick], y[pick] + h[pick]),  # beside a footprint, on its street side
        crs=CRS,
    )
    pyogrio.write_dataframe(shelters, folder / "shelters.gpkg")
    cell = 20.0
    width, height = int(np.ceil((xmax - xmin) / cell)) + 2, int(np.ceil((ymax - ymin) / cell)) + 2
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": from_origin(xmin - cell, ymax + cell, cell, cell),
        "nodata": -9999.0,
        "compress": "deflate",
    }
    with rasterio.open(folder / "dry.tif", "w", **profile) as dst:
        dst.write(np.zeros((1, height, width), dtype=np.float32))


def networkx_pipeline(folder: Path, out: Path) -> None:
    """The peer: read, networkx multi-source Dijkstra from the shelters' nearest nodes, nearest node per building."""
    import networkx as nx
    import pyogrio
    import shapely
    from scipy.spatial import cKDTree

    roads = pyogrio.read_dataframe(folder / "roads.gpkg", use_arrow=True)
    buildings = pyogrio.read_dataframe(folder / "buildings.gpkg", use_arrow=True)
    shelters = pyogrio.read_dataframe(folder / "shelters.gpkg")
    xy, line = shapely.get_coordinates(roads.geometry.to_numpy(), return_index=True)
    nodes, node = np.unique(np.round(xy, 2), axis=0, return_inverse=True)
    node = node.ravel()
    same = line[1:] == line[:-1]
    u, v = node[:-1][same], node[1:][same]
    seconds = np.hypot(*(nodes[u] - nodes[v]).T) / 1.0  # walking at 1 m/s
    g = nx.Graph()
    g.add_weighted_edges_from(zip(u.tolist(), v.tolist(), seconds.tolist(), strict=True))
    tree = cKDTree(nodes)
    _, s_node = tree.query(shapely.get_coordinates(shelters.geometry.to_numpy()))
    dist = nx.multi_source_dijkstra_path_length(g, set(s_node.tolist()), weight="weight")
    node_t = np.full(len(nodes), np.inf)
    node_t[np.fromiter(dist.keys(), dtype=np.int64)] = np.fromiter(dist.values(), dtype=np.float64)
    _, b_node = tree.query(shapely.get_coordinates(shapely.centroid(buildings.geometry.to_numpy())))
    np.save(out, node_t[b_node])


def watched(cmd: list[str], *, kill_above_mb: float, log: Path) -> dict:
    """``cmd`` run to completion or until its resident memory passes ``kill_above_mb`` (then killed):
    wall, CPU and peak RSS as the kernel counts them (``wait4``), whether it was stopped, and the
    end of its stderr (its progress bar says how far it got)."""
    import os
    import signal
    import subprocess

    w = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        killed = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                rss_kb = int(Path(f"/proc/{proc.pid}/status").read_text().split("VmRSS:")[1].split()[0])
            except (OSError, IndexError, ValueError):
                rss_kb = 0
            if rss_kb > kill_above_mb * 1024 and not killed:
                proc.send_signal(signal.SIGKILL)
                killed = True
            time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "rc": proc.returncode,
        "wall_s": time.perf_counter() - w,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,
        "killed_above_mb": kill_above_mb if killed else None,
        "stderr_tail": log.read_text(errors="replace")[-400:].replace("\r", "\n").strip().splitlines()[-1:],
    }


def whole(side: int, workdir: Path | None, *, peer: bool = True, kill_above_gb: float = 12.0) -> None:
    """``--whole``: ``geoapp evacuate`` as a user runs it against the networkx pipeline, side by side."""
    import tempfile

    import pyogrio

    from benchmarks.measure import load_average, measured

    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    folder = Path(tmp.name) if tmp else Path(workdir)  # type: ignore[arg-type]
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / f"done-{side}").exists():
        print(f"writing the {side}x{side} case into {folder} ...", flush=True)
        write_whole_inputs(folder, side)
        (folder / f"done-{side}").touch()
    geoapp = str(Path(sys.executable).with_name("geoapp"))
    out = folder / "evac.gpkg"
    ours_cmd = [
        geoapp,
        "evacuate",
        "--roads",
        str(folder / "roads.gpkg"),
        "--buildings",
        str(folder / "buildings.gpkg"),
        "--shelters",
        str(folder / "shelters.gpkg"),
        "--hazard",
        str(folder / "dry.tif"),
        "--out",
        str(out),
        "--json",
    ]
    peer_cmd = [sys.executable, str(Path(__file__).resolve()), "--networkx-peer", str(folder)]
    load_before = load_average()
    if not peer:
        _ours_alone(side, ours_cmd, folder, load_before, kill_above_gb)
        if tmp:
            tmp.cleanup()
        return
    out.unlink(missing_ok=True)  # the layers read below are this run's
    ours = measured(ours_cmd)
    peer = measured(peer_cmd)
    load_after = load_average()
    ours_t = pyogrio.read_dataframe(out, layer="evacuation_buildings", read_geometry=False)["time_s"].to_numpy()
    peer_t = np.load(folder / "peer_times.npy")
    both = np.isfinite(ours_t) & np.isfinite(peer_t)
    n = len(ours_t)
    print(f"\n== whole job: {side}x{side} street grid, {n:,} buildings, {N_SHELTERS} shelters, all dry ==")
    print(f"load average (1/5/15 min) before {load_before}, after {load_after}: the machine is shared")
    print(
        f"ours: geoapp evacuate ... --out (read, network, snap, route, catchments, write)  "
        f"{ours['wall_s']:6.1f} s wall  {ours['cpu_s']:6.1f} s CPU  peak {ours['peak_mb']:,.0f} MB"
    )
    print(
        f"networkx pipeline (read, graph, multi-source Dijkstra, nearest node)            "
        f"{peer['wall_s']:6.1f} s wall  {peer['cpu_s']:6.1f} s CPU  peak {peer['peak_mb']:,.0f} MB"
    )
    print(
        f"ratio: ours is {peer['wall_s'] / ours['wall_s']:.2f}x the networkx pipeline's speed (wall), "
        f"{peer['cpu_s'] / ours['cpu_s']:.2f}x (CPU)"
    )
    print(
        f"per-building times: median |ours - networkx| {np.median(np.abs(ours_t[both] - peer_t[both])):.1f} s "
        f"(ours snaps to the nearest edge, networkx to the nearest node); reached by both {both.sum():,} of {n:,}"
    )
    print(
        f"FIGURES evacuation_whole buildings={n} ours_wall_s={ours['wall_s']:.1f} ours_cpu_s={ours['cpu_s']:.1f} "
        f"ours_peak_mb={ours['peak_mb']:.0f} peer_wall_s={peer['wall_s']:.1f} peer_cpu_s={peer['cpu_s']:.1f} "
        f"peer_peak_mb={peer['peak_mb']:.0f} ratio_wall={peer['wall_s'] / ours['wall_s']:.2f} "
        f"ratio_cpu={peer['cpu_s'] / ours['cpu_s']:.2f} load={load_after.split('/')[0]}"
    )
    record = {
        "buildings": n,
        "shelters": N_SHELTERS,
        "ours": ours,
        "networkx": peer,
        "ratio_wall": peer["wall_s"] / ours["wall_s"],
        "ratio_cpu": peer["cpu_s"] / ours["cpu_s"],
        "load_before": load_before,
        "load_after": load_after,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    _record(side, record)
    if tmp:
        tmp.cleanup()


RESULTS = ROOT / "benchmarks" / "results" / "evacuation_whole.json"


def _record(side: int, record: dict) -> None:
    """The README's case (``README_SIDE``) at the top of the results file, other sides under ``"other_sides"``."""
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if side == README_SIDE:
        new = {**record, **({"other_sides": old["other_sides"]} if "other_sides" in old else {})}
    else:
        new = {**old, "other_sides": {**old.get("other_sides", {}), str(side * side): {"side": side, **record}}}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
    print(f"recorded in {RESULTS.relative_to(ROOT)}; `python scripts/readme_performance.py` updates the README")


def _ours_alone(side: int, ours_cmd: list[str], folder: Path, load_before: str, kill_above_gb: float) -> None:
    """Ours without the peer (the scale target): wall, CPU, peak against ``LARGE_TARGET``."""
    import pyogrio

    from benchmarks.measure import load_average

    out = Path(ours_cmd[ours_cmd.index("--out") + 1])
    out.unlink(missing_ok=True)
    cmd = [c for c in ours_cmd if c != "--json"]  # the progress bar on stderr says how far a stopped run got
    ours = watched(cmd, kill_above_mb=kill_above_gb * 1024, log=folder / "ours_stderr.log")
    load_after = load_average()
    done = ours["rc"] == 0 and ours["killed_above_mb"] is None
    n = pyogrio.read_info(out, layer="evacuation_buildings")["features"] if done else side * side
    t = LARGE_TARGET
    # --side 2236 gives 2236² = 4,999,696 nodes and buildings: the 5M case, to 0.01 %.
    met = done and n >= 0.999 * t["buildings"] and ours["wall_s"] < t["wall_s"] and ours["peak_mb"] < t["peak_mb"]
    print(f"\n== whole job, ours alone: {side}x{side} street grid ({side * side:,} nodes), {n:,} buildings ==")
    print(f"load average (1/5/15 min) before {load_before}, after {load_after}: the machine is shared")
    state = "finished" if done else f"STOPPED (rc {ours['rc']}, killed above {ours['killed_above_mb']} MB)"
    print(
        f"ours: {state}  {ours['wall_s']:6.1f} s wall  {ours['cpu_s']:6.1f} s CPU  peak {ours['peak_mb']:,.0f} MB; "
        f"last progress: {ours['stderr_tail']}"
    )
    print(
        f"target: {t['buildings']:,} buildings in < {t['wall_s']:.0f} s within {t['peak_mb'] / 1024:.0f} GB: "
        f"{'met' if met else 'NOT met'}"
    )
    print(
        f"FIGURES evacuation_whole_alone buildings={n} ours_wall_s={ours['wall_s']:.1f} "
        f"ours_cpu_s={ours['cpu_s']:.1f} ours_peak_mb={ours['peak_mb']:.0f} finished={done} target_met={met} "
        f"load={load_after.split('/')[0]}"
    )
    record = {
        "buildings": n,
        "shelters": N_SHELTERS,
        "ours": ours,
        "finished": done,
        "target": t,
        "target_met": met,
        "load_before": load_before,
        "load_after": load_after,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    _record(side, record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="also run 1M nodes")
    parser.add_argument("--whole", action="store_true", help="the whole geoapp evacuate job vs the networkx pipeline")
    parser.add_argument("--side", type=int, default=600, help="--whole: streets per side (side² buildings)")
    parser.add_argument("--workdir", help="--whole: keep the generated files here (reused when present)")
    parser.add_argument("--no-peer", action="store_true", help="--whole: ours alone, against the scale target")
    parser.add_argument(
        "--kill-above-gb", type=float, default=12.0, help="--whole --no-peer: stop ours above this much memory"
    )
    parser.add_argument("--networkx-peer", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--osmnx-sample", type=int, default=20, help="buildings routed with osmnx (one route each)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.networkx_peer:
        networkx_pipeline(Path(args.networkx_peer), Path(args.networkx_peer) / "peer_times.npy")
        return
    if args.whole:
        whole(
            args.side,
            Path(args.workdir) if args.workdir else None,
            peer=not args.no_peer,
            kill_above_gb=args.kill_above_gb,
        )
        return
    rng = np.random.default_rng(args.seed)
    sizes = [100_000] + ([1_000_000] if args.full else [])
    warnings.simplefilter("ignore", UserWarning)
    for n in sizes:
        r = run(n, args.osmnx_sample, rng)
        print(
            f"\n== {r['nodes']:,} nodes, {r['edges']:,} edges, {r['buildings']:,} buildings, {N_SHELTERS} shelters =="
        )
        print("(CPU seconds of this process; wall time in brackets: the machine may be shared)")
        print(f"network from unsplit lines        {r['network_s']:8.2f} s wall")
        print(
            f"ours: assign every building      {r['ours_s']:8.2f} s   [{r['ours_wall_s']:.2f} s] "
            f"(snap {r['ours_snap_s']:.2f} s, "
            f"multi-source Dijkstra {r['ours_search_s']:.2f} s)"
        )
        print(
            f"networkx multi_source_dijkstra   {r['networkx_s']:8.2f} s   [{r['networkx_wall_s']:.2f} s] "
            f"({r['networkx_s'] / r['ours_search_s']:.0f}x our Dijkstra pass; "
            f"{r['networkx_s'] / r['ours_s']:.1f}x our whole assignment incl. snapping every building)"
        )
        pr = r["osmnx_per_route_s"]
        print(
            f"osmnx shortest_path, per route   {pr:8.3f} s   -> 1,000 buildings x 1 route {1000 * pr:,.0f} s "
            f"({1000 * pr / r['ours_s']:,.0f}x our whole run), "
            f"x {N_SHELTERS} shelters {N_SHELTERS * 1000 * pr:,.0f} s; "
            f"all {r['buildings']:,} buildings x 1 route {r['buildings'] * pr / 3600:,.1f} h"
        )
        print(f"identical times to networkx: {r['same']} (max |diff| {r['max_diff_s']:.2e} s)")
        print(
            f"ours with capacity limits        {r['capacity_s']:8.2f} s   ({r['capacity_reachable']:,} assigned, "
            f"{r['capacity_over']} shelters over capacity)"
        )
        if not r["same"]:
            raise SystemExit("answers differ from networkx")


if __name__ == "__main__":
    main()
