"""Structure type from OSM: ``building:structure``, ``structure`` and ``building:material`` (in the tag
vocabulary of the OSM wiki) become the structure classes the earthquake kind reads; unknown stays missing;
end to end, a concrete and a mud-brick building at the same MMI get different damage classes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from rasterio.transform import from_origin
from shapely.geometry import box

from layers.hazard.kinds.earthquake import structure_shift
from layers.io.osm import buildings_from_osm
from layers.io.structure import normalise, structure_from_tags
from layers.io.vectors import buildings_from_frame
from tests.helpers import UTM, write_raster

# (tag value as mapped in OSM, class, EMS-98 shift the earthquake kind must apply: +1 vulnerable, -1 resistant)
VOCABULARY = [
    ("brick", "brick", 0),
    ("concrete", "reinforced_concrete", -1),
    ("wood", "timber", -1),
    ("metal", "steel", -1),
    ("steel", "steel", -1),
    ("stone", "stone", 1),
    ("sandstone", "stone", 1),
    ("limestone", "stone", 1),
    ("adobe", "adobe", 1),
    ("mud", "adobe", 1),
    ("clay", "adobe", 1),
    ("loam", "adobe", 1),
    ("rammed_earth", "earth", 1),
    ("bamboo", "timber", -1),
    ("timber_framing", "timber", -1),
    ("cement_block", "masonry", 0),
    ("sand_cement_blocks", "masonry", 0),
    ("masonry", "masonry", 0),
    # building:structure's values (wiki Key:building:structure, mapped mostly in Indonesia)
    ("confined_masonry", "reinforced_masonry", -1),
    ("reinforced_masonry", "reinforced_masonry", -1),
    ("unreinforced_masonry", "unreinforced_masonry", 1),
    ("wood frame", "timber", -1),
    ("RCC_with_beam", "reinforced_concrete", -1),
    ("non_engineered_reinforced_concrete", "rc_non_engineered", 0),
    ("wattle_and_daub", "earth", 1),
    ("Brick", "brick", 0),  # case and spaces forgiven
    (" Mud ", "adobe", 1),
    ("plaster;brick", "brick", 0),  # a list: its first value that says something
]
SAYS_NOTHING = ["plaster", "plastered", "glass", "mirror", "tiles", "vinyl", "plastic", "yes", "solar_panels", "xyz"]


def test_the_wiki_vocabulary_maps_to_the_earthquake_classes():
    values = pd.Series([v for v, _, _ in VOCABULARY] + SAYS_NOTHING + [None])
    got = normalise(values)
    assert got.iloc[: len(VOCABULARY)].tolist() == [c for _, c, _ in VOCABULARY]
    assert got.iloc[len(VOCABULARY) :].isna().all()  # unknown -> missing
    # and the earthquake kind reads each class as EMS-98 says
    shifts = structure_shift(got.iloc[: len(VOCABULARY)].to_numpy())
    assert shifts.tolist() == [float(s) for _, _, s in VOCABULARY]
    assert (structure_shift(got.iloc[len(VOCABULARY) :].to_numpy()) == 0).all()


def test_construction_method_before_bare_structure_before_facade():
    raw = pd.DataFrame(
        {
            "building:structure": ["confined_masonry", None, None, "plastered"],
            "structure": [None, "wood", None, None],
            "building:material": ["plaster", "brick", "mud", "plaster"],
        }
    )
    assert structure_from_tags(raw).fillna("-").tolist() == ["reinforced_masonry", "timber", "adobe", "-"]
    # GDAL's OSM spelling (building_material) and no tags at all
    assert structure_from_tags(pd.DataFrame({"building_material": ["stone"]})).tolist() == ["stone"]
    assert structure_from_tags(pd.DataFrame({"name": ["x"]})) is None
    assert structure_from_tags(pd.DataFrame({"building:material": ["glass"]})) is None


def _squares(n: int) -> list:
    return [box(700_000 + 30 * i, 9_300_000, 700_000 + 30 * i + 20, 9_300_020) for i in range(n)]


def test_hot_export_columns_give_the_structure_column():
    raw = gpd.GeoDataFrame(
        {
            "osm_id": [11, 12, 13, 14],
            "building": ["house", "yes", "school", "residential"],
            "building:material": ["concrete", "mud", "bamboo", "plaster"],
            "building:levels": ["2", "1", "1", None],
        },
        geometry=_squares(4),
        crs=UTM,
    )
    out = buildings_from_frame(raw)
    assert out["structure"].fillna("-").tolist() == ["reinforced_concrete", "adobe", "timber", "-"]
    assert out["levels"].tolist()[:3] == [2, 1, 1]
    # a layer without the tags keeps the building schema exactly
    plain = buildings_from_frame(raw.drop(columns="building:material"))
    assert "structure" not in plain.columns


def _osm_file(path, buildings: list[dict[str, str]]) -> None:
    """An OSM XML file: one closed square way per building, tagged as given (near Jakarta)."""
    lines, nid = [], 0
    ways = []
    for w, tags in enumerate(buildings):
        lon, lat, d = 106.80 + 0.002 * w, -6.2, 0.0003
        ids = []
        for x, y in ((lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)):
            nid += 1
            ids.append(nid)
            lines.append(f'  <node id="{nid}" lat="{y:.7f}" lon="{x:.7f}"/>')
        refs = "".join(f'<nd ref="{i}"/>' for i in [*ids, ids[0]])
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        ways.append(f'  <way id="{w + 1}">{refs}{tag_xml}</way>')
    body = "\n".join(lines + ways)
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n{body}\n</osm>\n')


def test_osm_file_tags_give_the_structure_column(tmp_path):
    path = tmp_path / "town.osm"
    _osm_file(
        path,
        [
            {"building": "house", "building:material": "brick"},
            {"building": "yes", "building:structure": "unreinforced_masonry", "building:material": "plaster"},
            {"building": "house", "structure": "wood"},
            {"building": "hut", "building:material": "adobe"},
            {"building": "yes"},
        ],
    )
    out = buildings_from_osm(path, crs=UTM).sort_values("building_id")
    assert out["structure"].fillna("-").tolist() == ["brick", "unreinforced_masonry", "timber", "adobe", "-"]


@pytest.mark.filterwarnings("ignore:the (roads|facilities) layer")  # the town has buildings only
@pytest.mark.parametrize("mmi", [6.0, 7.0])
def test_concrete_and_mud_brick_at_the_same_mmi_get_different_damage(tmp_path, mmi):
    """End to end: OSM file -> buildings -> earthquake exposure. The same MMI everywhere; damage (InaSAFE 3.5:
    low from 6, medium from 7, high from 8) one MMI later for concrete, one earlier for mud brick."""
    from layers.hazard.exposure import exposure_from_files

    osm = tmp_path / "town.osm"
    _osm_file(
        osm,
        [
            {"building": "house", "building:material": "concrete"},
            {"building": "house", "building:material": "mud"},
            {"building": "house", "building:material": "brick"},
        ],
    )
    # An MMI grid over the three buildings (UTM 48S, 20 m cells), the same value everywhere.
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(106.80, -6.2)
    west, north = x - 200.0, y + 400.0
    write_raster(tmp_path / "mmi.tif", np.full((40, 60), mmi), transform=from_origin(west, north, 20, 20))
    result = exposure_from_files(hazard=str(tmp_path / "mmi.tif"), kind="earthquake", osm=str(osm))
    b = result.layers()["exposure_buildings"].sort_values("building_id")
    assert b["mmi_max"].tolist() == [mmi] * 3

    def damage(m: float) -> str | None:  # InaSAFE 3.5 thresholds, by hand
        return "high" if m >= 8 else "medium" if m >= 7 else "low" if m >= 6 else None

    expected = [damage(mmi - 1), damage(mmi + 1), damage(mmi)]  # concrete, mud, brick
    got = [None if pd.isna(v) else v for v in b["damage_class"]]
    assert got == expected
    assert got[0] != got[1]
