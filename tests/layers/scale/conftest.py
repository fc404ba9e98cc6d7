"""Shared by the scale tests: a small city made of the Jakarta sample's buildings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from tests.helpers import SAMPLE_AREA

CRS = "EPSG:32748"


@pytest.fixture(scope="session")
def city(tmp_path_factory):
    """The Jakarta sample's buildings and a shifted copy (2 x 7,689) in one GeoPackage."""
    folder = tmp_path_factory.mktemp("city")
    raw = pyogrio.read_dataframe(SAMPLE_AREA / "buildings.gpkg").to_crs(CRS)
    parts = []
    for k, (dx, dy) in enumerate([(0, 0), (7, 3)]):
        part = raw.copy()
        part["geometry"] = shapely.transform(part.geometry.to_numpy(), lambda xy, dx=dx, dy=dy: xy + [dx, dy])
        part["osm_id"] = np.arange(len(raw)) + k * len(raw) + 1
        parts.append(part)
    city = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=CRS)
    path = folder / "city.gpkg"
    pyogrio.write_dataframe(city, path)
    return path


def pd_concat(parts):
    import pandas as pd

    return pd.concat(parts, ignore_index=True)
