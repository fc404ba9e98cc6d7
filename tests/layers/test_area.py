"""area.toml: the sample loads; every mistake names the key and the file."""

import dataclasses
import shutil
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from layers import settings
from layers.area import load_area
from layers.errors import AreaConfigError, MissingInputError, NotFoundError
from layers.io.schema import BUILDING_COLUMNS


def test_sample_area_loads(sample_area_dir):
    area = load_area(sample_area_dir)
    assert area.name == "jakarta"
    assert area.crs.to_epsg() == 32748
    assert [h.id for h in area.hazards] == ["current", "design"]
    current = area.hazard("current")
    assert current.kind == "raster"
    assert current.classes.names == ["low", "medium", "high"]
    assert current.displacement == {"low": 0.0, "medium": 0.3, "high": 1.0}
    assert area.population.scale == 0.025
    assert area.population.units == "count"
    assert [b.id for b in area.boundaries] == ["rw", "kelurahan"]
    assert area.default_build_path == sample_area_dir.resolve() / "build" / "area.gpkg"


def test_sample_area_layers(sample_area_dir):
    area = load_area(sample_area_dir)
    b = area.buildings()
    assert len(b) == 7689
    assert list(b.columns) == BUILDING_COLUMNS + ["geometry"]
    assert b.crs == area.crs
    assert len(area.roads()) == 18574
    assert area.facilities().category.value_counts()["hospital"] == 31
    assert len(area.boundary_layer()) == 2685
    assert len(area.boundary_layer("kelurahan")) == 261
    # cached but copied: callers cannot corrupt the cache
    b["building_type"] = "x"
    assert (area.buildings().building_type != "x").all()


def test_osm_only_area(tmp_path, shared_data):
    shutil.copy(shared_data / "kibera" / "kibera_map_2012.osm", tmp_path / "kibera.osm")
    (tmp_path / "area.toml").write_text('[area]\nname = "kibera"\n[layers]\nosm = "kibera.osm"\n')
    area = load_area(tmp_path / "area.toml")
    assert area.crs.to_epsg() == 32737
    assert len(area.buildings()) == 159
    assert len(area.roads()) == 514
    assert area.facilities().category.value_counts()["school"] == 184


def test_unknown_hazard_and_boundary_are_not_found(sample_area_dir):
    area = load_area(sample_area_dir)
    with pytest.raises(NotFoundError, match="scenarios are \\['current', 'design'\\]"):
        area.hazard("tsunami")
    with pytest.raises(NotFoundError, match="kecamatan"):
        area.boundary("kecamatan")


@pytest.fixture
def area_dir(tmp_path, sample_area_dir) -> Path:
    """A copy of the sample's small files, with an editable area.toml."""
    for name in ("flood_current.tif", "population.tif", "kelurahan.gpkg"):
        shutil.copy(sample_area_dir / name, tmp_path / name)
    (tmp_path / "buildings.gpkg").write_bytes((sample_area_dir / "buildings.gpkg").read_bytes())
    return tmp_path


GOOD = """
[area]
name = "t"
[layers]
buildings = "buildings.gpkg"
[[hazard]]
id = "current"
file = "flood_current.tif"
[population]
file = "population.tif"
scale = 0.025
[[boundaries]]
id = "kel"
file = "kelurahan.gpkg"
name_field = "KEL_NAME2"
"""


def _write(area_dir: Path, text: str) -> Path:
    path = area_dir / "area.toml"
    path.write_text(text)
    return path


def test_minimal_area_is_valid(area_dir):
    area = load_area(_write(area_dir, GOOD))
    assert area.hazard().classes.spec() == "low:0.1-0.7,medium:0.7-1.5,high:1.5-"
    assert area.population.units == "count"


@pytest.mark.parametrize(
    ("edit", "key", "message"),
    [
        (lambda t: t.replace('name = "t"', 'name = "t"\ncolour = "red"'), "area.colour", "unknown key"),
        (lambda t: t + "\n[weather]\nrain = 1\n", "weather", "unknown section"),
        (lambda t: t.replace('"flood_current.tif"', '"missing.tif"'), "hazard[0].file", "does not exist"),
        (
            lambda t: t.replace('id = "current"\n', 'id = "current"\nclasses = "low:0.1-0.5,high:1-"\n'),
            "hazard[0].classes",
            "gap",
        ),
        (
            lambda t: t.replace('id = "current"\n', 'id = "current"\ndisplacement = "high:2"\n'),
            "hazard[0].displacement",
            "between 0 and 1",
        ),
        (lambda t: t.replace("scale = 0.025", "scale = -1.0"), "population.scale", "positive"),
        (lambda t: t.replace("scale = 0.025", 'scale = "lots"'), "population.scale", "should be of type"),
        (lambda t: t.replace("scale = 0.025", 'units = "per_acre"'), "population.units", "must be one of"),
        (lambda t: t.replace('name_field = "KEL_NAME2"\n', ""), "boundaries[0].name_field", "missing required key"),
        (lambda t: t.replace('[layers]\nbuildings = "buildings.gpkg"', "[layers]"), "layers", "needs buildings"),
        (lambda t: t.replace('name = "t"', 'name = "t"\ncrs = "EPSG:4326"'), "area.crs", "not a projected CRS"),
        (lambda t: t.replace('name = "t"', 'name = "t"\ncrs = "EPSG:0"'), "area.crs", "'EPSG:0' is not a CRS PROJ"),
        (lambda t: t + '\nhazard = "flood_current.tif"\n', "boundaries[0].hazard", "unknown key"),
        (
            lambda t: (
                'hazard = ["flood.tif"]\n' + t.replace('[[hazard]]\nid = "current"\nfile = "flood_current.tif"\n', "")
            ),
            "hazard",
            "must be written as",
        ),
        (lambda t: t + '\n[[hazard]]\nid = "current"\nfile = "flood_current.tif"\n', "hazard.id", "used twice"),
        (
            lambda t: t.replace('id = "current"\n', 'id = "current"\ndisplacement = "extreme:0.5"\n'),
            "hazard[0].displacement",
            "extreme",
        ),
        (lambda t: t + "\n[evacuation]\nwalk_speed_m_s = 0\n", "evacuation.walk_speed_m_s", "positive"),
        (lambda t: t + '\n[evacuation]\nisochrones_min = ["x"]\n', "evacuation.isochrones_min", "minutes"),
        (lambda t: t + "\n[shelters]\nm2_per_person = -3.5\n", "shelters.m2_per_person", "positive"),
        (lambda t: t + "\n[precarity]\nh3_resolution = 16\n", "precarity.h3_resolution", "between 0 and 15"),
        (
            lambda t: t.replace('buildings = "buildings.gpkg"', 'buildings = {path = "buildings.gpkg"}'),
            "layers.buildings.path",
            "unknown key",
        ),
        (
            lambda t: t.replace('buildings = "buildings.gpkg"', 'buildings = "buildings.gpkg:b:c"'),
            "layers.buildings",
            "does not exist",
        ),
    ],
)
def test_config_errors_name_key_and_file(area_dir, edit, key, message):
    path = _write(area_dir, edit(GOOD))
    with pytest.raises(AreaConfigError, match=message) as info:
        load_area(path)
    assert info.value.key == key
    assert str(path) in str(info.value)
    assert f"key '{key}'" in str(info.value)


def test_vector_hazard_needs_a_field(area_dir):
    path = _write(area_dir, GOOD.replace('"flood_current.tif"', '"kelurahan.gpkg"'))
    with pytest.raises(AreaConfigError, match="needs 'field'"):
        load_area(path)


def test_bad_toml_and_missing_file(area_dir, tmp_path):
    with pytest.raises(AreaConfigError, match="not valid TOML"):
        load_area(_write(area_dir, "[area\nname ="))
    with pytest.raises(AreaConfigError, match="no area.toml"):
        load_area(tmp_path / "elsewhere")


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_area_toml_not_utf8_says_save_as_utf8(area_dir, encoding):
    """A Latin-1 or UTF-16 area.toml (Windows editors) is one error naming the file, not a UnicodeDecodeError."""
    path = area_dir / "area.toml"
    path.write_bytes(GOOD.replace('name = "t"', 'name = "t"\ntitle = "Kali côté"').encode(encoding))
    with pytest.raises(AreaConfigError, match="not UTF-8 text .*; open it in an editor and save it as UTF-8") as info:
        load_area(path)
    assert str(path) in str(info.value)


def test_area_toml_with_a_byte_order_mark_loads(area_dir):
    (area_dir / "area.toml").write_bytes(GOOD.replace('name = "t"', 'name = "côté"').encode("utf-8-sig"))
    assert load_area(area_dir).name == "côté"


def test_unreadable_boundary_layer_names_the_set(area_dir):
    area = load_area(_write(area_dir, GOOD.replace('"KEL_NAME2"', '"NAMA"')))
    with pytest.raises(AreaConfigError, match="name field 'NAMA' not found") as info:
        area.boundary_layer()
    assert info.value.key == "boundaries 'kel'"


def test_settings_are_typed_frozen_and_defaulted_once(sample_area_dir):
    area = load_area(sample_area_dir)
    assert area.evacuation.walk_speed_m_s == settings.WALK_SPEED_M_S == 1.0
    assert area.evacuation.max_walk_depth_m == 0.5
    assert area.evacuation.max_drive_depth_m == 0.3
    assert area.evacuation.isochrones_min == settings.ISOCHRONE_MINUTES
    assert area.shelters.m2_per_person == 3.5
    assert "university" in area.shelters.categories
    assert area.precarity.h3_resolution == 9
    assert area.precarity.weights is None
    assert area.reports.blur_m is None  # the reports config owns its defaults
    with pytest.raises(dataclasses.FrozenInstanceError):
        area.evacuation.walk_speed_m_s = 2.0  # type: ignore[misc]
    # the sections still read as mappings of what is set, for callers written against dicts
    assert area.evacuation.get("walk_speed_m_s", 9.0) == 1.0
    assert area.evacuation.get("drive_speed_kph") is None
    assert area.shelters["categories"] == area.shelters.categories
    assert "weights" not in dict(area.precarity)


def test_file_keys_name_a_layer(area_dir):
    """Issue 13 #2: every area.toml file key accepts a layer (a table, or FILE:LAYER)."""
    multi = area_dir / "inputs.gpkg"
    pyogrio.write_dataframe(gpd.read_file(area_dir / "kelurahan.gpkg"), multi, layer="kelurahan")
    pyogrio.write_dataframe(gpd.read_file(area_dir / "buildings.gpkg"), multi, layer="footprints", append=True)
    toml = GOOD.replace('buildings = "buildings.gpkg"', 'buildings = {file = "inputs.gpkg", layer = "footprints"}')
    toml = toml.replace('file = "kelurahan.gpkg"', 'file = "inputs.gpkg"\nlayer = "kelurahan"')
    area = load_area(_write(area_dir, toml))
    assert area.inputs.buildings.layer == "footprints"
    assert area.buildings_path == multi.resolve()
    assert len(area.buildings()) == 7689
    assert len(area.boundary_layer()) == 261
    area = load_area(
        _write(area_dir, toml.replace('{file = "inputs.gpkg", layer = "footprints"}', '"inputs.gpkg:footprints"'))
    )
    assert area.inputs.buildings.layer == "footprints"
    assert len(area.buildings()) == 7689


def test_area_without_roads_says_so(area_dir):
    area = load_area(_write(area_dir, GOOD))
    assert not area.has_roads
    with pytest.raises(MissingInputError, match="has no roads") as info:
        area.roads()
    assert info.value.input == "roads"
    assert isinstance(info.value, NotFoundError)
