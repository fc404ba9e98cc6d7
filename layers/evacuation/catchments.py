"""Catchments (one polygon per used shelter) and unreachable zones, from the assignment itself.

A Voronoi diagram of every building and a union per shelter cost most of an evacuation run at city
scale (360,000 buildings: 19 of 49 s). Here the polygons come from a coarse grid dissolved by the
assignment instead, exact only where it matters, at the borders between shelters:

* the area (the buildings' convex hull grown by ``margin_m``) is cut into square cells of about
  two buildings' spacing;
* a cell whose buildings all go to one shelter (or share one unreachable reason) is *pure*: all of
  it belongs to that shelter; an empty cell goes to its nearest building's shelter;
* pure cells are dissolved into polygons by GDAL's polygonize (``rasterio.features.shapes``);
* a *mixed* cell (buildings of several shelters: a border) is split exactly, by the Voronoi cells
  of its own buildings clipped to it (one vectorised GEOS call for every mixed cell).

So every building lies in the polygon of the shelter it was assigned to, catchments never overlap
and together cover the area, and the cost grows with the cells, not with a Voronoi of everyone.
Buildings are placed by their footprint centroid.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.evacuation.points import points_xy

MAX_GRID_CELLS = 4_000_000  # the label grid stays a few tens of MB however large the area


def catchments_and_unreachable(
    evacuation_buildings: gpd.GeoDataFrame, *, margin_m: float = 100.0, cell_m: float | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``catchments`` (one polygon per used shelter) and ``unreachable`` (buildings and zones).

    ``evacuation_buildings`` is :attr:`layers.evacuation.assign.EvacuationResult.buildings`.
    ``cell_m`` is the grid's cell (default: twice the mean spacing of the buildings).
    """
    b = evacuation_buildings
    crs = b.crs
    if len(b) == 0:
        return _empty_catchments(crs), _unreachable(b, {}, [])
    reach = b["reachable"].to_numpy(bool)
    reason = b["reason"].astype("string").fillna("no_route")
    # One label per building: its shelter, or (unreachable) its reason.
    # Factorized apart and named once per distinct value: no Python object per building (a string each
    # cost 0.1 s at 360k; boxed ids 180 MB at 5M).
    s_codes, s_uniques = pd.factorize(b["shelter_id"].array[reach], sort=False)
    r_codes, r_uniques = pd.factorize(reason.array[~reach], sort=False)
    codes = np.empty(len(b), dtype=np.int64)
    codes[reach] = s_codes
    codes[~reach] = r_codes + len(s_uniques)
    names = [str(s) for s in s_uniques] + ["~" + str(r) for r in r_uniques]
    xy = points_xy(b.geometry.to_numpy(), shapely.centroid, CENTROID_CHUNK)
    shapes = _partition(xy, codes, len(names), margin_m=margin_m, cell_m=cell_m)
    label_shape = dict(zip(names, shapes, strict=True))
    catch = _catchment_table(b, reach, label_shape, crs)
    return catch, _unreachable(b, label_shape, reason)


CENTROID_CHUNK = 500_000  # centroids made and dropped chunk by chunk: 5M points at once are ~1 GB


def _partition(xy: np.ndarray, codes: np.ndarray, n_labels: int, *, margin_m: float, cell_m: float | None) -> list:
    """One polygon per label: a partition of the hull of ``xy`` in which every point lies in its label's polygon."""
    from rasterio.features import shapes
    from rasterio.transform import Affine
    from scipy.spatial import cKDTree

    hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(_hull_candidates(xy))), margin_m)
    if n_labels == 1:
        return [hull]
    xmin, ymin, xmax, ymax = hull.bounds
    area = (xmax - xmin) * (ymax - ymin)
    cell = float(cell_m) if cell_m else 2.0 * np.sqrt(shapely.area(hull) / len(xy))
    cell = max(cell, np.sqrt(area / MAX_GRID_CELLS), 1e-3)
    width, height = int(np.ceil((xmax - xmin) / cell)), int(np.ceil((ymax - ymin) / cell))
    transform = Affine(cell, 0.0, xmin, 0.0, -cell, ymax)
    col = np.clip(((xy[:, 0] - xmin) / cell).astype(np.int64), 0, width - 1)
    row = np.clip(((ymax - xy[:, 1]) / cell).astype(np.int64), 0, height - 1)
    flat = row * width + col
    # Labels per cell: pure cells hold one, mixed cells (borders) several.
    pairs = np.unique(flat * n_labels + codes)
    pair_cell, pair_label = pairs // n_labels, pairs % n_labels
    cells, first, per_cell = np.unique(pair_cell, return_index=True, return_counts=True)
    grid = np.full(width * height, -1, dtype=np.int32)
    grid[cells[per_cell == 1]] = pair_label[first[per_cell == 1]]
    mixed_cells = cells[per_cell > 1]
    empty = np.ones(width * height, dtype=bool)
    empty[cells] = False
    if empty.any():  # an empty cell goes with its nearest building
        idx = np.flatnonzero(empty)
        centres = np.column_stack([xmin + (idx % width + 0.5) * cell, ymax - (idx // width + 0.5) * cell])
        _, nearest = cKDTree(xy).query(centres, workers=-1)
        grid[idx] = codes[nearest]
    parts: list[list] = [[] for _ in range(n_labels)]
    raster = grid.reshape(height, width)
    for geojson, value in shapes(raster, mask=raster >= 0, transform=transform, connectivity=4):
        parts[int(value)].append(shapely.geometry.shape(geojson))
    if len(mixed_cells):
        pieces, piece_label = _split_mixed(xy, codes, flat, mixed_cells, width, transform)
        for label in np.unique(piece_label):
            parts[label].extend(pieces[piece_label == label])
    shapely.prepare(hull)
    return [_clip(shapely.union_all(p), hull) if p else shapely.Polygon() for p in parts]


def _clip(shape, hull):
    """``shape`` cut to ``hull``; the overlay is skipped for the (inner) labels already inside it."""
    return shape if shapely.contains(hull, shape) else shapely.intersection(shape, hull)


def _hull_candidates(xy: np.ndarray) -> np.ndarray:
    """The points of ``xy`` on its convex hull (in their order), found by qhull: GEOS then builds the same
    hull from a few dozen points instead of a multipoint of every building."""
    from scipy.spatial import ConvexHull, QhullError

    if len(xy) < 16:
        return xy
    try:
        return xy[np.sort(ConvexHull(xy).vertices)]
    except QhullError:  # all on one line (or fewer than three distinct points): GEOS copes
        return xy


def _split_mixed(xy, codes, flat, mixed_cells, width, transform) -> tuple[np.ndarray, np.ndarray]:
    """Each mixed cell cut into the Voronoi cells of its own (distinct) buildings; pieces and their labels."""
    in_mixed = np.isin(flat, mixed_cells)
    sel = np.flatnonzero(in_mixed)
    # Distinct points per cell (two buildings on one centroid share a piece: the first keeps it).
    frame = pd.DataFrame({"cell": flat[sel], "x": np.round(xy[sel, 0], 3), "y": np.round(xy[sel, 1], 3)})
    frame["label"] = codes[sel]
    frame = frame.drop_duplicates(["cell", "x", "y"]).sort_values("cell", kind="stable")
    cell_ids, group = np.unique(frame["cell"].to_numpy(), return_inverse=True)
    cell = transform.a
    x0 = transform.c + (cell_ids % width) * cell
    y1 = transform.f - (cell_ids // width) * cell
    boxes = shapely.box(x0, y1 - cell, x0 + cell, y1)
    points = shapely.multipoints(frame[["x", "y"]].to_numpy(), indices=group)
    diagrams = shapely.voronoi_polygons(points, extend_to=boxes, ordered=True)
    pieces, owner = shapely.get_parts(diagrams, return_index=True)
    if len(pieces) != len(frame):  # GEOS gave no cell per point (should not happen): keep each cell whole
        return boxes, frame.groupby(group)["label"].first().to_numpy()
    return _merge_per_cell(shapely.intersection(pieces, boxes[owner]), group, frame["label"].to_numpy())


def _merge_per_cell(pieces: np.ndarray, cell: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pieces of one label in one cell merged by a coverage union (they come from one Voronoi diagram, so
    their shared edges match exactly): fewer, larger pieces make the union per label about twice as fast."""
    key = cell * (int(label.max()) + 1) + label
    keys, start, count = np.unique(key, return_index=True, return_counts=True)
    if len(keys) == len(key):
        return pieces, label
    order = np.argsort(key, kind="stable")
    group = np.repeat(np.arange(len(keys)), count)
    slot = np.arange(len(key)) - np.repeat(np.cumsum(count) - count, count)
    table = np.full((len(keys), int(count.max())), None, dtype=object)
    table[group, slot] = pieces[order]
    try:
        merged = shapely.coverage_union_all(table, axis=1)
    except shapely.errors.GEOSException:  # edges not matched after all: the union per label copes
        return pieces, label
    if not shapely.is_valid(merged).all():
        return pieces, label
    return merged, label[start]


def _empty_catchments(crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"shelter_id": pd.array([], dtype="Int64"), "buildings": [], "people": [], "time_max_s": []},
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )


def _catchment_table(b: gpd.GeoDataFrame, reach: np.ndarray, label_shape: dict, crs) -> gpd.GeoDataFrame:
    if not reach.any():
        return _empty_catchments(crs)
    frame = pd.DataFrame(
        {
            "shelter_id": b["shelter_id"].to_numpy()[reach],
            "people": b["people"].to_numpy(np.float64)[reach],
            "time_s": b["time_s"].to_numpy(np.float64)[reach],
        }
    )
    stats = frame.groupby("shelter_id", sort=True).agg(
        buildings=("people", "size"), people=("people", "sum"), time_max_s=("time_s", "max")
    )
    ids = stats.index.to_numpy()
    return gpd.GeoDataFrame(
        {
            "shelter_id": pd.array(ids, dtype="Int64"),
            "buildings": stats["buildings"].to_numpy(),
            "people": stats["people"].to_numpy(),
            "time_max_s": stats["time_max_s"].to_numpy(),
        },
        geometry=[label_shape[str(int(i))] for i in ids],
        crs=crs,
    )


def _unreachable(b: gpd.GeoDataFrame, label_shape: dict, reason) -> gpd.GeoDataFrame:
    """Unreachable buildings (their footprints) and one zone per reason (the area around them)."""
    lost = ~b["reachable"].to_numpy(bool) if len(b) else np.zeros(0, bool)
    why = np.asarray(reason, dtype=object)[lost] if len(b) else np.array([], dtype=object)
    people = b["people"].to_numpy(np.float64)[lost] if len(b) else np.zeros(0)
    rows = pd.DataFrame(
        {
            "kind": "building",
            "building_id": pd.array(b["building_id"].to_numpy()[lost] if len(b) else [], dtype="Int64"),
            "reason": why,
            "buildings": 1,
            "people": people,
        }
    )
    geoms = list(b.geometry.to_numpy()[lost]) if len(b) else []
    if lost.any():
        stats = pd.DataFrame({"reason": why, "people": people}).groupby("reason", sort=True)
        stats = stats.agg(buildings=("people", "size"), people=("people", "sum"))
        zones = pd.DataFrame(
            {
                "kind": "zone",
                "building_id": pd.array([pd.NA] * len(stats), dtype="Int64"),
                "reason": stats.index.to_numpy(),
                "buildings": stats["buildings"].to_numpy(),
                "people": stats["people"].to_numpy(),
            }
        )
        rows = pd.concat([rows, zones], ignore_index=True)
        geoms += [label_shape["~" + r] for r in stats.index]
    rows["reason"] = rows["reason"].astype("string")
    rows["kind"] = rows["kind"].astype("string")
    return gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=b.crs), crs=b.crs)
