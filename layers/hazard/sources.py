"""Hazard layers: depth rasters in any CRS and vector hazard zones, and what touches them.

A hazard is either a :class:`HazardRaster` (a grid GDAL reads: GeoTIFF, ASCII
grid, ...; depth in metres or class codes; nodata respected) or
:class:`HazardZones` (polygons whose ``field`` is classified by the class
scheme: numeric ranges or text values). :func:`open_hazard` opens either.

Geometry against a grid uses *all-touched* semantics: a polygon touches a cell
when they share positive area; a line touches the cells it passes through.
Geometries are brought into the raster's CRS (never the raster into theirs),
so cells are never resampled. Cells are found per row strip with numpy: a
convex polygon's cross-section with a row strip is one interval, found from
its edges clipped to the strip; other polygons (concave, with holes) are cut
by the strip with GEOS and each piece gives its interval.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS
from rasterio.windows import Window

from layers.errors import InvalidInputError, OutsideExtentError
from layers.hazard.classes import DEFAULT_FLOOD_CLASSES, NOT_AFFECTED, ClassScheme, parse_classes
from layers.io.rasters import open_raster

# Geometries are processed by bands of this many raster rows, each band's window read on its own.
BAND_ROWS = 256
# Geometries are placed on the grid this many at a time.
GEOM_CHUNK = 250_000
# Class polygons are made per block of this many cells a side.
POLY_BLOCK = 32


@dataclass
class HazardRaster:
    """A hazard grid: depth (or class codes) per cell; only windows are read."""

    path: Path
    classes: ClassScheme
    crs: CRS
    transform: rasterio.Affine
    width: int
    height: int
    nodata: float | None
    units: str = "m"
    band: int = 1
    kind: str = "raster"
    _polygons: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in the raster CRS."""
        t = self.transform
        x0, y0, x1, y1 = t.c, t.f, t.c + t.a * self.width, t.f + t.e * self.height
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    def read(self, window: Window | None = None) -> np.ndarray:
        """Cell values (float64) of ``window`` (all when None); nodata and NaN become NaN."""
        with rasterio.open(self.path) as src:
            data = src.read(self.band, window=window, masked=True)
        return np.ma.filled(data.astype(np.float64), np.nan)

    def class_grid(self, window: Window | None = None) -> np.ndarray:
        """Class index (int8, -1 = not affected) of every cell of ``window``."""
        return self.classes.classify(self.read(window))

    def class_polygons(self, *, crs=None, extent: tuple | None = None) -> gpd.GeoDataFrame:
        """Non-overlapping polygons of the cells of each class (``hazard_class`` index), optionally reprojected.

        With ``extent`` (minx, miny, maxx, maxy in the raster CRS) the result covers it entirely:
        cells of no class, nodata and the outside of the grid are added with ``hazard_class`` -1.
        """
        key = (None if crs is None else CRS.from_user_input(crs).to_wkt(), extent)
        if key not in self._polygons:
            self._polygons[key] = self._class_polygons(crs=crs, extent=extent)
        return self._polygons[key].copy()

    def _class_polygons(self, *, crs, extent) -> gpd.GeoDataFrame:
        from rasterio.features import shapes

        grid = self.class_grid()
        geoms, values = [], []
        # Polygonised by blocks, so polygons stay small and simple (fast to cut lines with).
        for r in range(0, self.height, POLY_BLOCK):
            for c in range(0, self.width, POLY_BLOCK):
                block = grid[r : r + POLY_BLOCK, c : c + POLY_BLOCK]
                mask = None if extent is not None else block >= 0
                if mask is not None and not mask.any():
                    continue
                t = self.transform @ rasterio.Affine.translation(c, r)
                for geom, value in shapes(block, mask=mask, transform=t, connectivity=4):
                    geoms.append(geom)
                    values.append(int(value))
        geoms = [shapely.geometry.shape(g) for g in geoms]
        if extent is not None:
            outside = shapely.difference(shapely.box(*extent), shapely.box(*self.bounds))
            if not outside.is_empty:
                geoms.append(outside)
                values.append(NOT_AFFECTED)
        out = gpd.GeoDataFrame({"hazard_class": np.asarray(values, dtype=np.int8)}, geometry=geoms, crs=self.crs)
        return out.to_crs(crs) if crs is not None else out


@dataclass
class HazardZones:
    """Vector hazard zones: ``zones`` keeps affected zones only, with ``hazard_class`` (index) and ``value``."""

    path: Path | None
    classes: ClassScheme
    zones: gpd.GeoDataFrame
    field: str
    units: str = "m"
    kind: str = "vector"

    @property
    def crs(self) -> CRS:
        return self.zones.crs

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return tuple(float(b) for b in self.zones.total_bounds)

    def class_polygons(self, *, crs=None, extent: tuple | None = None) -> gpd.GeoDataFrame:
        """Non-overlapping polygons per class: where zones overlap, the most severe class wins.

        With ``extent`` (in the zones' CRS) the rest of it is added with ``hazard_class`` -1.
        """
        parts, classes = [], []
        taken = None
        for i in range(len(self.classes.names) - 1, -1, -1):
            geoms = self.zones.geometry[self.zones["hazard_class"] == i].to_numpy()
            if not len(geoms):
                continue
            merged = shapely.union_all(shapely.make_valid(geoms))
            if taken is not None:
                merged = shapely.difference(merged, taken)
            taken = merged if taken is None else shapely.union(taken, merged)
            polys = [p for p in shapely.get_parts(merged) if p.geom_type == "Polygon" and p.area > 0]
            parts += polys
            classes += [i] * len(polys)
        if extent is not None:
            rest = shapely.box(*extent) if taken is None else shapely.difference(shapely.box(*extent), taken)
            polys = [p for p in shapely.get_parts(rest) if p.geom_type == "Polygon" and p.area > 0]
            parts += polys
            classes += [NOT_AFFECTED] * len(polys)
        out = gpd.GeoDataFrame({"hazard_class": np.asarray(classes, dtype=np.int8)}, geometry=parts, crs=self.zones.crs)
        return out.to_crs(crs) if crs is not None else out


Hazard = HazardRaster | HazardZones


def open_hazard(
    path,
    *,
    classes: ClassScheme | str | None = None,
    field: str | None = None,
    layer: str | None = None,
    units: str = "m",
) -> Hazard:
    """Open a hazard raster, or vector zones when ``field`` is given.

    Parameters
    ----------
    path
        A raster GDAL reads, a vector file, or a :class:`~layers.area.HazardSpec` (its
        path, classes, field and layer are used).
    classes
        A :class:`ClassScheme` or spec string; default the InaSAFE flood classes.
    field
        Attribute of vector zones holding their class or value.
    """
    if hasattr(path, "path") and hasattr(path, "classes"):  # a HazardSpec
        spec = path
        return open_hazard(
            spec.path,
            classes=classes or spec.classes,
            field=field or spec.field,
            layer=layer or spec.layer,
            units=spec.units,
        )
    scheme = parse_classes(classes or DEFAULT_FLOOD_CLASSES) if not isinstance(classes, ClassScheme) else classes
    path = Path(path)
    if field is None:
        with open_raster(path, what="hazard", hint="for vector zones give the attribute with --hazard-field") as src:
            t = src.transform
            scheme = _at_precision(scheme, np.dtype(src.dtypes[0]))
            return HazardRaster(path, scheme, CRS.from_user_input(src.crs), t, src.width, src.height, src.nodata, units)
    from layers.io.vectors import column, read_vector

    zones = read_vector(path, layer=layer, what="hazard")
    if zones.crs is None:
        raise InvalidInputError(f"hazard zones {path} have no CRS; add a .prj or write the file with one")
    values = column(zones, field)
    if values is None:
        raise InvalidInputError(
            f"hazard zones {path} have no field '{field}'; fields are {[c for c in zones.columns if c != 'geometry']}"
        )
    if scheme.kind == "numeric" and not pd.api.types.is_numeric_dtype(values):
        parsed = pd.to_numeric(values, errors="coerce")
        if parsed.isna().sum() > values.isna().sum():
            raise InvalidInputError(
                f"hazard field '{field}' of {path} holds text (e.g. {values.dropna().iloc[0]!r}) but the classes "
                f"'{scheme.spec()}' are numeric; give text classes such as 'wet:yes'"
            )
        values = parsed
    return zones_from_frame(
        zones.assign(_value=values.to_numpy()), scheme, field="_value", path=path, units=units, source_field=field
    )


def _at_precision(scheme: ClassScheme, dtype: np.dtype) -> ClassScheme:
    """Class bounds rounded to the raster's float precision, so a float32 cell holding 0.7 is >= "0.7"."""
    if scheme.kind != "numeric" or not np.issubdtype(dtype, np.floating) or dtype.itemsize >= 8:
        return scheme
    from dataclasses import replace

    def r(v: float) -> float:
        return v if math.isinf(v) else float(np.asarray(v, dtype=dtype))

    return replace(scheme, classes=tuple(replace(c, lower=r(c.lower), upper=r(c.upper)) for c in scheme.classes))


def zones_from_frame(
    zones: gpd.GeoDataFrame,
    classes: ClassScheme | str,
    *,
    field: str,
    path=None,
    units: str = "m",
    source_field: str | None = None,
) -> HazardZones:
    """Hazard zones from a GeoDataFrame whose ``field`` is classified by ``classes``."""
    scheme = parse_classes(classes) if isinstance(classes, str) else classes
    if zones.crs is None:
        raise InvalidInputError("hazard zones have no CRS")
    cls = scheme.classify(zones[field].to_numpy())
    value = (
        pd.to_numeric(zones[field], errors="coerce").to_numpy(np.float64)
        if scheme.kind == "numeric"
        else np.full(len(zones), np.nan)
    )
    keep = (cls >= 0) & zones.geometry.notna().to_numpy() & ~zones.geometry.is_empty.to_numpy()
    out = gpd.GeoDataFrame(
        {"hazard_class": cls[keep], "value": value[keep]},
        geometry=shapely.make_valid(zones.geometry.to_numpy()[keep]),
        crs=zones.crs,
    )
    if len(zones) and not keep.any():
        warnings.warn(f"no hazard zone of {path or 'the layer'} falls in any class of '{scheme.spec()}'", stacklevel=2)
    return HazardZones(Path(path) if path else None, scheme, out.reset_index(drop=True), source_field or field, units)


# --------------------------------------------------------------------------
# Cells touched by geometries (all-touched), as row intervals
# --------------------------------------------------------------------------
@dataclass
class Touched:
    """Cells touched: interval ``row, col0..col1`` (inclusive) belongs to geometry ``index``; sorted by index."""

    index: np.ndarray
    row: np.ndarray
    col0: np.ndarray
    col1: np.ndarray

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Expanded (index, row, col) of every touched cell."""
        n = self.col1 - self.col0 + 1
        idx = np.repeat(self.index, n)
        row = np.repeat(self.row, n)
        start = np.repeat(np.cumsum(n) - n, n)
        col = np.repeat(self.col0, n) + (np.arange(n.sum()) - start)
        return idx, row, col


def _grid(transform) -> tuple[float, float, float, float]:
    """(x0, a, y0, e) of a north-up or south-up grid."""
    return transform.c, transform.a, transform.f, transform.e


def _span(a, b, origin: float, step: float, *, open_: bool):
    """First and last cell index along one axis overlapping the interval between ``a`` and ``b``
    (open: cells only touched at an end are left out; closed: at least one cell)."""
    fa, fb = (a - origin) / step, (b - origin) / step  # fractional cell positions of the two ends
    lo, hi = np.minimum(fa, fb), np.maximum(fa, fb)
    first = np.floor(lo).astype(np.int64)
    last = np.ceil(hi).astype(np.int64) - 1
    if not open_:
        last = np.maximum(last, first)
    return first, last


def _rows_of(ymin, ymax, transform, *, open_: bool):
    """Rows overlapping y in (ymin, ymax) (open) or [ymin, ymax] (closed)."""
    _, _, y0, e = _grid(transform)
    return _span(ymax, ymin, y0, e, open_=open_)


def _cols_of(xmin, xmax, transform, *, open_: bool):
    x0, a, _, _ = _grid(transform)
    return _span(xmin, xmax, x0, a, open_=open_)


def _strip_y(rows, transform):
    """(ylow, yhigh) of each row strip."""
    y0, e = transform.f, transform.e
    ya, yb = y0 + rows * e, y0 + (rows + 1) * e
    return np.minimum(ya, yb), np.maximum(ya, yb)


def _segments(geoms: np.ndarray, index: np.ndarray):
    """Every segment (x1, y1, x2, y2) of the rings/lines ``geoms``, with the index of its geometry."""
    rings_or_lines = geoms
    coords, part = shapely.get_coordinates(rings_or_lines, return_index=True)
    same = part[1:] == part[:-1]
    x1, y1 = coords[:-1][same, 0], coords[:-1][same, 1]
    x2, y2 = coords[1:][same, 0], coords[1:][same, 1]
    return x1, y1, x2, y2, index[part[:-1][same]]


def _segment_intervals(x1, y1, x2, y2, owner, transform, *, open_rows: bool):
    """Per (segment, row) the x-extent of the segment clipped to the row strip."""
    ymin, ymax = np.minimum(y1, y2), np.maximum(y1, y2)
    r0, r1 = _rows_of(ymin, ymax, transform, open_=False)
    n = r1 - r0 + 1
    seg = np.repeat(np.arange(len(x1)), n)
    start = np.repeat(np.cumsum(n) - n, n)
    row = np.repeat(r0, n) + (np.arange(n.sum()) - start)
    lo_y, hi_y = _strip_y(row, transform)
    sx1, sy1, sx2, sy2 = x1[seg], y1[seg], x2[seg], y2[seg]
    dy = sy2 - sy1
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = np.where(dy != 0, (lo_y - sy1) / dy, 0.0)
        tb = np.where(dy != 0, (hi_y - sy1) / dy, 1.0)
    t0 = np.clip(np.minimum(ta, tb), 0.0, 1.0)
    t1 = np.clip(np.maximum(ta, tb), 0.0, 1.0)
    xa, xb = sx1 + t0 * (sx2 - sx1), sx1 + t1 * (sx2 - sx1)
    return owner[seg], row, np.minimum(xa, xb), np.maximum(xa, xb)


def _reduce_intervals(owner, row, xlo, xhi):
    """Min xlo / max xhi per (owner, row), sorted by owner then row."""
    key = owner.astype(np.int64) * (int(row.max()) - int(row.min()) + 1 if len(row) else 1) + (
        row - (row.min() if len(row) else 0)
    )
    order = np.argsort(key, kind="stable")
    owner, row, xlo, xhi = owner[order], row[order], xlo[order], xhi[order]
    if not len(owner):
        return owner, row, xlo, xhi
    brk = np.flatnonzero((owner[1:] != owner[:-1]) | (row[1:] != row[:-1])) + 1
    starts = np.concatenate([[0], brk])
    return owner[starts], row[starts], np.minimum.reduceat(xlo, starts), np.maximum.reduceat(xhi, starts)


def touched_cells(geoms, transform, shape: tuple[int, int]) -> Touched:
    """All-touched cells of every geometry (in the grid's CRS), clipped to the grid.

    Polygons: cells sharing positive area. Lines: cells they pass through.
    Points: the cell holding them. Returns row intervals sorted by geometry index.
    """
    geoms = np.asarray(geoms, dtype=object)
    height, width = shape
    parts, pidx = shapely.get_parts(geoms, return_index=True)
    ptype = shapely.get_type_id(parts)
    out = []
    # Points: the cell holding them.
    pts = ptype == 0
    if pts.any():
        xy = shapely.get_coordinates(parts[pts])
        c0, _ = _cols_of(xy[:, 0], xy[:, 0], transform, open_=False)
        r0, _ = _rows_of(xy[:, 1], xy[:, 1], transform, open_=False)
        out.append((pidx[pts], r0, c0, c0.copy()))
    # Lines: per segment and row strip.
    lines = ptype == 1
    if lines.any():
        owner, row, xlo, xhi = _segment_intervals(*_segments(parts[lines], pidx[lines]), transform, open_rows=False)
        c0, c1 = _cols_of(xlo, xhi, transform, open_=False)
        out.append((owner, row, c0, c1))
    polys = ptype == 3
    if polys.any():
        out.append(_polygon_intervals(parts[polys], pidx[polys], transform))
    if not out:
        e = np.empty(0, np.int64)
        return Touched(e, e, e, e)
    owner, row, c0, c1 = (np.concatenate(v) for v in zip(*out))
    keep = (row >= 0) & (row < height) & (c1 >= 0) & (c0 < width) & (c1 >= c0)
    owner, row, c0, c1 = owner[keep], row[keep], np.clip(c0[keep], 0, width - 1), np.clip(c1[keep], 0, width - 1)
    if len(owner) > 1 and (np.diff(owner) < 0).any():
        order = np.argsort(owner, kind="stable")  # group by geometry; rows need no order
        owner, row, c0, c1 = owner[order], row[order], c0[order], c1[order]
    return Touched(owner, row, c0, c1)


def _convex_rings(rings: np.ndarray) -> np.ndarray:
    """Whether each closed ring is convex: every turn the same way and one full turn in all
    (numpy over the vertices; a star turns twice)."""
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    n = len(rings)
    if not len(xy):
        return np.zeros(n, dtype=bool)
    # Edges of each ring (the closing vertex repeats the first, so edges stay within rings).
    same = ring[1:] == ring[:-1]
    ex, ey = np.diff(xy[:, 0])[same], np.diff(xy[:, 1])[same]
    er = ring[:-1][same]
    keep = (ex != 0) | (ey != 0)  # repeated vertices make no turn
    ex, ey, er = ex[keep], ey[keep], er[keep]
    starts = np.flatnonzero(np.r_[True, er[1:] != er[:-1]])
    nxt = np.arange(len(ex)) + 1
    ends = np.r_[starts[1:], len(ex)]
    nxt[ends - 1] = starts  # the last edge turns into the first
    cross = ex * ey[nxt] - ey * ex[nxt]
    dot = ex * ex[nxt] + ey * ey[nxt]
    turn = np.arctan2(cross, dot)
    scale = np.hypot(ex, ey) * np.hypot(ex[nxt], ey[nxt])
    straight = np.abs(cross) <= 1e-12 * scale
    pos = np.bincount(er, weights=(cross > 0) & ~straight, minlength=n)
    neg = np.bincount(er, weights=(cross < 0) & ~straight, minlength=n)
    total = np.bincount(er, weights=turn, minlength=n)
    return ((pos == 0) | (neg == 0)) & (np.abs(np.abs(total) - 2 * np.pi) < 1e-6) & (pos + neg >= 3)


def _polygon_intervals(polys: np.ndarray, owner: np.ndarray, transform):
    """Column intervals per row strip of single polygons (positive-area contact)."""
    area = shapely.area(polys)
    keep = area > 0
    polys, owner, area = polys[keep], owner[keep], area[keep]
    convex = (shapely.get_num_interior_rings(polys) == 0) & _convex_rings(shapely.get_exterior_ring(polys))
    res = []
    b = shapely.bounds(polys)
    prow0, prow1 = _rows_of(b[:, 1], b[:, 3], transform, open_=True)
    if convex.any():
        ids = np.flatnonzero(convex)
        rings = shapely.get_exterior_ring(polys[ids])
        o, row, xlo, xhi = _segment_intervals(*_segments(rings, ids), transform, open_rows=True)
        # Keep only rows where the polygon has positive area (open row range of its bounds).
        ok = (row >= prow0[o]) & (row <= prow1[o])
        o, row, xlo, xhi = _reduce_intervals(o[ok], row[ok], xlo[ok], xhi[ok])
        c0, c1 = _cols_of(xlo, xhi, transform, open_=True)
        res.append((owner[o], row, c0, c1))
    if (~convex).any():
        ids = np.flatnonzero(~convex)
        n = prow1[ids] - prow0[ids] + 1
        pid = np.repeat(ids, n)
        start = np.repeat(np.cumsum(n) - n, n)
        row = np.repeat(prow0[ids], n) + (np.arange(n.sum()) - start)
        ylo, yhi = _strip_y(row, transform)
        strips = shapely.box(b[pid, 0], ylo, b[pid, 2], yhi)
        pieces = shapely.intersection(polys[pid], strips)
        sub, si = shapely.get_parts(pieces, return_index=True)
        ok = (shapely.get_type_id(sub) == 3) & (shapely.area(sub) > 0)
        sub, si = sub[ok], si[ok]
        sb = shapely.bounds(sub)
        c0, c1 = _cols_of(sb[:, 0], sb[:, 2], transform, open_=True)
        res.append((owner[pid[si]], row[si], c0, c1))
    return tuple(np.concatenate(v) for v in zip(*res))


# --------------------------------------------------------------------------
# Sampling the hazard
# --------------------------------------------------------------------------
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


def _windowed(touched: Touched, hazard: HazardRaster, n: int, reducer, *, progress: str | None = None) -> None:
    """Call ``reducer(values, part, (row_off, col_off))`` per band of rows, reading only that window.

    Geometries are grouped by the band (:data:`BAND_ROWS` rows) holding their first row, so memory
    stays bounded by one band (plus the tallest geometry) whatever the raster's size.
    """
    from tqdm.auto import tqdm

    if not len(touched.index):
        return
    idx = touched.index
    first = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])  # first interval (lowest row) of each geometry
    band_of_geom = touched.row[first] // BAND_ROWS
    band = np.repeat(band_of_geom, np.diff(np.r_[first, len(idx)]))
    order = np.argsort(band, kind="stable")  # keeps each geometry's intervals together and in order
    idx, r_all, c0s, c1s, band = idx[order], touched.row[order], touched.col0[order], touched.col1[order], band[order]
    cuts = np.flatnonzero(np.r_[True, band[1:] != band[:-1], True])
    spans = list(zip(cuts[:-1], cuts[1:]))
    for s, e in tqdm(spans, desc=progress or "hazard", unit="band", disable=progress is None or len(spans) < 3):
        rows, c0, c1 = r_all[s:e], c0s[s:e], c1s[s:e]
        rmin, rmax, cmin, cmax = rows.min(), rows.max(), c0.min(), c1.max()
        win = Window(int(cmin), int(rmin), int(cmax - cmin + 1), int(rmax - rmin + 1))
        reducer(hazard.read(win), Touched(idx[s:e], rows - rmin, c0 - cmin, c1 - cmin), (int(rmin), int(cmin)))


def geometry_hazard(geoms, hazard: Hazard, *, share: bool = False, progress: str | None = None) -> pd.DataFrame:
    """Per geometry: ``hazard_class`` (index, -1 none; highest class touched), ``depth_max_m`` and,
    with ``share``, ``flooded_share`` (share of the footprint in cells/zones of any class).

    Raster: all cells touched (all-touched), read by windows. Zones: every zone sharing positive
    area (polygons) or touching (lines, points); depth is the zone ``value`` when numeric.
    The flooded share is exact: 0 or 1 when all touched cells agree, else the footprint is cut
    by its affected cells.
    """
    if isinstance(hazard, HazardZones):
        return _zones_hazard(geoms, hazard, share=share)
    g = _to_crs(geoms, hazard.crs)
    n = len(g)
    cls = np.full(n, NOT_AFFECTED, dtype=np.int8)
    depth = np.full(n, np.nan)
    fraction = np.zeros(n)
    mixed: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def reducer(values: np.ndarray, part: Touched, offset: tuple[int, int]) -> None:
        idx, row, col = part.cells()
        v = values[row, col]
        c = hazard.classes.classify(v)
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
        owners = idx[starts]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            depth[owners] = np.fmax.reduceat(v, starts)
        cls[owners] = np.maximum.reduceat(c, starts)
        if share:
            nhit = np.add.reduceat((c >= 0).astype(np.int64), starts)
            ncell = np.diff(np.r_[starts, len(idx)])
            fraction[owners[nhit == ncell]] = 1.0
            some = np.flatnonzero(np.isin(idx, owners[(nhit > 0) & (nhit < ncell)]) & (c >= 0))
            # A concave footprint's strip pieces may share a cell: count each cell once.
            key = (idx[some].astype(np.int64) * values.shape[0] + row[some]) * values.shape[1] + col[some]
            some = some[np.unique(key, return_index=True)[1]]
            mixed.append((idx[some], row[some] + offset[0], col[some] + offset[1]))

    # Chunks of geometries in north-south order: each chunk's cells stay few and its windows compact.
    order = np.argsort(shapely.bounds(g)[:, 1], kind="stable") if n > GEOM_CHUNK else np.arange(n)
    for s in range(0, n, GEOM_CHUNK):
        sel = order[s : s + GEOM_CHUNK]
        t = touched_cells(g[sel], hazard.transform, (hazard.height, hazard.width))
        _windowed(Touched(sel[t.index], t.row, t.col0, t.col1), hazard, n, reducer, progress=progress)
    out = pd.DataFrame({"hazard_class": cls, "depth_max_m": depth})
    if share:
        x0, a, y0, e = _grid(hazard.transform)
        for idx, row, col in mixed:
            if len(idx):
                xa, xb = x0 + col * a, x0 + (col + 1) * a
                ya, yb = y0 + row * e, y0 + (row + 1) * e
                cells = shapely.box(np.minimum(xa, xb), np.minimum(ya, yb), np.maximum(xa, xb), np.maximum(ya, yb))
                np.add.at(fraction, idx, shapely.area(shapely.intersection(g[idx], cells)) / shapely.area(g[idx]))
        area = shapely.area(g)
        out["flooded_share"] = np.where(area > 0, np.clip(fraction, 0.0, 1.0), (cls >= 0) * 1.0)
    return out


def _zones_hazard(geoms, hazard: HazardZones, *, share: bool) -> pd.DataFrame:
    zones = hazard.zones
    g = _to_crs(geoms, zones.crs)
    n = len(g)
    cls = np.full(n, NOT_AFFECTED, dtype=np.int8)
    depth = np.full(n, np.nan)
    if len(zones) and n:
        zg = zones.geometry.to_numpy()
        src, dst = shapely.STRtree(zg).query(g, predicate="intersects")
        is_poly = np.isin(shapely.get_type_id(g[src]), (3, 6))
        if is_poly.any():
            # Polygons must share area with a zone, not just a border.
            keep = ~is_poly | ~shapely.touches(g[src], zg[dst])
            src, dst = src[keep], dst[keep]
        zc = zones["hazard_class"].to_numpy()[dst]
        np.maximum.at(cls, src, zc)
        zv = zones["value"].to_numpy()[dst]
        np.fmax.at(depth, src, zv)
    out = pd.DataFrame({"hazard_class": cls, "depth_max_m": depth})
    if share:
        fraction = np.zeros(n)
        polys = hazard.class_polygons()
        pg = polys.geometry.to_numpy()
        if len(pg) and n:
            src, dst = shapely.STRtree(pg).query(g, predicate="intersects")
            inter = shapely.area(shapely.intersection(g[src], pg[dst]))
            np.add.at(fraction, src, inter)
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


def check_overlap(hazard: Hazard, layer: gpd.GeoDataFrame | gpd.GeoSeries, *, what: str) -> None:
    """Raise OutsideExtentError when ``layer`` lies wholly outside the hazard's extent."""
    if layer is None or len(layer) == 0:
        return
    from shapely import box

    hb = gpd.GeoSeries([box(*hazard.bounds)], crs=hazard.crs)
    lb = box(*layer.to_crs(hazard.crs).total_bounds)
    if not hb.iloc[0].intersects(lb):
        raise OutsideExtentError(
            f"the {what} layer does not overlap the hazard (hazard bounds {tuple(round(v, 4) for v in hazard.bounds)} "
            f"in {hazard.crs.to_string()}); check that both files cover the same place and carry the right CRS"
        )


def cell_size_m(hazard: HazardRaster) -> float:
    """Approximate cell size in metres (geographic grids: at the grid's centre latitude)."""
    a, e = abs(hazard.transform.a), abs(hazard.transform.e)
    if hazard.crs.is_geographic:
        lat = (hazard.bounds[1] + hazard.bounds[3]) / 2
        return math.sqrt(a * 111_320 * math.cos(math.radians(lat)) * e * 110_574)
    return math.sqrt(a * e)
