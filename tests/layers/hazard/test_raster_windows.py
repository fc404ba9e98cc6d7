"""RasterWindows gives every window as HazardRaster.read does (nodata, masks, integer grids), whatever the
order of the windows and however they straddle its bands."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from layers.hazard.sources import open_hazard

CLASSES = "low:0.1-0.7,medium:0.7-1.5,high:1.5-"


def _raster(path, dtype, *, nodata=None, tiled=True, mask=False):
    rng = np.random.default_rng(5)
    data = (rng.uniform(0, 3, (700, 650)) * (100 if np.dtype(dtype).kind in "iu" else 1)).astype(dtype)
    if nodata is not None:
        data[:30, :40] = nodata
    if np.dtype(dtype).kind == "f":
        data[600, 600] = np.nan
    profile = {"driver": "GTiff", "width": 650, "height": 700, "count": 1, "dtype": dtype, "crs": "EPSG:32748"}
    profile |= {"transform": from_origin(500_000, 9_300_000, 2, 2), "nodata": nodata}
    if tiled:
        profile |= {"tiled": True, "blockxsize": 128, "blockysize": 128}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        if mask:
            m = np.full(data.shape, 255, np.uint8)
            m[500:, :100] = 0
            dst.write_mask(m)
    return path


@pytest.mark.parametrize(
    ("dtype", "nodata", "tiled", "mask"),
    [
        ("float32", -9999.0, True, False),
        ("float32", None, False, False),
        ("float32", float("nan"), True, False),
        ("uint8", 255, True, False),
        ("int32", -1, False, False),
        ("float64", None, True, True),  # an internal mask band
    ],
)
def test_windows_equal_read(tmp_path, dtype, nodata, tiled, mask):
    hazard = open_hazard(
        str(_raster(tmp_path / "h.tif", dtype, nodata=nodata, tiled=tiled, mask=mask)), classes=CLASSES
    )
    rng = np.random.default_rng(1)
    windows = [Window(0, 0, 650, 700), Window(10, 250, 300, 20), Window(0, 250, 650, 300), Window(600, 690, 50, 10)]
    for _ in range(40):
        r, c = int(rng.integers(0, 699)), int(rng.integers(0, 649))
        windows.append(Window(c, r, int(rng.integers(1, 650 - c + 1)), int(rng.integers(1, 700 - r + 1))))
    with hazard.windows() as raster:
        assert raster.band_rows % 128 == 0 or not tiled
        for w in windows:
            got = raster.read(w).astype(np.float64)
            np.testing.assert_array_equal(got, hazard.read(w), err_msg=str(w))
