"""Loading real exports (Jakarta, Dar es Salaam, Map Kibera) into the common schema."""

import warnings

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, Polygon

from layers.errors import InvalidInputError
from layers.io.schema import BOUNDARY_COLUMNS, BUILDING_COLUMNS, FACILITY_COLUMNS, ROAD_COLUMNS
from layers.io.vectors import (
    boundaries_from_file,
    buildings_from_file,
    buildings_from_frame,
    facilities_from_buildings,
    facilities_from_file,
    read_vector,
    roads_from_file,
    roads_from_frame,
)


@pytest.fixture(scope="module")
def jakarta(shared_data):
    return shared_data / "jakarta"


def test_jakarta_buildings_schema_and_counts(jakarta):
    b = buildings_from_file(jakarta / "jakarta_building.gpkg")
    assert list(b.columns) == BUILDING_COLUMNS + ["geometry"]
    assert len(b) == 7689
    assert b.crs.to_epsg() == 32748  # UTM 48S estimated from the data
    assert b.building_id.is_unique
    assert b.building_type.value_counts()["residential"] == 6120
    # "10+" and "4-7" are parsed, not dropped
    assert (b.levels == 10).sum() >= 141
    assert (b.levels == 5.5).sum() == 41
    assert b.capacity.notna().sum() > 500


def test_jakarta_facilities_match_published_counts(jakarta):
    """hospitals 31, schools 318, clinics 78, places of worship 680, police 20, fire stations 6 (data README)."""
    raw = read_vector(jakarta / "jakarta_building.gpkg")
    f = facilities_from_buildings(raw)
    assert list(f.columns) == FACILITY_COLUMNS + ["geometry"]
    counts = f.category.value_counts()
    assert counts["hospital"] == 31
    assert counts["school"] == 318
    assert counts["clinic"] == 78
    assert counts["place_of_worship"] == 680
    assert counts["police"] == 20
    assert counts["fire_station"] == 6
    assert (f.geom_type == "Point").all()
    # each facility point lies in the footprint it came from
    b = buildings_from_frame(raw).set_index("building_id")
    footprints = b.loc[f.building_id.to_numpy()].geometry.reset_index(drop=True)
    assert footprints.contains(f.geometry.reset_index(drop=True)).all()


def test_jakarta_capacity_messy_values(jakarta):
    raw = read_vector(jakarta / "jakarta_building.gpkg")
    b = buildings_from_frame(raw)
    mask = raw.CAPACITY.str.lower().str.strip().eq("100 orang").fillna(False).to_numpy()
    assert mask.sum() == 37
    assert (b.capacity.to_numpy()[mask] == 100).all()
    assert np.isnan(b.capacity.to_numpy()[raw.CAPACITY.eq("fix me").fillna(False).to_numpy()]).all()


def test_jakarta_roads_length_matches_published_total(jakarta):
    r = roads_from_file(jakarta / "jakarta_roads.shp")
    assert list(r.columns) == ROAD_COLUMNS + ["geometry"]
    assert len(r) == 18574
    assert r.length.sum() / 1000 == pytest.approx(5692, abs=1)
    assert r.oneway.dtype == bool
    assert r.oneway.sum() > 1000
    assert r.road_class.value_counts()["residential"] == 14854


def test_rw_boundaries(jakarta):
    rw = boundaries_from_file(jakarta / "rw_jakarta.shp", name_field=["KEL_NAME", "RW"], id_field="OBJECTID")
    assert list(rw.columns[:2]) == BOUNDARY_COLUMNS
    assert len(rw) == 2685
    assert rw.area_id.is_unique
    assert rw.name.iloc[0] == "KEBON BAWANG RW 01"
    assert "floodprone" in rw.columns  # source attributes kept, snake_cased


def test_missing_name_field_lists_the_fields(jakarta):
    with pytest.raises(InvalidInputError, match="name field 'NAMA' not found.*KEL_NAME"):
        boundaries_from_file(jakarta / "rw_jakarta.shp", name_field="NAMA")


def test_kibera_community_layers_categories(shared_data):
    kibera = shared_data / "kibera"
    health = facilities_from_file(kibera / "health.shp")
    assert health.category.value_counts()["hospital"] == 10
    water = facilities_from_file(kibera / "watsan.shp")
    assert water.category.value_counts().to_dict() == {"water_point": 401, "toilet": 208}
    school = facilities_from_file(kibera / "education.shp", category="school")
    assert len(school) == 259
    assert set(school.category) == {"school"}


def test_dar_es_salaam_osm_style_export(shared_data):
    """HOT export with OSM column names (osm_id, building, amenity) keeps OSM ids."""
    b = buildings_from_file(shared_data / "dar_es_salaam" / "dar_buildings_2015.gpkg")
    assert len(b) == 11116
    assert b.building_id.iloc[0] == 23360957
    assert b.crs.to_epsg() == 32737  # UTM 37S


def test_missing_file_and_crs_less_file(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        buildings_from_file(tmp_path / "nope.gpkg")
    gdf = gpd.GeoDataFrame({"TYPE": ["x"]}, geometry=[Polygon([(0, 0), (1, 0), (1, 1)])], crs=4326)
    noprj = tmp_path / "b.shp"
    gdf.to_file(noprj)
    (tmp_path / "b.prj").unlink()
    with pytest.raises(InvalidInputError, match="has no CRS"):
        buildings_from_file(noprj)
    (tmp_path / "garbage.gpkg").write_text("not a geopackage")
    with pytest.raises(InvalidInputError, match="cannot read"):
        buildings_from_file(tmp_path / "garbage.gpkg")


def test_points_are_not_buildings(tmp_path):
    path = tmp_path / "pts.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=4326).to_file(path)
    with pytest.raises(InvalidInputError, match="expected building polygons"):
        buildings_from_file(path)
    with pytest.raises(InvalidInputError, match="expected road lines"):
        roads_from_file(path)


def test_invalid_footprints_are_repaired_not_dropped():
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])  # self-intersecting
    square = Polygon([(20, 0), (30, 0), (30, 10), (20, 10)])
    gdf = gpd.GeoDataFrame({"TYPE": ["a", "b"]}, geometry=[bowtie, square], crs=32748)
    out = buildings_from_frame(gdf)
    assert len(out) == 2
    assert out.is_valid.all()
    assert out.area.iloc[0] == pytest.approx(50.0)


def test_empty_layer_warns_and_returns_schema(tmp_path):
    path = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"TYPE": []}, geometry=gpd.GeoSeries([], crs=4326)).to_file(path)
    with pytest.warns(UserWarning, match="no features"):
        out = buildings_from_file(path, crs=32748)
    assert out.empty
    assert list(out.columns) == BUILDING_COLUMNS + ["geometry"]
    warnings.simplefilter("error")


def test_oneway_minus_one_reverses_the_line():
    """oneway=-1 means one-way against the drawing direction: the loader flips the line."""
    from shapely.geometry import LineString

    raw = gpd.GeoDataFrame(
        {"highway": ["primary", "primary", "primary"], "oneway": ["-1", "yes", None]},
        geometry=[LineString([(0, 0), (100, 0)])] * 3,
        crs=32748,
    )
    r = roads_from_frame(raw)
    assert r.oneway.tolist() == [True, True, False]
    assert list(r.geometry.iloc[0].coords) == [(100, 0), (0, 0)]
    assert list(r.geometry.iloc[1].coords) == [(0, 0), (100, 0)]
