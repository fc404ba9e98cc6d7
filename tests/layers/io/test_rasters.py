"""open_raster: one set of checks and messages for every raster input."""

import numpy as np
import pytest
import rasterio
from affine import Affine

from layers.errors import InvalidInputError
from layers.io.rasters import open_raster


def _write(path, transform, crs="EPSG:4326"):
    with rasterio.open(
        path, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32", transform=transform, crs=crs
    ) as dst:
        dst.write(np.ones((1, 2, 2), dtype="float32"))


def test_opens_a_north_up_raster(tmp_path):
    _write(tmp_path / "ok.tif", Affine(1, 0, 0, 0, -1, 2))
    with open_raster(tmp_path / "ok.tif", what="hazard") as src:
        assert src.read(1).sum() == 4


def test_each_problem_names_the_input_and_the_fix(tmp_path):
    with pytest.raises(InvalidInputError, match="^population file .* does not exist"):
        open_raster(tmp_path / "none.tif", what="population")
    (tmp_path / "text.tif").write_text("not a raster")
    with pytest.raises(InvalidInputError, match="not a raster GDAL can read; give --field"):
        open_raster(tmp_path / "text.tif", what="hazard", hint="give --field")
    _write(tmp_path / "nocrs.tif", Affine(1, 0, 0, 0, -1, 2), crs=None)
    with pytest.raises(InvalidInputError, match="has no CRS; add one, e.g. `gdal_edit.py"):
        open_raster(tmp_path / "nocrs.tif", what="hazard")
    _write(tmp_path / "rot.tif", Affine(1, 0.5, 0, 0.5, -1, 2))
    with pytest.raises(InvalidInputError, match="is rotated; warp it north-up"):
        open_raster(tmp_path / "rot.tif", what="hazard")
    with open_raster(tmp_path / "rot.tif", what="hazard", north_up=False) as src:
        assert src.transform.b == 0.5
