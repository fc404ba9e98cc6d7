"""Chunked exposure (buildings streamed in row batches) equals the in-memory path, figure for figure."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from layers.hazard.chunked import exposure_chunked
from layers.hazard.exposure import exposure
from layers.hazard.sources import open_hazard
from layers.io.stream import building_source
from layers.io.vectors import boundaries_from_file, buildings_from_file
from tests.helpers import SAMPLE_AREA

CRS = "EPSG:32748"


def _same(whole, chunked) -> None:
    """Same summary, same answer for every building, same table per unit."""
    assert chunked.summary() == whole.summary()
    a, b = whole.buildings, chunked.buildings
    assert a["building_id"].tolist() == b["building_id"].tolist()
    assert a["hazard_class"].tolist() == b["hazard_class"].tolist()
    np.testing.assert_array_equal(a["depth_max_m"].to_numpy(), b["depth_max_m"].to_numpy())
    np.testing.assert_array_equal(a["flooded_share"].to_numpy(), b["flooded_share"].to_numpy())
    if whole.areas is not None:
        pd.testing.assert_frame_equal(
            pd.DataFrame(whole.areas.drop(columns="geometry", errors="ignore")),
            pd.DataFrame(chunked.areas.drop(columns="geometry", errors="ignore")),
        )


def test_jakarta_chunked_equals_in_memory(tmp_path):
    """The sample's 7,689 buildings in batches of 1,000 (and the exposure_buildings layer written batch by batch)."""
    hazard = open_hazard(str(SAMPLE_AREA / "flood_current.tif"), classes="low:0.1-0.7,medium:0.7-1.5,high:1.5-")
    path = SAMPLE_AREA / "buildings.gpkg"
    units = boundaries_from_file(SAMPLE_AREA / "kelurahan.gpkg", name_field="KEL_NAME2", crs=CRS)
    whole = exposure(hazard, buildings=buildings_from_file(path, crs=CRS), boundaries=units, crs=CRS)
    src = building_source(path, crs=CRS)
    out = tmp_path / "exposure.gpkg"
    chunked = exposure_chunked(hazard, (b for _, b in src.batches(1_000)), crs=CRS, boundaries=units, out=out)
    _same(whole, chunked)
    written = pyogrio.read_dataframe(out, layer="exposure_buildings")
    assert written["building_id"].tolist() == whole.buildings["building_id"].tolist()
    assert shapely.equals(written.geometry.to_numpy(), whole.buildings.geometry.to_numpy()).all()


def _synthetic_city(tmp_path, n: int = 20_000):
    """Rotated footprints of 30-300 m² over a 1,000² depth raster at 2 m (waves of water, a nodata corner)."""
    import rasterio
    from rasterio.transform import from_origin

    size, cell, x0, y0 = 1_000, 2.0, 500_000.0, 9_300_000.0
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    depth = np.clip(1.2 + 0.9 * np.sin(7 * x) * np.cos(5 * y) + 0.6 * np.sin(31 * x + 17 * y), 0, None)
    depth[:40, :40] = -9999.0
    tif = tmp_path / "depth.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=from_origin(x0, y0, cell, cell),
        nodata=-9999.0,
    ) as dst:
        dst.write(depth.astype(np.float32), 1)
    rng = np.random.default_rng(11)
    cx, cy = rng.uniform(x0 + 20, x0 + 1_980, n), rng.uniform(y0 - 1_980, y0 - 20, n)
    w, h, t = rng.uniform(5, 12, n), rng.uniform(6, 25, n), rng.uniform(0, np.pi, n)
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float) / 2
    px = cx[:, None] + corners[:, 0] * w[:, None] * np.cos(t)[:, None] - corners[:, 1] * h[:, None] * np.sin(t)[:, None]
    py = cy[:, None] + corners[:, 0] * w[:, None] * np.sin(t)[:, None] + corners[:, 1] * h[:, None] * np.cos(t)[:, None]
    polys = shapely.polygons(np.stack([px, py], axis=-1))
    kinds = np.array(["house", "school", "yes", "shop"], dtype=object)[rng.integers(0, 4, n)]
    gdf = gpd.GeoDataFrame({"building": kinds, "levels": rng.integers(1, 4, n).astype(str)}, geometry=polys, crs=CRS)
    gpkg = tmp_path / "city.gpkg"
    pyogrio.write_dataframe(gdf, gpkg)
    grid = shapely.box(
        *np.meshgrid(np.arange(4) * 500 + x0, y0 - np.arange(1, 5) * 500),
        *np.meshgrid(np.arange(1, 5) * 500 + x0, y0 - np.arange(4) * 500),
    )
    units = gpd.GeoDataFrame(
        {"area_id": np.arange(1, 17), "name": [f"u{i}" for i in range(16)]}, geometry=grid.ravel(), crs=CRS
    )
    return tif, gpkg, units


def test_synthetic_city_chunked_equals_in_memory(tmp_path):
    tif, gpkg, units = _synthetic_city(tmp_path)
    hazard = open_hazard(str(tif), classes="low:0.1-0.7,medium:0.7-1.5,high:1.5-")
    whole = exposure(hazard, buildings=buildings_from_file(gpkg, crs=CRS), boundaries=units, crs=CRS)
    assert whole.summary()["buildings"]["affected"] > 1_000  # the comparison means something
    for rows in (1_999, 7_000):
        chunked = exposure_chunked(
            hazard, (b for _, b in building_source(gpkg).batches(rows)), crs=CRS, boundaries=units
        )
        _same(whole, chunked)


@pytest.mark.parametrize("rows", [3])
def test_ids_do_not_depend_on_batches(tmp_path, rows):
    """Without an id column buildings are numbered 1..N over the file, whatever the batch size; an id column
    unique in each batch but not over the file is not used (as the whole-file loader decides)."""
    polys = shapely.box(np.arange(8) * 20.0 + 500_000, 9_300_000, np.arange(8) * 20.0 + 500_010, 9_300_010)
    gdf = gpd.GeoDataFrame({"osm_id": [1, 2, 3, 1, 2, 3, 7, 8]}, geometry=polys, crs=CRS)
    path = tmp_path / "b.gpkg"
    pyogrio.write_dataframe(gdf, path)
    whole = buildings_from_file(path, crs=CRS)["building_id"].tolist()
    streamed = [i for _, b in building_source(path, crs=CRS).batches(rows) for i in b["building_id"]]
    assert streamed == whole == list(range(1, 9))


def test_open_buildings_csv_streams_like_the_whole_file(tmp_path):
    """A Google Open Buildings CSV (see tests/layers/io/test_datasets.py) in batches of 37 rows."""
    from tests.layers.io.test_datasets import _google_csv

    path = tmp_path / "open_buildings.csv"
    _google_csv(path)
    hazard = open_hazard(str(SAMPLE_AREA / "flood_current.tif"), classes="low:0.1-0.7,medium:0.7-1.5,high:1.5-")
    whole = exposure(hazard, buildings=buildings_from_file(path, crs=CRS), crs=CRS)
    src = building_source(path, crs=CRS)
    assert src.dataset == "google"
    chunked = exposure_chunked(hazard, (b for _, b in src.batches(37)), crs=CRS)
    _same(whole, chunked)
