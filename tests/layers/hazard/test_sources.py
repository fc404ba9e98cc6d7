"""Hazard loaders: rasters and vector zones, and the errors they give."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
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


def test_text_classes_on_a_depth_raster_are_an_error(sample_area_dir):
    """`--classes low:a-b` parses as text; the Jakarta depth grid holds numbers, so nothing could ever match."""
    with pytest.raises(InvalidInputError, match="text values, but the hazard .* is a raster"):
        open_hazard(sample_area_dir / "flood_current.tif", classes="low:a-b")


def test_zones_in_no_class_warn_and_place_nothing(sample_area_dir):
    """Kelurahan names are never 'yes': one warning, then every building is unaffected (no crash)."""
    from layers.hazard.exposure import exposure
    from layers.io.vectors import buildings_from_file

    with pytest.warns(UserWarning, match="no hazard zone of .*kelurahan.gpkg falls in any class of 'wet:yes'"):
        zones = open_hazard(sample_area_dir / "kelurahan.gpkg", classes="wet:yes", field="KEL_NAME2")
    s = exposure(zones, buildings=buildings_from_file(sample_area_dir / "buildings.gpkg"), needs="none").summary()
    assert s["buildings"]["total"] == 7689
    assert s["buildings"]["affected"] == 0


def test_a_hazard_of_nodata_only_is_a_warning(sample_area_dir, tmp_path):
    """The Jakarta grid with every cell set to nodata: the buildings cannot be classed, and the user is told."""
    from layers.hazard.exposure import exposure
    from layers.io.vectors import buildings_from_file

    with rasterio.open(sample_area_dir / "flood_current.tif") as src:
        shape, transform, crs = (src.height, src.width), src.transform, src.crs
    empty = write_raster(tmp_path / "nodata.tif", np.full(shape, -9999.0), transform=transform, crs=crs)
    with pytest.warns(UserWarning, match="every building lies on nodata cells of the hazard"):
        s = exposure(open_hazard(empty), buildings=buildings_from_file(sample_area_dir / "buildings.gpkg")).summary()
    assert s["buildings"]["affected"] == 0
