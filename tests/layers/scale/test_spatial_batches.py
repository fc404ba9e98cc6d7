"""Spatial batches: buildings read by feature id, grouped by the hazard's bands of rows, give exactly the
whole-file answers (same ids, same order, same figures), also for files without an id column, with
features the normalisation drops, and in a shapefile (feature ids from 0)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from layers.hazard.chunked import band_key, exposure_chunked_from_files
from layers.hazard.exposure import exposure_from_files
from layers.hazard.sources import open_hazard
from layers.io.stream import building_source
from tests.helpers import SAMPLE_AREA

CRS = "EPSG:32748"
CLASSES = "low:0.1-0.7,medium:0.7-1.5,high:1.5-"
HAZARD = str(SAMPLE_AREA / "flood_current.tif")


def test_plan_covers_every_feature_once_in_bands(city):
    src = building_source(city, crs=CRS)
    key = band_key(open_hazard(HAZARD, classes=CLASSES), src.file_crs)
    plan = src.spatial_plan(2_000, key)
    fids = np.concatenate(plan)
    assert len(plan) >= src.features // 2_000
    assert all(len(p) <= 2_000 for p in plan)
    assert np.array_equal(np.sort(fids), np.arange(1, src.features + 1))  # a GeoPackage's ids are 1..N
    # Batches follow the bands: the band keys of successive batches never go back.
    fid, b = pyogrio.read_bounds(city)
    band = dict(zip(fid, key((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), strict=True))
    first_last = [(min(band[f] for f in p), max(band[f] for f in p)) for p in plan]
    assert all(prev[1] <= nxt[0] for prev, nxt in zip(first_last[:-1], first_last[1:], strict=True))
    assert src.spatial_plan(src.features, key) == []  # one batch: nothing to plan


def _idless(tmp_path, driver: str, suffix: str):
    """The sample's buildings without any id column, a point and a feature without geometry among them."""
    raw = pyogrio.read_dataframe(SAMPLE_AREA / "buildings.gpkg").to_crs(CRS)
    raw = raw[["TYPE", "LEVELS", "AMENITY", "geometry"]]
    geoms = raw.geometry.to_numpy().copy()
    geoms[100] = None
    geoms[2_000] = shapely.Polygon()  # empty: dropped too
    frame = gpd.GeoDataFrame(raw.drop(columns="geometry"), geometry=geoms, crs=CRS)
    path = tmp_path / f"idless{suffix}"
    pyogrio.write_dataframe(frame, path, driver=driver)
    return path


@pytest.mark.parametrize(("driver", "suffix"), [("GPKG", ".gpkg"), ("ESRI Shapefile", ".shp")])
def test_files_without_ids_number_like_the_whole_file(tmp_path, driver, suffix):
    path = _idless(tmp_path, driver, suffix)
    src = building_source(path, crs=CRS)
    assert src.id_column is None
    assert src.random_read
    kw = {"hazard": HAZARD, "classes": CLASSES, "buildings": str(path)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = exposure_from_files(**kw)
        out = tmp_path / "out.gpkg"
        chunked = exposure_chunked_from_files(chunk_rows=900, out=out, **kw)
    assert len(whole.buildings) < src.features  # the normalisation dropped a feature: ids must close the gap
    assert chunked.summary() == whole.summary()
    for col in ("building_id", "hazard_class", "building_type"):
        assert chunked.buildings[col].tolist() == whole.buildings[col].tolist()
    np.testing.assert_array_equal(chunked.buildings["flooded_share"], whole.buildings["flooded_share"])
    # The file written batch by batch (bands, not file order) holds the same buildings under the same ids.
    written = pyogrio.read_dataframe(out, layer="exposure_buildings").sort_values("building_id")
    assert written["building_id"].tolist() == whole.buildings["building_id"].tolist()
    assert shapely.equals(written.geometry.to_numpy(), whole.buildings.geometry.to_numpy()).all()
    assert written["hazard_class"].fillna("").tolist() == whole.buildings["hazard_class"].fillna("").tolist()


def test_spatial_batches_follow_the_hazard_in_another_crs(tmp_path, city):
    """Buildings in WGS 84, hazard in UTM: the bands come from the hazard's rows all the same."""
    wgs = tmp_path / "city_wgs84.gpkg"
    pyogrio.write_dataframe(pyogrio.read_dataframe(city).to_crs(4326), wgs)
    kw = {"hazard": HAZARD, "classes": CLASSES, "buildings": str(wgs)}
    whole = exposure_from_files(**kw)
    src = building_source(wgs)
    assert len(src.spatial_plan(3_000, band_key(open_hazard(HAZARD, classes=CLASSES), src.file_crs))) >= 5
    chunked = exposure_chunked_from_files(chunk_rows=3_000, **kw)
    assert chunked.summary() == whole.summary()
    assert chunked.buildings["building_id"].tolist() == whole.buildings["building_id"].tolist()
    np.testing.assert_array_equal(chunked.buildings["depth_max_m"], whole.buildings["depth_max_m"])


def test_precarity_classed_on_the_hazard_in_spatial_batches(city):
    """Precarity classing every building on the raster reads it in spatial batches: the same index."""
    from layers.precarity.chunked import precarity_chunked_from_files
    from layers.precarity.inputs import precarity_from_files

    kw = {"roads": str(SAMPLE_AREA / "roads.gpkg"), "hazard": HAZARD, "classes": CLASSES}
    src = building_source(city)
    assert len(src.spatial_plan(2_500, band_key(open_hazard(HAZARD, classes=CLASSES), src.file_crs))) >= 6
    single = precarity_from_files(str(city), **kw)
    chunked = precarity_chunked_from_files(str(city), chunk_rows=2_500, **kw)
    assert chunked.summary() == single.summary()
    assert chunked.cells.drop(columns="geometry").equals(single.cells.drop(columns="geometry"))


def test_features_without_geometry_are_left_out_of_the_plan(tmp_path):
    """More features without a geometry than a batch holds: left out with a warning, never a batch of nothing."""
    raw = pyogrio.read_dataframe(SAMPLE_AREA / "buildings.gpkg").to_crs(CRS).iloc[:3_000]
    geoms = raw.geometry.to_numpy().copy()
    geoms[500:2_000] = None
    path = tmp_path / "holes.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"TYPE": raw["TYPE"]}, geometry=geoms, crs=CRS), path)
    kw = {"hazard": HAZARD, "classes": CLASSES, "buildings": str(path)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = exposure_from_files(**kw)
    with pytest.warns(UserWarning, match="skipped 1500 features without a geometry"):
        chunked = exposure_chunked_from_files(chunk_rows=400, **kw)
    assert len(whole.buildings) == 1_500
    assert chunked.buildings["building_id"].tolist() == whole.buildings["building_id"].tolist()
    assert chunked.summary() == whole.summary()
