"""What each geometry touches of a hazard: highest class, maximum depth, flooded share.

Geometries are brought into the hazard's CRS (never the raster into theirs), so
cells are never resampled. Rasters are read by windows of a band of rows
(:class:`~layers.hazard.sources.RasterWindows`); the cells each geometry touches come from
:mod:`layers.hazard.touched`, and what they hold is summed up by :mod:`layers.hazard.cell_stats`.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from rasterio.windows import Window

from layers.errors import InvalidInputError
from layers.hazard.classes import NOT_AFFECTED
from layers.hazard.sources import Hazard, HazardZones, RasterWindows
from layers.hazard.touched import Touched, grid_origin, touched_cells

# Geometries are placed on the grid this many at a time.
GEOM_CHUNK = 250_000
# Geometries are matched with vector zones this many at a time (one progress step each).
ZONE_CHUNK = 2_000


def progress_bar(iterable, *, desc: str | None, unit: str = "it", total: int | None = None):
    """``iterable`` with a tqdm bar named ``desc``; no bar without ``desc`` or when stderr is not a terminal
    (``disable=None`` is tqdm's "only on a TTY"), so logs and ``--json`` output stay clean."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit=unit, total=total, disable=None if desc else True, leave=False)


def _to_crs(geoms, crs) -> np.ndarray:
    if isinstance(geoms, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if geoms.crs is None:
            raise InvalidInputError("the layer has no CRS; cannot place it on the hazard")
        if CRS.from_user_input(geoms.crs).equals(crs):
            return geoms.geometry.to_numpy() if isinstance(geoms, gpd.GeoDataFrame) else geoms.to_numpy()
        return (
            geoms.geometry.to_crs(crs).to_numpy()
            if isinstance(geoms, gpd.GeoDataFrame)
            else geoms.to_crs(crs).to_numpy()
        )
    return np.asarray(geoms, dtype=object)


def _windowed(touched: Touched, raster: RasterWindows, reducer, *, progress: str | None = None) -> None:
    """Call ``reducer(values, part, (row_off, col_off))`` per band of rows, reading only that window.

    Geometries are grouped by the band (``raster.band_rows`` rows) holding their first row, so memory
    stays bounded by one band (plus the tallest geometry) whatever the raster's size.
    """
    if not len(touched.index):
        return
    idx = touched.index
    first = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])  # first interval (lowest row) of each geometry
    band_of_geom = touched.row[first] // raster.band_rows
    band = np.repeat(band_of_geom, np.diff(np.r_[first, len(idx)]))
    order = np.argsort(band, kind="stable")  # keeps each geometry's intervals together and in order
    idx, r_all, c0s, c1s, band = idx[order], touched.row[order], touched.col0[order], touched.col1[order], band[order]
    cuts = np.flatnonzero(np.r_[True, band[1:] != band[:-1], True])
    spans = list(zip(cuts[:-1], cuts[1:], strict=False))
    for s, e in progress_bar(spans, desc=progress if len(spans) >= 3 else None, unit="band"):
        rows, c0, c1 = r_all[s:e], c0s[s:e], c1s[s:e]
        rmin, rmax, cmin, cmax = rows.min(), rows.max(), c0.min(), c1.max()
        win = Window(int(cmin), int(rmin), int(cmax - cmin + 1), int(rmax - rmin + 1))
        reducer(raster.read(win), Touched(idx[s:e], rows - rmin, c0 - cmin, c1 - cmin), (int(rmin), int(cmin)))


def geometry_hazard(geoms, hazard: Hazard, *, share: bool = False, progress: str | None = None) -> pd.DataFrame:
    """Per geometry: ``hazard_class`` (index, -1 none; highest class touched), ``depth_max_m`` and,
    with ``share``, ``flooded_share`` (share of the footprint in cells/zones of any class).

    Raster: all cells touched (all-touched), read by windows. Zones: every zone sharing positive
    area (polygons) or touching (lines, points); depth is the zone ``value`` when numeric.
    The flooded share is exact: 0 or 1 when all touched cells agree, else the footprint is cut
    by its affected cells.
    """
    if isinstance(hazard, HazardZones):
        return _zones_hazard(geoms, hazard, share=share, progress=progress)
    g = _to_crs(geoms, hazard.crs)
    n = len(g)
    cls = np.full(n, NOT_AFFECTED, dtype=np.int8)
    depth = np.full(n, np.nan)
    fraction = np.zeros(n)
    mixed: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    from layers.hazard.cell_stats import cell_stats  # numba: loaded only when a raster is sampled

    edges, right_closed = hazard.classes.edges, hazard.classes.right_closed

    def reducer(values: np.ndarray, part: Touched, offset: tuple[int, int]) -> None:
        # Values compared in float64, as read() gives them (the window may be float32).
        stats = cell_stats(part.index, part.row, part.col0, part.col1, values, edges, right_closed, share)
        owners, vmax, cmax, nhit, ncell, idx, row, col = stats
        depth[owners] = vmax
        cls[owners] = cmax
        if share:
            fraction[owners[nhit == ncell]] = 1.0
            # A concave footprint's strip pieces may share a cell: count each cell once.
            key = (idx * values.shape[0] + row) * values.shape[1] + col
            some = np.unique(key, return_index=True)[1]
            mixed.append((idx[some], row[some] + offset[0], col[some] + offset[1]))

    # Chunks of geometries in north-south order: each chunk's cells stay few and its windows compact.
    order = np.argsort(shapely.bounds(g)[:, 1], kind="stable") if n > GEOM_CHUNK else np.arange(n)
    with hazard.windows() as raster:
        for s in range(0, n, GEOM_CHUNK):
            sel = order[s : s + GEOM_CHUNK]
            t = touched_cells(g[sel], hazard.transform, (hazard.height, hazard.width))
            _windowed(Touched(sel[t.index], t.row, t.col0, t.col1), raster, reducer, progress=progress)
    out = pd.DataFrame({"hazard_class": cls, "depth_max_m": depth})
    if share:
        x0, a, y0, e = grid_origin(hazard.transform)
        for idx, row, col in mixed:
            if len(idx):
                xa, xb = x0 + col * a, x0 + (col + 1) * a
                ya, yb = y0 + row * e, y0 + (row + 1) * e
                cells = shapely.box(np.minimum(xa, xb), np.minimum(ya, yb), np.maximum(xa, xb), np.maximum(ya, yb))
                np.add.at(fraction, idx, shapely.area(shapely.intersection(g[idx], cells)) / shapely.area(g[idx]))
        area = shapely.area(g)
        out["flooded_share"] = np.where(area > 0, np.clip(fraction, 0.0, 1.0), (cls >= 0) * 1.0)
    return out


def _zones_hazard(geoms, hazard: HazardZones, *, share: bool, progress: str | None) -> pd.DataFrame:
    zones = hazard.zones
    g = _to_crs(geoms, zones.crs)
    n = len(g)
    cls = np.full(n, NOT_AFFECTED, dtype=np.int8)
    depth = np.full(n, np.nan)
    fraction = np.zeros(n)
    zg = zones.geometry.to_numpy()
    zone_tree = shapely.STRtree(zg)
    pg = hazard.class_polygons().geometry.to_numpy() if share else np.empty(0, dtype=object)
    poly_tree = shapely.STRtree(pg)
    # By chunks of geometries, each on its own, so a bar can show how far the (slow) cuts are.
    for s in progress_bar(range(0, n, ZONE_CHUNK), desc=progress, unit="chunk", total=-(-n // ZONE_CHUNK)):
        part = g[s : s + ZONE_CHUNK]
        src, dst = zone_tree.query(part, predicate="intersects")
        is_poly = np.isin(shapely.get_type_id(part[src]), (3, 6))
        if is_poly.any():
            # Polygons must share area with a zone, not just a border.
            keep = ~is_poly | ~shapely.touches(part[src], zg[dst])
            src, dst = src[keep], dst[keep]
        np.maximum.at(cls, src + s, zones["hazard_class"].to_numpy()[dst])
        np.fmax.at(depth, src + s, zones["value"].to_numpy()[dst])
        if len(pg):
            src, dst = poly_tree.query(part, predicate="intersects")
            # Most footprints lie wholly inside one class polygon: cut only the others (cuts are slow).
            inside = shapely.within(part[src], pg[dst])
            area = shapely.area(part[src])
            area[~inside] = shapely.area(shapely.intersection(part[src[~inside]], pg[dst[~inside]]))
            np.add.at(fraction, src + s, area)
    out = pd.DataFrame({"hazard_class": cls, "depth_max_m": depth})
    if share:
        area = shapely.area(g)
        out["flooded_share"] = np.where(
            area > 0, np.clip(fraction / np.where(area > 0, area, 1), 0, 1), (cls >= 0) * 1.0
        )
    return out


def depth_at_points(points, hazard: Hazard) -> np.ndarray:
    """Hazard value at each point (float64): depth of the cell holding it, or the numeric value of the
    most severe zone holding it; NaN outside the hazard, on nodata, or for text-classed zones."""
    return geometry_hazard(points, hazard)["depth_max_m"].to_numpy()


def class_at_points(points, hazard: Hazard) -> np.ndarray:
    """Class index (int8, -1 = not affected) at each point."""
    return geometry_hazard(points, hazard)["hazard_class"].to_numpy()


def max_depth_along_lines(lines, hazard: Hazard) -> np.ndarray:
    """Maximum hazard depth (m) over every cell each line passes through (float64).

    NaN where the line crosses only nodata or lies outside the raster. Vector zones:
    the highest numeric zone value touched; for text-classed zones (no depth) ``inf``
    where the line touches an affected zone and NaN elsewhere.
    """
    if isinstance(hazard, HazardZones) and hazard.classes.kind == "text":
        res = geometry_hazard(lines, hazard)
        return np.where(res["hazard_class"].to_numpy() >= 0, np.inf, np.nan)
    return geometry_hazard(lines, hazard)["depth_max_m"].to_numpy()
