"""Hazard layers as web-map overlays: a coloured PNG, its bounds and a legend.

The hazard (a raster in any CRS, or vector zones with a class attribute) is
resampled onto a Web Mercator grid (EPSG:3857, what Leaflet draws in), so an
image overlay stretched between its EPSG:4326 corners lines up exactly.
Cells are coloured by hazard class (light to dark blue, least to most
severe); cells below the first class, nodata and outside are transparent.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject, transform_bounds

from layers.errors import InvalidInputError
from layers.hazard.classes import NOT_AFFECTED, ClassScheme
from layers.io.rasters import open_raster
from layers.publish.styles import hazard_colours

WEB_MERCATOR = "EPSG:3857"


@dataclass(frozen=True)
class Overlay:
    """A rendered overlay: PNG bytes, ``bounds`` (west, south, east, north) in EPSG:4326, and a legend."""

    png: bytes
    bounds: tuple[float, float, float, float]
    legend: list[dict] = field(default_factory=list)
    width: int = 0
    height: int = 0

    def leaflet_bounds(self) -> list[list[float]]:
        """``[[south, west], [north, east]]`` as Leaflet's ``L.imageOverlay`` takes them."""
        w, s, e, n = self.bounds
        return [[s, w], [n, e]]


def legend(classes: ClassScheme, *, units: str = "m", measure: str = "depth") -> list[dict]:
    """One entry per class, least severe first: ``name``, ``label`` (e.g. "0.1–0.7 m"), ``colour``, bounds.

    ``measure`` is the hazard kind's (layers/hazard/kinds): blues for depths, purples for the others."""
    colours = hazard_colours(len(classes.names), measure)
    out = []
    for c, colour in zip(classes.classes, colours, strict=False):
        if classes.kind == "text":
            label = " / ".join(c.values)
            lo = hi = None
        else:
            lo = None if math.isinf(c.lower) else float(c.lower)
            hi = None if math.isinf(c.upper) else float(c.upper)
            if lo is not None and hi is not None:
                label = f"{lo:g}–{hi:g} {units}"
            elif lo is not None:
                label = f"≥ {lo:g} {units}"
            else:
                label = f"< {hi:g} {units}"
        out.append({"name": c.name, "label": label, "colour": colour, "min": lo, "max": hi})
    return out


def hazard_overlay(
    path: str | Path,
    classes: ClassScheme,
    *,
    field: str | None = None,
    layer: str | None = None,
    units: str = "m",
    max_size: int = 1600,
    opacity: float = 0.75,
    measure: str = "depth",
) -> Overlay:
    """Render a hazard raster, or vector zones classified by ``field``, as a class-coloured PNG.

    ``max_size`` caps the longer side of the image in pixels (the grid is
    coarsened, never refined, to fit). Raises InvalidInputError when the file
    cannot be read or has no CRS.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"hazard file {path} does not exist")
    if field is None:
        index, transform = _raster_classes(path, classes, max_size=max_size)
    else:
        index, transform = _vector_classes(path, classes, field=field, layer=layer, max_size=max_size)
    h, w = index.shape
    return Overlay(
        _png(index, len(classes.names), opacity, measure),
        _bounds(transform, w, h),
        legend(classes, units=units, measure=measure),
        w,
        h,
    )


def overlay_bounds(path: str | Path, *, max_size: int = 1600) -> tuple[float, float, float, float]:
    """The EPSG:4326 bounds :func:`hazard_overlay` gives a raster, without reading its cells."""
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InvalidInputError(f"hazard raster {path} has no CRS")
            transform, w, h = _target_grid(src.crs, src.width, src.height, src.bounds, max_size)
    except rasterio.errors.RasterioIOError as exc:
        raise InvalidInputError(f"cannot read hazard raster {path}: {exc}") from None
    return _bounds(transform, w, h)


def _bounds(transform, w: int, h: int) -> tuple[float, float, float, float]:
    west, north = transform @ (0, 0)
    east, south = transform @ (w, h)
    lon0, lat0, lon1, lat1 = (float(b) for b in transform_bounds(WEB_MERCATOR, "EPSG:4326", west, south, east, north))
    return lon0, lat0, lon1, lat1


def _target_grid(src_crs, width: int, height: int, bounds, max_size: int):
    transform, w, h = calculate_default_transform(src_crs, WEB_MERCATOR, width, height, *bounds)
    scale = max(w, h) / max_size
    if scale > 1:
        w, h = max(1, round(w / scale)), max(1, round(h / scale))
        transform, w, h = calculate_default_transform(
            src_crs, WEB_MERCATOR, width, height, *bounds, dst_width=w, dst_height=h
        )
    return transform, w, h


def _raster_classes(path: Path, classes: ClassScheme, *, max_size: int) -> tuple[np.ndarray, object]:
    # reproject() below handles rotated grids, so they are allowed here
    with open_raster(path, what="hazard", north_up=False) as src:
        transform, w, h = _target_grid(src.crs, src.width, src.height, src.bounds, max_size)
        values = np.full((h, w), np.nan, dtype=np.float32)
        # Nearest: a depth class is never invented by averaging; coarsening picks one source cell.
        reproject(
            rasterio.band(src, 1),
            values,
            src_nodata=src.nodata,
            dst_nodata=np.nan,
            dst_transform=transform,
            dst_crs=WEB_MERCATOR,
            resampling=Resampling.nearest,
        )
    return classes.classify(values), transform


def _vector_classes(path: Path, classes: ClassScheme, *, field: str, layer: str | None, max_size: int):
    from rasterio.features import rasterize

    from layers.io.vectors import column, read_vector

    zones = read_vector(path, layer=layer, what="hazard")
    values = column(zones, field)
    if values is None:
        raise InvalidInputError(
            f"hazard file {path} has no field '{field}'; fields are {[c for c in zones.columns if c != 'geometry']}"
        )
    zones = zones.assign(_class=classes.classify(values.to_numpy())).to_crs(WEB_MERCATOR)
    zones = zones[(zones["_class"] != NOT_AFFECTED) & ~zones.geometry.is_empty & zones.geometry.notna()]
    minx, miny, maxx, maxy = zones.total_bounds if len(zones) else (0.0, 0.0, 1.0, 1.0)
    size = max(maxx - minx, maxy - miny) / max_size
    w, h = max(1, math.ceil((maxx - minx) / size)), max(1, math.ceil((maxy - miny) / size))
    transform = rasterio.transform.from_origin(minx, maxy, size, size)
    index = np.full((h, w), NOT_AFFECTED, dtype=np.int8)
    # Draw least severe first so the most severe zone wins where zones overlap.
    for i in range(len(classes.names)):
        shapes = zones.geometry[zones["_class"] == i]
        if len(shapes):
            rasterize(shapes, out=index, transform=transform, default_value=i, all_touched=True)
    return index, transform


def _png(index: np.ndarray, n_classes: int, opacity: float, measure: str = "depth") -> bytes:
    """Palette PNG: entry 0 transparent, entry i+1 the colour of class i."""
    palette = [0, 0, 0]
    for colour in hazard_colours(n_classes, measure):
        palette += [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    image = Image.fromarray((index.astype(np.int16) + 1).astype(np.uint8), mode="P")
    image.putpalette(palette)
    alpha = bytes([0] + [round(255 * opacity)] * n_classes)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True, transparency=alpha)
    return buf.getvalue()
