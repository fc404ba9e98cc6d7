"""A hazard raster for GIS and web maps: a Cloud-Optimized GeoTIFF of its values, and PNG XYZ tiles of its classes.

The COG is GDAL's COG driver (through rasterio) over the scenario's own grid: the same
values, CRS and nodata, tiled 512 × 512 with overviews, so QGIS and GDAL read any window
or zoom with a few range requests. The PNG tiles are WebMercatorQuad (XYZ) tiles of
the hazard classes in the overlay's colours: each is the raster resampled (nearest, so
no class is invented) onto the tile's own 256 × 256 Web Mercator grid, so they line up
with any XYZ basemap in QGIS or Leaflet.
"""

from __future__ import annotations

import functools
import io
import uuid
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from PIL import Image
from rasterio.enums import Resampling
from rasterio.transform import from_bounds
from rasterio.warp import reproject

from layers.errors import InvalidInputError
from layers.hazard.classes import ClassScheme
from layers.hazard.kinds import get_kind
from layers.io.rasters import open_raster
from layers.publish.styles import hazard_colours
from layers.publish.tiles import check_tile, tile_bounds

TILE_PX = 256
COG_MEDIA_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


def write_cog(src: str | Path, out: str | Path) -> Path:
    """The raster ``src`` (any GDAL raster) as a Cloud-Optimized GeoTIFF at ``out``: same grid, values, nodata."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.part")  # parallel requests never share a file
    try:
        with open_raster(Path(src), what="hazard", north_up=False) as ds:
            predictor = "3" if np.dtype(ds.dtypes[0]).kind == "f" else "2"
            rasterio.shutil.copy(
                ds,
                tmp,
                driver="COG",
                COMPRESS="DEFLATE",
                PREDICTOR=predictor,
                BLOCKSIZE="512",
                OVERVIEWS="AUTO",
                RESAMPLING="NEAREST",  # overviews pick cells: a depth is never averaged into one nobody measured
            )
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def is_cog(path: str | Path) -> bool:
    """True when GDAL sees the file as COG-laid-out (IMAGE_STRUCTURE ``LAYOUT=COG``)."""
    with rasterio.open(path) as ds:
        return ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT", "").upper() == "COG"


def tile_classes(path: str | Path, classes: ClassScheme, z: int, x: int, y: int) -> np.ndarray:
    """The hazard class index (-1 = none) of each pixel of tile z/x/y, 256 × 256, rows north to south."""
    check_tile(z, x, y)
    bounds = tile_bounds(z, x, y)
    values = np.full((TILE_PX, TILE_PX), np.nan, dtype=np.float32)
    with open_raster(Path(path), what="hazard", north_up=False) as src:
        reproject(
            rasterio.band(src, 1),
            values,
            src_nodata=src.nodata,
            dst_nodata=np.nan,
            dst_transform=from_bounds(*bounds, TILE_PX, TILE_PX),
            dst_crs="EPSG:3857",
            resampling=Resampling.nearest,
        )
    return classes.classify(values)


@functools.lru_cache(maxsize=2048)
def _tile_png(
    path: str, _mtime_ns: int, classes: ClassScheme, z: int, x: int, y: int, opacity: float, measure: str
) -> bytes:
    index = tile_classes(path, classes, z, x, y)
    n = len(classes.names)
    palette = [0, 0, 0]
    for colour in hazard_colours(n, measure):
        palette += [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    image = Image.fromarray((index.astype(np.int16) + 1).astype(np.uint8), mode="P")
    image.putpalette(palette)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True, transparency=bytes([0] + [round(255 * opacity)] * n))
    return buf.getvalue()


def tile_png(
    path: str | Path,
    classes: ClassScheme,
    z: int,
    x: int,
    y: int,
    *,
    opacity: float = 0.75,
    kind: str | None = None,
) -> bytes:
    """Tile z/x/y (XYZ, y from the north) of a hazard raster as a palette PNG: one colour per class, else clear.

    The colours are the web map's for the hazard ``kind`` (default flood): blues for water depths, purples for
    shaking, ash, wind and zones (:func:`layers.publish.styles.hazard_colours`)."""
    measure = get_kind(kind).measure
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"hazard file {path} does not exist")
    return _tile_png(str(path), path.stat().st_mtime_ns, classes, z, x, y, opacity, measure)
