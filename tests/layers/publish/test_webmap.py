"""What the web map lists: layers that exist (build or inputs), per scenario; the standalone HTML map."""

import json
import re

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from layers.area import load_area
from layers.errors import InvalidInputError, NotFoundError
from layers.publish.standalone import standalone_map
from layers.publish.webmap import MapData, dumps, page_config


@pytest.fixture(scope="module")
def jakarta(sample_area_dir):
    return load_area(sample_area_dir)


def _built(path):
    """A small build: exposure per scenario, routes, shelters; no roads layer at all."""
    crs = "EPSG:32748"
    blds = [box(700_000 + 20 * i, 9_310_000, 700_010 + 20 * i, 9_310_010) for i in range(3)]
    gpd.GeoDataFrame(
        {
            "building_id": [1, 2, 3] * 2,
            "hazard_class": ["high", None, "low", "medium", "low", None],
            "depth_max_m": [2.0, 0.0, 0.2, 1.0, 0.3, 0.0],
            "scenario": ["current"] * 3 + ["design"] * 3,
        },
        geometry=blds * 2,
        crs=crs,
    ).to_file(path, layer="exposure_buildings")
    gpd.GeoDataFrame(
        {"area_id": [7], "name": ["RW 07"]}, geometry=[box(699_990, 9_309_990, 700_100, 9_310_050)], crs=crs
    ).to_file(path, layer="boundaries_rw")
    gpd.GeoDataFrame(
        {"edge_id": [5], "people": [12.0]}, geometry=[LineString([(700_000, 9_310_000), (700_050, 9_310_000)])], crs=crs
    ).to_file(path, layer="evacuation_routes")
    gpd.GeoDataFrame(
        {"shelter_id": [9], "capacity": [100.0], "load_pct": [120.0], "over_capacity": [True], "safe": [True]},
        geometry=[Point(700_040, 9_310_020)],
        crs=crs,
    ).to_file(path, layer="shelters")
    return path


def test_without_a_build_the_inputs_are_shown(jakarta, tmp_path):
    data = MapData(jakarta, tmp_path / "absent.gpkg")
    listed = {d["name"]: d for d in data.describe()}
    assert list(listed) == ["roads", "buildings", "facilities", "boundaries_rw", "boundaries_kelurahan"]
    assert listed["buildings"]["source"] == "buildings"
    assert listed["buildings"]["default_on"]
    assert listed["boundaries_rw"]["default_on"]
    assert not listed["boundaries_kelurahan"]["default_on"]
    assert not any(d["per_scenario"] for d in listed.values())
    assert len(data.index("buildings")) == 7689
    assert len(data.index("boundaries_rw")) == 2685
    w, s, e, n = data.bounds()
    assert 106.6 < w < e < 107.1
    assert -6.5 < s < n < -6.0
    with pytest.raises(NotFoundError, match="no map layer 'shelters'"):
        data.index("shelters")


def test_a_build_brings_analysis_layers_per_scenario(tmp_path):
    data = MapData(None, _built(tmp_path / "area.gpkg"))
    listed = {d["name"]: d for d in data.describe()}
    assert set(listed) == {"buildings", "evacuation_routes", "shelters", "boundaries_rw"}
    assert listed["buildings"]["source"] == "exposure_buildings"
    assert listed["buildings"]["per_scenario"]
    assert data.scenarios() == ["current", "design"]
    assert data.index("buildings", "design").frame["hazard_class"].fillna("-").tolist() == ["medium", "low", "-"]
    assert data.index("buildings").frame["hazard_class"].fillna("-").tolist() == ["high", "-", "low"]
    assert data.index("shelters").feature(9)["load_pct"] == 120.0
    with pytest.raises(NotFoundError, match="no hazard scenario 'flood2099'"):
        data.index("buildings", "flood2099")
    with pytest.raises(InvalidInputError):
        MapData(None, None)


def test_page_config_lists_scenarios_with_overlays_and_legends(jakarta, tmp_path):
    cfg = page_config(MapData(jakarta, tmp_path / "absent.gpkg"), overlay_url=lambda spec, _o: f"/o/{spec.id}.png")
    assert [s["id"] for s in cfg["scenarios"]] == ["current", "design"]
    assert cfg["scenarios"][0]["overlay"] == "/o/current.png"
    assert [e["label"] for e in cfg["scenarios"][0]["legend"]] == ["0.1–0.7 m", "0.7–1.5 m", "≥ 1.5 m"]
    (s, w), (n, e) = cfg["scenarios"][0]["bounds"]
    assert w == pytest.approx(106.686, abs=1e-3)
    assert n == pytest.approx(-6.0799, abs=1e-3)
    assert cfg["classes"] == ["low", "medium", "high"]
    assert cfg["styles"]["classes"]["high"] == "#bd0026"
    assert {layer["name"]: layer["title"] for layer in cfg["layers"]}["boundaries_rw"] == "RW neighbourhoods"


def test_dumps_is_safe_inside_a_script_element():
    text = dumps({"name": "</script><script>alert(1)</script> & co"})
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert json.loads(text)["name"].startswith("</script>")


def test_standalone_map_is_one_file_with_everything_inline(tmp_path):
    out = standalone_map(_built(tmp_path / "area.gpkg"), tmp_path / "map.html")
    html = out.read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html), "no external script or stylesheet"
    assert "L.GridLayer" in html
    assert "Leaflet" in html
    cfg = json.loads(re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html, re.S).group(1))
    inline = cfg["inline"]
    assert [f["properties"]["hazard_class"] for f in inline["features"]["buildings"]["design"]["features"]] == [
        "medium",
        "low",
        None,
    ]
    assert inline["rows"]["buildings"]["current"]["1"]["depth_max_m"] == 2.0
    assert inline["features"]["evacuation_routes"][""]["features"][0]["properties"] == {"people": 12.0}


def test_standalone_map_of_the_sample_area_has_hazard_overlays_inline(sample_area_dir, tmp_path):
    """From the inputs alone (a copy without the local build a developer may have made): ~6 MB, both overlays."""
    import shutil

    area = shutil.copytree(sample_area_dir, tmp_path / "jakarta", ignore=shutil.ignore_patterns("build"))
    out = standalone_map(area, tmp_path / "jakarta.html")
    html = out.read_text()
    assert html.count("data:image/png;base64,") == 2
    assert 1_000_000 < out.stat().st_size < 12_000_000
    with pytest.raises(InvalidInputError, match="geoapp build"):
        standalone_map(tmp_path / "nothing.gpkg", tmp_path / "x.html")


def test_vector_hazard_scenarios_get_a_rendered_overlay(tmp_path):
    """An area whose hazard is zones with a text class gets the same overlay, legend and bounds."""
    crs = "EPSG:32748"
    gpd.GeoDataFrame({"building": ["yes"]}, geometry=[box(700_000, 9_310_000, 700_010, 9_310_010)], crs=crs).to_file(
        tmp_path / "b.gpkg"
    )
    gpd.GeoDataFrame(
        {"FLOODPRONE": ["YES", "no"]},
        geometry=[box(699_900, 9_309_900, 700_100, 9_310_100), box(700_100, 9_309_900, 700_300, 9_310_100)],
        crs=crs,
    ).to_file(tmp_path / "zones.gpkg")
    (tmp_path / "area.toml").write_text(
        '[area]\nname = "t"\n[layers]\nbuildings = "b.gpkg"\n'
        '[[hazard]]\nid = "zones"\nfile = "zones.gpkg"\nfield = "FLOODPRONE"\nclasses = "wet:yes"\n'
    )
    cfg = page_config(
        MapData(load_area(tmp_path)), overlay_url=lambda spec, overlay: f"{spec.id}:{len(overlay.png) > 0}"
    )
    (scenario,) = cfg["scenarios"]
    assert scenario["overlay"] == "zones:True"
    assert scenario["legend"][0]["label"] == "yes"
    (s, w), (n, e) = scenario["bounds"]
    assert e - w == pytest.approx(n - s, rel=0.05)  # only the 'yes' zone is drawn: a square


def test_standalone_map_speaks_its_language_without_geoapp(tmp_path):
    """The standalone map's strings ship with it (layers/publish/assets/i18n), one file per language."""
    from layers.publish.standalone import ASSETS, LANGUAGES, map_strings

    english = set(map_strings("en"))
    for lang in LANGUAGES:
        assert set(json.loads((ASSETS / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))) == english, lang
    out = standalone_map(_built(tmp_path / "area.gpkg"), tmp_path / "map.html", lang="fr")
    html = out.read_text()
    assert '<html lang="fr">' in html
    assert "Bâtiments et routes inondés" in html
    cfg = json.loads(re.search(r'<script type="application/json" id="map-config">(.*?)</script>', html, re.S).group(1))
    assert cfg["strings"]["layer_buildings"] == "Bâtiments"
    assert "geoapp" not in str(ASSETS.relative_to(ASSETS.parents[2]))
