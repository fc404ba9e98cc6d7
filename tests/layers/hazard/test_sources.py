"""Hazard loaders: rasters and vector zones, and the errors they give."""

from __future__ import annotations

import geopandas as gpd
import pytest
import rasterio
from shapely.geometry import box

from layers.errors import InvalidInputError
from layers.hazard.sources import open_hazard
from tests.helpers import UTM, write_raster


def test_text_field_with_numeric_classes_is_an_error(tmp_path):
    zones = gpd.GeoDataFrame({"FLOODPRONE": ["YES"]}, geometry=[box(0, 0, 1, 1)], crs=UTM)
    zones.to_file(tmp_path / "z.gpkg")
    with pytest.raises(InvalidInputError, match="holds text.*'wet:yes'"):
        open_hazard(tmp_path / "z.gpkg", field="FLOODPRONE")
    with pytest.raises(InvalidInputError, match="no field 'depth'"):
        open_hazard(tmp_path / "z.gpkg", field="depth")


def test_bad_rasters(tmp_path):
    with pytest.raises(InvalidInputError, match="has no CRS"):
        open_hazard(write_raster(tmp_path / "nocrs.tif", [[1.0]], crs=None))
    (tmp_path / "junk.tif").write_text("not a raster")
    with pytest.raises(InvalidInputError, match="not a raster GDAL can read"):
        open_hazard(tmp_path / "junk.tif")
    with pytest.raises(InvalidInputError, match="does not exist"):
        open_hazard(tmp_path / "missing.tif")
    rotated = rasterio.Affine(1, 0.2, 0, 0.2, -1, 4)
    with pytest.raises(InvalidInputError, match="rotated"):
        open_hazard(write_raster(tmp_path / "rot.tif", [[1.0]], transform=rotated))
