"""Features that cannot be used (NaN, infinite or wild vertices, no geometry, a geometry type that does not fit)
and layers that lie away from the others, on the real Jakarta sample."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import pyogrio
import pytest
import shapely

from layers.errors import EmptyLayerError, InvalidInputError, WrongFileTypeError
from layers.io.crs import working_crs
from layers.io.usable import warn_outside
from layers.io.vectors import buildings_from_file, facilities_from_file, read_vector
from tests.helpers import SAMPLE_AREA

BBOX = (106.80, -6.22, 106.83, -6.19)


@pytest.fixture(scope="module")
def corner() -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(SAMPLE_AREA / "buildings.gpkg", bbox=BBOX)


def _write(gdf: gpd.GeoDataFrame, geoms, path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shapely notes the bad values the file is made of
        pyogrio.write_dataframe(gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=geoms, crs=gdf.crs), path)
    return str(path)


@pytest.mark.parametrize("value", [math.nan, math.inf, 1e308])
def test_a_bad_vertex_drops_its_feature_with_a_warning(tmp_path, corner, value):
    geoms = list(corner.geometry)
    x, y = geoms[0].bounds[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        geoms[0] = shapely.Polygon([(x, y), (value, value), (x, y + 0.001), (x, y)])
    path = _write(corner, geoms, tmp_path / "bad.gpkg")
    with pytest.warns(UserWarning, match=r"bad\.gpkg: skipped 1 features with coordinates that are NaN") as caught:
        out = buildings_from_file(path)
    assert len(caught) == 1
    assert len(out) == len(corner) - 1
    assert out.crs.to_epsg() == 32748  # the UTM zone of the good features


def test_no_geometry_at_all_is_an_error_naming_the_file(tmp_path, corner):
    path = _write(corner.head(20), [None] * 20, tmp_path / "nulls.geojson")
    with pytest.raises(EmptyLayerError, match=r"nulls\.geojson: none of its 20 features has a usable geometry"):
        read_vector(path, what="facilities")


def test_lines_are_not_facilities(tmp_path):
    roads = pyogrio.read_dataframe(SAMPLE_AREA / "roads.gpkg", bbox=BBOX)
    path = tmp_path / "lines.gpkg"
    pyogrio.write_dataframe(roads, path)
    with pytest.raises(WrongFileTypeError, match=r"lines\.gpkg: expected facility points or polygons, found"):
        facilities_from_file(path)


def test_stray_lines_among_facilities_are_skipped(tmp_path, corner):
    pts = corner.head(10).copy()
    geoms = list(shapely.centroid(pts.geometry.to_numpy()))
    geoms[0] = shapely.LineString([(106.81, -6.2), (106.811, -6.2)])
    path = _write(pts[["geometry"]].assign(amenity="school"), geoms, tmp_path / "mixed.gpkg")
    with pytest.warns(UserWarning, match="skipped 1 LineString features"):
        out = facilities_from_file(path)
    assert len(out) == 9
    assert set(out.geom_type) == {"Point"}


def test_wild_bounds_are_no_utm_zone():
    wild = gpd.GeoSeries([shapely.box(106.8, -6.2, 1e308, 1e308)], crs=4326)
    with pytest.raises(InvalidInputError, match="cannot choose a UTM zone"):
        working_crs(wild)


def test_a_layer_far_away_warns(corner):
    assert not warn_outside(corner.iloc[:50], corner, what="facilities")
    with pytest.warns(UserWarning, match="the facilities layer lies wholly outside the buildings"):
        assert warn_outside(corner.translate(-100.0), corner, what="facilities")
