"""Naming and choosing layers (PATH:LAYER, multi-layer files) and typed errors for wrong or damaged files.

Issue 13 #2 (a multi-layer file read its first, empty layer and gave 0) and #5 (a raster given as buildings
crashed with a pyogrio traceback), on real InaSAFE and Jakarta files.
"""

import shutil
import warnings
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from layers.errors import (
    AmbiguousLayerError,
    InvalidInputError,
    MissingCRSError,
    NotFoundError,
    UnreadableFileError,
    WrongFileTypeError,
)
from layers.io.sources import split_layer
from layers.io.vectors import buildings_from_file, facilities_from_file, read_vector, roads_from_file


@pytest.fixture(scope="module")
def fixtures(shared_data) -> Path:
    return shared_data / "inasafe_fixtures"


@pytest.fixture(scope="module")
def multi(fixtures, tmp_path_factory) -> Path:
    """One GeoPackage: an empty point layer first, then InaSAFE's 181 buildings and 185 roads."""
    path = tmp_path_factory.mktemp("multi") / "survey.gpkg"
    empty = gpd.GeoDataFrame({"note": []}, geometry=gpd.GeoSeries([], crs=4326))
    pyogrio.write_dataframe(empty, path, layer="notes", geometry_type="Point")
    pyogrio.write_dataframe(gpd.read_file(fixtures / "buildings.shp"), path, layer="footprints", append=True)
    pyogrio.write_dataframe(gpd.read_file(fixtures / "roads.shp"), path, layer="streets", append=True)
    return path


def test_split_layer_only_when_the_file_exists(multi, tmp_path):
    assert split_layer(f"{multi}:streets") == (multi, "streets")
    assert split_layer(multi) == (multi, None)
    assert split_layer(f"{tmp_path}/absent.gpkg:streets") == (Path(f"{tmp_path}/absent.gpkg:streets"), None)
    assert split_layer(r"C:\data\x.gpkg") == (Path(r"C:\data\x.gpkg"), None)  # a drive letter is no layer
    assert split_layer("/vsizip/data.zip/x.shp") == (Path("/vsizip/data.zip/x.shp"), None)
    odd = tmp_path / "odd:name.gpkg"  # a colon in an existing file's name is kept
    shutil.copy(multi, odd)
    assert split_layer(odd) == (odd, None)
    assert split_layer(f"{odd}:streets") == (odd, "streets")


def test_multi_layer_file_picks_the_layer_that_fits_and_says_so(multi):
    with pytest.warns(UserWarning, match="reading 'footprints' \\(Polygon\\)"):
        b = buildings_from_file(multi, crs=32748)
    assert len(b) == 181
    with pytest.warns(UserWarning, match="reading 'streets'"):
        r = roads_from_file(multi, crs=32748)
    assert len(r) == 185


def test_path_layer_and_layer_option_read_that_layer(multi):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a named layer is read without any warning
        assert len(roads_from_file(f"{multi}:streets")) == 185
        assert len(buildings_from_file(multi, layer="footprints")) == 181


def test_empty_layer_is_a_warning_that_names_it(multi):
    with pytest.warns(UserWarning, match="notes has no features"):
        out = facilities_from_file(f"{multi}:notes", category="school")
    assert out.empty


def test_unknown_layer_lists_the_layers(multi):
    with pytest.raises(NotFoundError, match="no layer 'roads'.*'footprints', 'streets'"):
        roads_from_file(f"{multi}:roads")


def test_two_fitting_layers_are_an_error_listing_them(multi, fixtures, tmp_path):
    path = tmp_path / "two.gpkg"
    shutil.copy(multi, path)
    zones = gpd.read_file(fixtures / "flood_multipart_polygons.shp")
    pyogrio.write_dataframe(zones, path, layer="flood_zones", append=True)
    with pytest.raises(AmbiguousLayerError, match="footprints \\(Polygon\\).*flood_zones") as info:
        buildings_from_file(path)
    assert ("streets", "LineString") in info.value.layers
    assert "two.gpkg:LAYER" in str(info.value)


def test_raster_given_as_vector_is_a_typed_error(shared_data):
    """`--buildings population.tif` used to end in pyogrio.errors.DataSourceError."""
    jakarta = shared_data / "jakarta"
    with pytest.raises(WrongFileTypeError, match="is a raster; buildings must be a vector layer"):
        buildings_from_file(jakarta / "Population_Jakarta_geographic.asc")
    with pytest.raises(WrongFileTypeError, match="is a raster"):
        roads_from_file(jakarta / "jakarta_continuous_flood.tif")
    assert issubclass(WrongFileTypeError, InvalidInputError)
    assert issubclass(WrongFileTypeError, TypeError)


def test_truncated_files_are_unreadable_not_short(shared_data, tmp_path):
    gpkg = tmp_path / "cut.gpkg"
    gpkg.write_bytes((shared_data / "jakarta" / "jakarta_building.gpkg").read_bytes()[:300_000])
    with pytest.raises(UnreadableFileError, match="cannot read buildings file"):
        buildings_from_file(gpkg)
    # A cut .shp reads as fewer features without any GDAL error: 33 of 181 buildings, silently.
    for ext in ("shx", "dbf", "prj"):
        shutil.copy(shared_data / "inasafe_fixtures" / f"buildings.{ext}", tmp_path / f"b.{ext}")
    (tmp_path / "b.shp").write_bytes((shared_data / "inasafe_fixtures" / "buildings.shp").read_bytes()[:5000])
    with pytest.raises(UnreadableFileError, match="truncated or damaged: its header says 29184 bytes"):
        buildings_from_file(tmp_path / "b.shp")


def test_crs_less_file_is_a_typed_error(shared_data, tmp_path):
    for ext in ("shp", "shx", "dbf"):  # no .prj: geoapp never guesses a CRS
        shutil.copy(shared_data / "inasafe_fixtures" / f"roads.{ext}", tmp_path / f"roads.{ext}")
    with pytest.raises(MissingCRSError, match="has no CRS"):
        read_vector(tmp_path / "roads.shp", what="roads")
