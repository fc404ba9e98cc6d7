"""Chunked precarity (buildings in row batches, walks prepared once) equals the in-memory index."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from layers.io.stream import building_source
from layers.io.vectors import (
    boundaries_from_file,
    buildings_from_file,
    facilities_from_buildings,
    read_vector,
    roads_from_file,
)
from layers.precarity.chunked import precarity_chunked
from layers.precarity.index import precarity_index
from tests.helpers import SAMPLE_AREA

CRS = "EPSG:32748"


def _same(whole, chunked) -> None:
    assert chunked.skipped == whole.skipped
    for name, frame in whole.layers().items():
        other = chunked.layers()[name]
        pd.testing.assert_frame_equal(
            pd.DataFrame(frame.drop(columns="geometry")), pd.DataFrame(other.drop(columns="geometry"))
        )
        assert shapely.equals(frame.geometry.to_numpy(), other.geometry.to_numpy()).all(), name
    assert chunked.summary() == whole.summary()


def test_jakarta_chunked_precarity_equals_in_memory():
    """Buildings, roads, facilities mapped as buildings, RW units and the current flood, in batches of 1,500."""
    from layers.hazard.sampling import geometry_hazard
    from layers.hazard.sources import open_hazard
    from layers.precarity.inputs import class_names_of

    path = SAMPLE_AREA / "buildings.gpkg"
    b = buildings_from_file(path, crs=CRS)
    roads = roads_from_file(SAMPLE_AREA / "roads.gpkg", crs=CRS)
    facilities = facilities_from_buildings(read_vector(path, what="buildings"), crs=CRS)
    units = boundaries_from_file(SAMPLE_AREA / "rw.gpkg", name_field=["KEL_NAME", "RW"], crs=CRS)
    hazard = open_hazard(str(SAMPLE_AREA / "flood_current.tif"), classes="low:0.1-0.7,medium:0.7-1.5,high:1.5-")
    names = list(hazard.classes.names)
    b = b.assign(hazard_class=class_names_of(geometry_hazard(b.geometry, hazard)["hazard_class"].to_numpy(), names))
    kw = {"roads": roads, "facilities": facilities, "boundaries": units, "hazard_classes": names}
    whole = precarity_index(b, **kw)
    assert whole.cells["precarity_index"].notna().sum() > 50
    chunked = precarity_chunked(
        (x for _, x in building_source(path, crs=CRS).batches(1_500)), crs=CRS, hazard=hazard, **kw
    )
    _same(whole, chunked)


def test_synthetic_city_chunked_precarity(tmp_path):
    """A grid of streets (some footways), facilities of each kind, 15,000 buildings in batches of 4,000."""
    rng = np.random.default_rng(2)
    x0, y0, n = 500_000.0, 9_300_000.0, 15_000
    lines, kinds = [], []
    for i in range(21):
        lines += [shapely.LineString([(x0, y0 + i * 150), (x0 + 3_000, y0 + i * 150)])]
        lines += [shapely.LineString([(x0 + i * 150, y0), (x0 + i * 150, y0 + 3_000)])]
        kinds += ["residential" if i % 3 else "footway"] * 2
    roads = gpd.GeoDataFrame(
        {"road_id": np.arange(1, len(lines) + 1), "road_class": kinds, "oneway": False, "name": None},
        geometry=lines,
        crs=CRS,
    )
    cats = np.array(["hospital", "school", "water_point", "clinic"], dtype=object)
    fac = gpd.GeoDataFrame(
        {
            "facility_id": np.arange(1, 41),
            "category": cats[np.arange(40) % 4],
            "name": None,
            "capacity": np.nan,
            "building_id": pd.array([pd.NA] * 40, dtype="Int64"),
            "source_type": None,
        },
        geometry=shapely.points(rng.uniform(x0, x0 + 3_000, 40), rng.uniform(y0, y0 + 3_000, 40)),
        crs=CRS,
    )
    cx, cy = rng.uniform(x0, x0 + 3_000, n), rng.uniform(y0, y0 + 3_000, n)
    side = rng.uniform(4, 15, n)
    gdf = gpd.GeoDataFrame(
        {
            "building": np.array(["house", "yes", "school"], dtype=object)[rng.integers(0, 3, n)],
            "building:levels": np.where(rng.random(n) < 0.3, "2", None),
        },
        geometry=shapely.box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2),
        crs=CRS,
    )
    path = tmp_path / "city.gpkg"
    pyogrio.write_dataframe(gdf, path)
    units = gpd.GeoDataFrame(
        {"area_id": [1, 2, 3, 4], "name": list("abcd")},
        geometry=[shapely.box(x0 + i * 750, y0, x0 + (i + 1) * 750, y0 + 3_000) for i in range(4)],
        crs=CRS,
    )
    kw = {"roads": roads, "facilities": fac, "boundaries": units}
    whole = precarity_index(buildings_from_file(path, crs=CRS), **kw)
    chunked = precarity_chunked((x for _, x in building_source(path, crs=CRS).batches(4_000)), crs=CRS, **kw)
    _same(whole, chunked)
