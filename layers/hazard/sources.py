"""Hazard sources: depth rasters in any CRS and vector hazard zones.

A hazard is either a :class:`HazardRaster` (a grid GDAL reads: GeoTIFF, ASCII
grid, ...; depth in metres or class codes; nodata respected) or
:class:`HazardZones` (polygons whose ``field`` is classified by the class
scheme: numeric ranges or text values). :func:`open_hazard` opens either;
:func:`check_overlap` stops a layer that lies wholly outside one. What each
geometry touches of a hazard is :mod:`layers.hazard.sampling`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS
from rasterio.transform import array_bounds
from rasterio.windows import Window

from layers.errors import InvalidInputError, OutsideExtentError
from layers.hazard.classes import NOT_AFFECTED, ClassScheme, parse_classes
from layers.io.rasters import open_raster

# Windows are read by bands of at least this many rows (a whole number of the file's blocks).
BAND_ROWS = 256
# GDAL's block cache (MB) while a raster is read window after window.
WINDOW_CACHE_MB = 256
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
    hazard_kind: str = "flood"  # layers/hazard/kinds key
    _polygons: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in the raster CRS."""
        return grid_bounds(self.transform, self.height, self.width)

    def read(self, window: Window | None = None) -> np.ndarray:
        """Cell values (float64) of ``window`` (all when None); nodata and NaN become NaN."""
        with rasterio.open(self.path) as src:
            data = src.read(self.band, window=window, masked=True)
        return np.ma.filled(data.astype(np.float64), np.nan)

    @contextmanager
    def windows(self) -> Iterator[RasterWindows]:
        """The raster held open for many window reads (see :class:`RasterWindows`)."""
        # GDAL decodes the blocks of one read on every core. RasterWindows keeps the bands it needs, so
        # GDAL's block cache need not: its default (5 % of RAM) would keep every block ever read.
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS", GDAL_CACHEMAX=WINDOW_CACHE_MB), rasterio.open(self.path) as src:
            yield RasterWindows(src, self.band)

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


class RasterWindows:
    """Windows of one band of an open raster, in the narrowest float type holding its values exactly
    (float32 for float32 and small integers), nodata and masked cells as NaN.

    Windows are assembled from whole bands of :attr:`band_rows` rows (a whole number of the file's
    blocks), the last two kept: a block is decoded once even when consecutive windows share it (GDAL's
    multi-threaded reads skip its block cache, so an unaligned window would decode its edge blocks
    again). Callers that compare values with class bounds convert the cells they keep to float64
    first, as :meth:`HazardRaster.read` gives them: converting only those cells is what makes this cheaper.
    """

    KEEP = 2  # bands kept: a window starts in the band after the last one, and may reach into the next

    def __init__(self, src, band: int):
        self.src, self.band = src, band
        block_rows, self.block_cols = (int(v) for v in src.block_shapes[band - 1])
        self.band_rows = -(-BAND_ROWS // block_rows) * block_rows
        dtype = np.dtype(src.dtypes[band - 1])
        exact32 = dtype == np.float32 or (dtype.kind in "iu" and dtype.itemsize <= 2)
        self.dtype = np.dtype(np.float32 if exact32 else np.float64)
        flags = src.mask_flag_enums[band - 1]
        nodata = src.nodata if flags == [rasterio.enums.MaskFlags.nodata] else None
        if nodata is not None and np.isnan(nodata):
            exact = dtype.kind == "f"  # NaN cells stay NaN
        else:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exact = nodata is not None and float(np.array(nodata).astype(dtype)) == nodata
        # A nodata value the cells cannot hold, or a mask band: GDAL's own mask says which are valid.
        self._nodata = dtype.type(nodata) if exact else None
        self._mask = flags != [rasterio.enums.MaskFlags.all_valid] and self._nodata is None
        self._bands: dict[tuple[int, int, int], np.ndarray] = {}

    def read(self, window: Window) -> np.ndarray:
        """The cells of ``window`` (a view where it lies in one band: read it, do not write to it)."""
        r0, c0 = int(window.row_off), int(window.col_off)
        r1, c1 = r0 + int(window.height), c0 + int(window.width)
        bc = self.block_cols
        cb0, cb1 = c0 // bc * bc, min(-(-c1 // bc) * bc, self.src.width)
        br = self.band_rows
        parts = []
        for j in range(r0 // br, (r1 - 1) // br + 1):
            cells = self._band(j, cb0, cb1)
            parts.append(cells[max(r0 - j * br, 0) : min(r1 - j * br, br), c0 - cb0 : c1 - cb0])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _band(self, j: int, cb0: int, cb1: int) -> np.ndarray:
        for (k, a, b), cells in self._bands.items():
            if k == j and a <= cb0 and cb1 <= b:
                return cells[:, cb0 - a : cb1 - a]
        r0 = j * self.band_rows
        win = Window(cb0, r0, cb1 - cb0, min(self.band_rows, self.src.height - r0))
        data = self.src.read(self.band, window=win)
        out = data if data.dtype == self.dtype else data.astype(self.dtype)
        if self._nodata is not None:
            if not np.isnan(self._nodata):  # NaN cells are NaN already
                out[data == self._nodata] = np.nan
        elif self._mask:
            out[self.src.read_masks(self.band, window=win) == 0] = np.nan
        if len(self._bands) >= self.KEEP:
            self._bands.pop(next(iter(self._bands)))  # the oldest
        self._bands[(j, cb0, cb1)] = out
        return out


@dataclass
class HazardZones:
    """Vector hazard zones: ``zones`` keeps affected zones only, with ``hazard_class`` (index) and ``value``."""

    path: Path | None
    classes: ClassScheme
    zones: gpd.GeoDataFrame
    field: str
    units: str = "m"
    kind: str = "vector"
    hazard_kind: str = "flood"  # layers/hazard/kinds key

    @property
    def crs(self) -> CRS:
        return self.zones.crs

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = (float(b) for b in self.zones.total_bounds)
        return minx, miny, maxx, maxy

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


def grid_bounds(transform: rasterio.Affine, height: int, width: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of a grid, whichever way its rows and columns run."""
    west, south, east, north = array_bounds(height, width, transform)
    return min(west, east), min(south, north), max(west, east), max(south, north)


def open_hazard(
    path,
    *,
    classes: ClassScheme | str | None = None,
    field: str | None = None,
    layer: str | None = None,
    units: str | None = None,
    kind: str | None = None,
    radii_km=None,
) -> Hazard:
    """Open a hazard raster, or vector zones when ``field`` is given.

    ``kind`` (layers/hazard/kinds: flood, earthquake, ...) gives the default classes and units; its
    text classes are used for zones holding text when ``classes`` is not given. Volcano vent points
    (no ``field``) are buffered into rings of ``radii_km`` (default 3, 5, 10 km).

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
        given = classes is not None or getattr(spec, "classes_given", True)
        return open_hazard(
            spec.path,
            classes=classes or (spec.classes if given else None),
            field=field or spec.field,
            layer=layer or spec.layer,
            units=spec.units,
            kind=getattr(spec, "hazard_kind", None),
            radii_km=getattr(spec, "radii_km", None) or None,
        )
    from layers.hazard.kinds import get_kind

    hk = get_kind(kind)
    units = units or hk.units
    default = classes is None
    scheme = classes if isinstance(classes, ClassScheme) else hk.scheme(classes, units=units)
    path = Path(path)
    if field is None and hk.key == "volcano" and not is_raster_path(path):
        return _volcano_points(path, layer, hk.scheme(text=True) if default else scheme, radii_km, units)
    if field is None:
        if scheme.kind == "text":
            raise InvalidInputError(
                f"classes '{scheme.spec()}' are text values, but the hazard {path} is a raster of numbers; "
                "give numeric ranges such as 'low:0.1-0.7', or vector zones with --hazard-field"
            )
        with open_raster(path, what="hazard", hint="for vector zones give the attribute with --hazard-field") as src:
            t = src.transform
            scheme = _at_precision(scheme, np.dtype(src.dtypes[0]))
            return HazardRaster(
                path,
                scheme,
                CRS.from_user_input(src.crs),
                t,
                src.width,
                src.height,
                src.nodata,
                units,
                hazard_kind=hk.key,
            )
    from layers.io.vectors import column, read_vector

    zones = read_vector(path, layer=layer, what="hazard")
    if zones.crs is None:
        raise InvalidInputError(f"hazard zones {path} have no CRS; add a .prj or write the file with one")
    values = column(zones, field)
    if values is None:
        raise InvalidInputError(
            f"hazard zones {path} have no field '{field}'; fields are {[c for c in zones.columns if c != 'geometry']}"
        )
    if default and hk.text_classes and scheme.kind == "numeric" and _is_text(values):
        scheme = hk.scheme(text=True)  # zones named by text (KRB III, high, ...): the kind's text classes
    if scheme.kind == "numeric" and not pd.api.types.is_numeric_dtype(values):
        parsed = pd.to_numeric(values, errors="coerce")
        if parsed.isna().sum() > values.isna().sum():
            raise InvalidInputError(
                f"hazard field '{field}' of {path} holds text (e.g. {values.dropna().iloc[0]!r}) but the classes "
                f"'{scheme.spec()}' are numeric; give text classes such as 'wet:yes'"
            )
        values = parsed
    out = zones_from_frame(
        zones.assign(_value=values.to_numpy()), scheme, field="_value", path=path, units=units, source_field=field
    )
    return replace(out, hazard_kind=hk.key)


def is_raster_path(path: Path) -> bool:
    return path.suffix.lower() in (".tif", ".tiff", ".asc", ".vrt", ".img", ".nc", ".grd")


def _is_text(values: pd.Series) -> bool:
    present = values.dropna()
    return len(present) > 0 and pd.to_numeric(present, errors="coerce").isna().any()


def _volcano_points(path: Path, layer: str | None, scheme: ClassScheme, radii_km, units: str) -> HazardZones:
    """Vent points buffered into InaSAFE's rings (:func:`layers.hazard.kinds.volcano.rings`) as zones."""
    from layers.hazard.kinds.volcano import RADII_KM, rings
    from layers.io.vectors import read_vector

    points = read_vector(path, layer=layer, what="volcano points")
    if points.crs is None:
        raise InvalidInputError(f"volcano points {path} have no CRS; add a .prj or write the file with one")
    if len(points) and not (points.geom_type == "Point").all():
        raise InvalidInputError(
            f"volcano hazard {path} holds {points.geom_type.iloc[0]} features: give vent points, "
            'or KRB zones with field = "KRB" (--hazard-field KRB)'
        )
    zones = rings(points, radii_km or RADII_KM)
    return replace(zones_from_frame(zones, scheme, field="zone", path=path, units=units), hazard_kind="volcano")


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


def check_overlap(hazard: Hazard, layer: gpd.GeoDataFrame | gpd.GeoSeries, *, what: str) -> None:
    """Raise OutsideExtentError when ``layer`` lies wholly outside the hazard's extent."""
    if layer is None or len(layer) == 0 or not np.isfinite(hazard.bounds).all():
        return  # nothing to place, or no zone in any class (open_hazard warned)
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
