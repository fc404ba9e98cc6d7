"""Raw OpenStreetMap (XML, bz2, PBF) → buildings, roads, facilities."""

import bz2
import shutil

import pytest

from layers.errors import InvalidInputError
from layers.io.osm import buildings_from_osm, facilities_from_osm, roads_from_osm


@pytest.fixture(scope="module")
def kibera_osm(shared_data):
    return shared_data / "kibera" / "kibera_map_2012.osm"


def test_kibera_buildings(kibera_osm):
    b = buildings_from_osm(kibera_osm)
    assert len(b) == 159
    assert b.crs.to_epsg() == 32737  # UTM 37S for Nairobi
    assert b.building_id.is_unique
    assert (b.geom_type.isin(["Polygon", "MultiPolygon"])).all()


def test_kibera_facilities_by_category(kibera_osm):
    """Amenity counts of the file (data README): 184 schools, 328 water points, 180 toilets, 66 hospitals."""
    f = facilities_from_osm(kibera_osm)
    counts = f.category.value_counts()
    assert counts["school"] == 184
    assert counts["water_point"] == 328
    assert counts["toilet"] == 180
    assert counts["hospital"] == 66
    assert (f.geom_type == "Point").all()


def test_kibera_roads_include_footways(kibera_osm):
    r = roads_from_osm(kibera_osm)
    classes = r.road_class.value_counts()
    assert classes["footway"] == 181
    assert classes["path"] == 35
    assert len(r) == 514  # 517 highway ways less 3 that cannot be walked (e.g. proposed)
    assert 100 < r.length.sum() / 1000 < 125


def test_bz2_and_pbf_give_the_same_layers(kibera_osm, tmp_path):
    osmium = pytest.importorskip("osmium")
    packed = tmp_path / "kibera.osm.bz2"
    with open(kibera_osm, "rb") as src, bz2.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    pbf = tmp_path / "kibera.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(kibera_osm)):
            writer.add(obj)
    want = facilities_from_osm(kibera_osm).category.value_counts().to_dict()
    for path in (packed, pbf):
        assert len(buildings_from_osm(path)) == 159
        assert len(roads_from_osm(path)) == 514
        assert facilities_from_osm(path).category.value_counts().to_dict() == want


def test_missing_osm_file(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        buildings_from_osm(tmp_path / "none.osm")
