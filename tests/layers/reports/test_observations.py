"""Flood observations against the hazard model: sampling, classes, the wet-report/dry-model flag."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import box

from layers.hazard.classes import DEFAULT_FLOOD_CLASSES, parse_classes
from layers.reports.observations import compare_with_hazard, sample_raster


def _raster(path):
    data = np.array([[0.0, 0.5, 1.0], [2.0, -9999, 0.05]], dtype="float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=3,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(106.0, -6.0, 0.01, 0.01),
        nodata=-9999,
    ) as dst:
        dst.write(data, 1)
    return path


def _points(xy, crs="EPSG:4326"):
    return gpd.GeoDataFrame({"id": list(range(len(xy)))}, geometry=gpd.points_from_xy(*zip(*xy, strict=False)), crs=crs)


def test_sample_raster_values_nodata_and_outside(tmp_path):
    path = _raster(tmp_path / "h.tif")
    pts = _points([(106.005, -6.005), (106.015, -6.005), (106.005, -6.015), (106.015, -6.015), (107.0, -6.0)])
    vals = sample_raster(pts.geometry, path)
    np.testing.assert_array_equal(vals[:3], [0.0, 0.5, 2.0])
    assert np.isnan(vals[3])
    assert np.isnan(vals[4])
    utm = sample_raster(pts.to_crs("EPSG:32748").geometry, path)  # any CRS
    np.testing.assert_array_equal(utm[:3], [0.0, 0.5, 2.0])


def test_wet_reports_where_the_model_is_dry_are_flagged(tmp_path):
    path = _raster(tmp_path / "h.tif")
    scheme = parse_classes(DEFAULT_FLOOD_CLASSES)
    pts = _points([(106.005, -6.005), (106.015, -6.005), (106.025, -6.005), (106.005, -6.015), (106.025, -6.015)])
    out = compare_with_hazard(pts, path, classes=scheme)
    assert out["model_class"].tolist() == [None, "low", "medium", "high", None]
    assert out["wet_report_dry_model"].tolist() == [True, False, False, False, True]


def test_vector_zones_take_the_most_severe_class(tmp_path):
    zones = gpd.GeoDataFrame(
        {"FLOODPRONE": ["YES", "no", "yes"]},
        geometry=[box(106.0, -6.1, 106.1, -6.0), box(106.2, -6.1, 106.3, -6.0), box(106.05, -6.1, 106.15, -6.0)],
        crs="EPSG:4326",
    )
    zones.to_file(tmp_path / "z.gpkg")
    pts = _points([(106.02, -6.05), (106.25, -6.05), (106.5, -6.05), (106.07, -6.05)])
    out = compare_with_hazard(pts, tmp_path / "z.gpkg", classes=parse_classes("wet:yes"), field="FLOODPRONE")
    assert out["model_class"].tolist() == ["wet", None, None, "wet"]
    assert out["wet_report_dry_model"].tolist() == [False, True, True, False]
