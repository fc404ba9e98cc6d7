"""Benchmark: the precarity index on N synthetic buildings (default 1,000,000) against two peers.

Ours: ``layers.precarity.index.precarity_index`` with roads and facilities (grid,
every building indicator, footway-only access, walks to health / school /
water along the network, composite, neighbourhoods).

Peers, for the part they can do (H3 cell per building + count, built-up area
and median footprint per cell):

* ``geopandas-sjoin``: H3 cell polygons, ``geopandas.sjoin`` of building
  centroids (predicate ``within``), then a pandas groupby.
* ``naive-h3-loop``: a Python loop over buildings calling h3's string API and
  filling dicts (how such scripts are often written).

The answers must agree (same cell of every building, same per-cell figures).

    .venv/bin/python benchmarks/bench_precarity.py            # 1,000,000 buildings
    .venv/bin/python benchmarks/bench_precarity.py --n 200000 # quicker
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import shapely

from layers.precarity import grid
from layers.precarity import index as pr
from layers.precarity import indicators as ind

CRS = "EPSG:32737"
X0, Y0 = 510_000.0, 9_235_000.0


def synthetic_city(n: int, seed: int = 0):
    """``n`` buildings in clusters of varied density over a square city (~1 building per 400 m² on average),
    a street grid every 200 m joined at shared vertices, a footway alley into every block, facilities
    (one per 2,000 buildings) and 1 km square neighbourhoods."""
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n * 400.0))
    n_clusters = max(n // 2000, 1)
    centres = rng.uniform(0, side, (n_clusters, 2))
    spread = rng.uniform(60, 400, n_clusters)
    which = rng.integers(0, n_clusters, n)
    xy = centres[which] + rng.normal(0, 1, (n, 2)) * spread[which, None]
    xy = np.clip(xy, 0, side)
    size = rng.lognormal(np.log(8), 0.4, n).clip(3, 40)
    geoms = shapely.box(X0 + xy[:, 0], Y0 + xy[:, 1], X0 + xy[:, 0] + size, Y0 + xy[:, 1] + size)
    buildings = gpd.GeoDataFrame(
        {
            "building_id": np.arange(1, n + 1),
            "building_type": np.where(rng.random(n) < 0.3, "residential", "yes"),
            "levels": np.where(rng.random(n) < 0.2, 1.0, np.nan),
        },
        geometry=geoms,
        crs=CRS,
    )
    lines, classes = [], []
    ticks = np.arange(0.0, side + 200, 200.0)
    for t in ticks:  # streets: vertices at every crossing so the grid is connected
        lines.append(shapely.linestrings(X0 + ticks, np.full(len(ticks), Y0 + t)))
        lines.append(shapely.linestrings(np.full(len(ticks), X0 + t), Y0 + ticks))
        classes += ["residential", "residential"]
    gx, gy = np.meshgrid(ticks[:-1], ticks[:-1])
    gx, gy = X0 + gx.ravel(), Y0 + gy.ravel()
    # Footways: 120 m diagonal alleys into every block, starting at a street crossing (a shared vertex).
    alleys = shapely.linestrings(np.stack([gx, gx + 85.0], 1), np.stack([gy, gy + 85.0], 1))
    lines += list(alleys)
    classes += ["footway"] * len(alleys)
    roads = gpd.GeoDataFrame(
        {"road_id": np.arange(len(lines)), "road_class": classes, "oneway": False, "name": None},
        geometry=lines,
        crs=CRS,
    )
    n_fac = max(n // 2000, 3)
    fxy = rng.uniform(0, side, (n_fac, 2))
    facilities = gpd.GeoDataFrame(
        {"facility_id": np.arange(n_fac), "category": rng.choice(["clinic", "school", "water_point"], n_fac)},
        geometry=shapely.points(X0 + fxy[:, 0], Y0 + fxy[:, 1]),
        crs=CRS,
    )
    # Neighbourhoods: 1 km squares.
    edges = np.arange(0.0, side, 1000.0)
    bx, by = np.meshgrid(edges, edges)
    squares = shapely.box(X0 + bx.ravel(), Y0 + by.ravel(), X0 + bx.ravel() + 1000, Y0 + by.ravel() + 1000)
    boundaries = gpd.GeoDataFrame(
        {"area_id": np.arange(1, len(squares) + 1), "name": [f"sq{i}" for i in range(len(squares))]},
        geometry=squares,
        crs=CRS,
    )
    return buildings, roads, facilities, boundaries


def peer_sjoin(buildings: gpd.GeoDataFrame, resolution: int) -> pd.DataFrame:
    """H3 polygons over the buildings, sjoin of centroids, groupby."""
    pts = gpd.GeoDataFrame(geometry=buildings.geometry.representative_point(), crs=buildings.crs)
    pts["area"] = buildings.area.to_numpy()
    ll = pts.to_crs(4326)
    # Cover the extent with cells (buffered by one ring so every centroid has its polygon).
    minx, miny, maxx, maxy = ll.total_bounds
    shape = h3.LatLngPoly([(miny, minx), (miny, maxx), (maxy, maxx), (maxy, minx)])
    cover = set()
    for c in h3.h3shape_to_cells(shape, resolution):
        cover.update(h3.grid_disk(c, 1))
    cells = gpd.GeoDataFrame(
        {"h3_id": list(cover)},
        geometry=[shapely.Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in cover],
        crs=4326,
    ).to_crs(buildings.crs)
    joined = gpd.sjoin(pts, cells, predicate="within", how="left")
    joined = joined[~joined.index.duplicated()]
    g = joined.groupby("h3_id")["area"]
    cell_area = cells.set_index("h3_id").area
    out = pd.DataFrame({"buildings": g.size(), "built_m2": g.sum(), "median_m2": g.median()})
    out["built_up_ratio"] = (out["built_m2"] / cell_area.reindex(out.index)).clip(upper=1.0)
    return out


def peer_loop(buildings: gpd.GeoDataFrame, resolution: int) -> pd.DataFrame:
    """A Python loop with dicts."""
    pts = buildings.geometry.representative_point().to_crs(4326)
    areas = buildings.area.to_numpy()
    count: dict[str, int] = {}
    built: dict[str, float] = {}
    sizes: dict[str, list[float]] = {}
    for p, a in zip(pts, areas, strict=False):
        c = h3.latlng_to_cell(p.y, p.x, resolution)
        count[c] = count.get(c, 0) + 1
        built[c] = built.get(c, 0.0) + a
        sizes.setdefault(c, []).append(a)
    return pd.DataFrame(
        {"buildings": count, "built_m2": built, "median_m2": {c: float(np.median(v)) for c, v in sizes.items()}}
    )


def ours_basic(buildings: gpd.GeoDataFrame, resolution: int) -> pd.DataFrame:
    """Our grid and the same three figures, through layers.precarity.indicators."""
    cell_of = pd.Series(grid.h3_cells_of_points(buildings.geometry, resolution=resolution))
    cells = grid.h3_cell_polygons(np.unique(cell_of), crs=buildings.crs)
    out = pd.DataFrame(
        {
            "buildings": ind.building_count(cells, buildings, unit_of=cell_of),
            "built_up_ratio": ind.built_up_ratio(cells, buildings, unit_of=cell_of),
            "median_m2": ind.median_footprint_m2(cells, buildings, unit_of=cell_of),
        }
    )
    out.index = cells["h3_id"].to_numpy()
    return out


def timed(label: str, fn, *args, **kwargs):
    """Run ``fn``; print wall-clock and CPU seconds (the machine is shared: CPU time shows our own work)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    print(f"  {label:<48} {dt:8.2f} s wall {dc:8.2f} s CPU")
    return out, (dt, dc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="buildings (default 1,000,000)")
    ap.add_argument("--resolution", type=int, default=9)
    ap.add_argument("--loop-n", type=int, default=200_000, help="buildings for the slow naive loop peer (scaled up)")
    args = ap.parse_args()

    print(f"synthetic city: {args.n:,} buildings")
    (buildings, roads, facilities, boundaries), _ = timed("make data", synthetic_city, args.n)
    print(f"  {len(roads):,} roads, {len(facilities):,} facilities, {len(boundaries):,} neighbourhoods")

    print("full index (ours):")
    res, (t_full, c_full) = timed(
        "precarity_index (cells, areas, neighbourhoods)",
        pr.precarity_index,
        buildings,
        roads=roads,
        facilities=facilities,
        boundaries=boundaries,
        progress=True,
    )
    print(
        f"  {len(res.cells):,} cells, {len(res.neighbourhoods):,} precarious neighbourhoods; "
        f"left out: {sorted(res.skipped)}"
    )

    print("grid + count / built-up / median footprint:")
    ours, t_ours = timed(
        "ours (layers.precarity.index + layers.precarity.indicators)", ours_basic, buildings, args.resolution
    )
    sj, t_sj = timed("peer geopandas-sjoin", peer_sjoin, buildings, args.resolution)
    sub = buildings.iloc[: args.loop_n]
    loop, t_loop = timed(f"peer naive-h3-loop ({len(sub):,} buildings)", peer_loop, sub, args.resolution)
    scale = len(buildings) / len(sub)
    ours_sub = ours_basic(sub, args.resolution)

    # Agreement.
    pd.testing.assert_series_equal(
        ours["buildings"].sort_index(), sj["buildings"].sort_index().astype(float), check_names=False
    )
    np.testing.assert_allclose(ours.sort_index()["built_up_ratio"], sj.sort_index()["built_up_ratio"], rtol=1e-6)
    np.testing.assert_allclose(ours.sort_index()["median_m2"], sj.sort_index()["median_m2"], rtol=1e-9)
    np.testing.assert_allclose(ours_sub.sort_index()["buildings"], loop.sort_index()["buildings"])
    np.testing.assert_allclose(ours_sub.sort_index()["median_m2"], loop.sort_index()["median_m2"], rtol=1e-9)
    print("answers agree: same cell counts, built-up area and median footprint in every cell")

    print("summary:")
    print(
        f"  full index, {args.n:,} buildings: {t_full:.1f} s wall, {c_full:.1f} s CPU "
        f"({'under' if t_full < 60 else 'OVER'} the 60 s target in wall time)"
    )
    for i, unit in ((0, "wall"), (1, "CPU")):
        loop_scaled = t_loop[i] * scale
        print(
            f"  grid figures ({unit}): ours {t_ours[i]:.2f} s, geopandas-sjoin {t_sj[i]:.2f} s "
            f"(x{t_sj[i] / t_ours[i]:.1f}), naive loop ~{loop_scaled:.1f} s scaled (x{loop_scaled / t_ours[i]:.1f})"
        )


if __name__ == "__main__":
    main()
