"""Opening rasters with one set of checks and messages (hazard, population, map overlays)."""

from __future__ import annotations

from pathlib import Path

import rasterio
from rasterio.io import DatasetReader

from layers.errors import InvalidInputError


def open_raster(path: str | Path, *, what: str, hint: str | None = None, north_up: bool = True) -> DatasetReader:
    """Open a raster GDAL reads, or raise InvalidInputError saying what to fix.

    Checks that the file exists and is a raster, has a CRS and (with ``north_up``)
    is not rotated. ``what`` names the input in messages ("hazard", "population");
    ``hint`` is added when the file is not a raster (e.g. how to pass vector zones).
    The caller closes the dataset (use it in a ``with`` block).
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"{what} file {path} does not exist")
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError:
        raise InvalidInputError(
            f"{what} {path} is not a raster GDAL can read" + (f"; {hint}" if hint else "")
        ) from None
    if src.crs is None:
        src.close()
        raise InvalidInputError(
            f"{what} raster {path} has no CRS; add one, e.g. `gdal_edit.py -a_srs EPSG:4326 {path.name}`"
        )
    if north_up and (src.transform.b != 0 or src.transform.d != 0):
        src.close()
        raise InvalidInputError(
            f"{what} raster {path} is rotated; warp it north-up first (`gdalwarp {path.name} out.tif`)"
        )
    return src
