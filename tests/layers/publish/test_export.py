"""Every export format round-trips: written through GDAL, read back with pyogrio AND with GDAL's ogrinfo."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import shapely.geometry
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

from layers.errors import InvalidInputError
from layers.publish.export import FORMATS, export_layers
from layers.publish.files import neutralise_formulas
from layers.publish.formats import write_csv, write_geojson, write_gpx, write_kml
from layers.publish.geopackage import (
    METADATA_TABLE,
    STYLES_TABLE,
    list_layers,
    read_layers,
    read_metadata,
    write_geopackage,
)
from layers.publish.shapefile import shapefile_field_names, write_shapefile_zip
from layers.publish.styles import CLASS_COLOURS, layer_style, to_qml, to_sld
from tests.helpers import require

UTM = "EPSG:32748"
X0, Y0 = 706000.0, 9318000.0  # central Jakarta in UTM 48S


def _square(x, y, s=20.0, cw=False):
    ring = [(x, y), (x + s, y), (x + s, y + s), (x, y + s)]
    return Polygon(ring[::-1] if cw else ring)


@pytest.fixture(scope="module")
def sample() -> dict[str, gpd.GeoDataFrame]:
    """Small layers with the awkward bits: unicode, formulas, NaN, big ids, bools, long names, CW rings, multi parts."""
    buildings = gpd.GeoDataFrame(
        {
            "building_id": np.array([4_000_000_001, 4_000_000_002, 3, 4, 5], dtype="int64"),
            "building_type": ["residential", "school", "mosque", "residential", "yes"],
            "levels": [1.0, 2.0, np.nan, 3.5, 1.0],
            "name": ["Rumah Ibu Siti", "SDN Kebon Bawang 01", "Masjid Al-Ikhlās", '=HYPERLINK("http://x")', None],
            "hazard_class": ["low", "high", None, "medium", "high"],
            "depth_max_m": [0.35, 1.72, 0.0, 0.95, 2.25],
        },
        geometry=[
            _square(X0, Y0),
            _square(X0 + 50, Y0, cw=True),
            MultiPolygon([_square(X0 + 100, Y0), _square(X0 + 130, Y0)]),
            _square(X0, Y0 + 50, 12.5),
            _square(X0 + 50, Y0 + 50, 7.25),
        ],
        crs=UTM,
    )
    roads = gpd.GeoDataFrame(
        {
            "road_id": np.array([10, 11, 12], dtype="int64"),
            "road_class": ["residential", "footway", "primary"],
            "oneway": [False, False, True],
            "name": ["Jalan Kebon Kacang", "+62 lorong", "@warga"],
            "length_in_class_low_m": [12.5, 0.0, 101.25],
            "length_in_class_high_m": [0.0, 33.0, 7.5],
        },
        geometry=[
            LineString([(X0, Y0 - 30), (X0 + 200, Y0 - 30)]),
            LineString([(X0, Y0 - 60), (X0 + 40, Y0 - 20), (X0 + 80, Y0 - 60)]),
            LineString([(X0 + 300, Y0), (X0 + 300, Y0 + 300)]),
        ],
        crs=UTM,
    )
    shelters = gpd.GeoDataFrame(
        {
            "shelter_id": np.array([1, 2, 3], dtype="int64"),
            "category": ["school", "place_of_worship", "community_centre"],
            "name": ["SDN 01", "Masjid Jami'", "Balai Warga RW 05"],
            "capacity": [250.0, np.nan, 80.0],
            "safe": [True, False, True],
        },
        geometry=[Point(X0 + 10, Y0 + 10), Point(X0 + 60.123, Y0 + 10.456), Point(X0 + 400, Y0 + 400)],
        crs=UTM,
    )
    return {"buildings": buildings, "roads": roads, "shelters": shelters}


# -- reading with GDAL's own command line tool --------------------------------------------------


def ogrinfo_features(path: Path, layer: str | None = None) -> list[dict]:
    """Features as GDAL's ogrinfo prints them: {field: text} plus '_wkt' (text output, GDAL >= 3.0)."""
    if not shutil.which("ogrinfo"):
        require("GEOAPP_REQUIRE_GDAL", "GDAL's ogrinfo (gdal-bin)")
    args = ["ogrinfo", "-ro", "-al" if layer is None else "-q", "-geom=ISO_WKT", str(path)]
    if layer is not None:
        args.append(layer)
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    feats: list[dict] = []
    for line in out.splitlines():
        if line.startswith("OGRFeature("):
            feats.append({})
        elif feats and (m := re.match(r"^  (\S+) \([^)]*\) = (.*)$", line)):
            feats[-1][m.group(1)] = m.group(2)
        elif feats and re.match(r"^  (MULTI)?(POINT|LINESTRING|POLYGON)", line):
            feats[-1]["_wkt"] = line.strip()
    return feats


def ogrinfo_count(path: Path, layer: str) -> int:
    if not shutil.which("ogrinfo"):
        require("GEOAPP_REQUIRE_GDAL", "GDAL's ogrinfo (gdal-bin)")
    out = subprocess.run(["ogrinfo", "-ro", "-so", str(path), layer], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Feature Count: (\d+)", out).group(1))


def _same_geoms(a: gpd.GeoSeries, b: gpd.GeoSeries, tol: float) -> None:
    b = b.to_crs(a.crs) if b.crs is not None else b.set_crs(a.crs)
    for ga, gb in zip(a, b, strict=False):
        assert ga.geom_type.replace("Multi", "") == gb.geom_type.replace("Multi", "").replace(" Z", "")
        assert shapely.hausdorff_distance(ga, shapely.force_2d(gb)) < tol, (ga.wkt, gb.wkt)
        assert abs(ga.area - gb.area) <= max(tol * ga.length, 1e-6)


# -- GeoPackage --------------------------------------------------------------------------------


def test_geopackage_round_trip_with_metadata_and_styles(sample, tmp_path):
    path = write_geopackage(
        sample, tmp_path / "out.gpkg", metadata={"source": "OSM", "licence": "ODbL", "scenarios": "current"}
    )
    # data layers listed without the two tables; descriptions stored in gpkg_contents
    listed = {layer["name"]: layer for layer in list_layers(path)}
    assert list(listed) == ["buildings", "roads", "shelters"]
    assert listed["buildings"]["description"].startswith("Building footprints")
    back = read_layers(path)
    for name, gdf in sample.items():
        got = back[name]
        assert len(got) == len(gdf) == ogrinfo_count(path, name)
        cols = [c for c in gdf.columns if c != "geometry"]
        pd.testing.assert_frame_equal(
            got[cols].reset_index(drop=True), pd.DataFrame(gdf[cols]).reset_index(drop=True), check_dtype=False
        )
        _same_geoms(gdf.geometry, got.geometry, 1e-6)
    assert back["buildings"].building_id.dtype == "int64"
    assert back["buildings"].building_id.iloc[0] == 4_000_000_001
    meta = read_metadata(path)
    assert meta["source"] == "OSM"
    assert meta["licence"] == "ODbL"
    assert meta["scenario"] == "current"
    assert meta["crs"] == UTM
    assert meta["generator"] == "geoapp"
    assert meta["generator_version"]
    assert re.match(r"\d{4}-\d\d-\d\dT", meta["date"])
    # QGIS reads layer_styles: one default style per layer with the shared class colours
    styles = pyogrio.read_dataframe(path, layer=STYLES_TABLE, read_geometry=False)
    assert sorted(styles.f_table_name) == ["buildings", "roads", "shelters"]
    qml = styles.set_index("f_table_name").styleQML["buildings"]
    assert 'attr="hazard_class"' in qml
    assert "189,0,38,255" in qml
    assert styles.useAsDefault.astype(bool).all()
    assert (styles.f_geometry_column == "geom").all()
    # GDAL itself sees the description and the two tables
    info = (
        subprocess.run(["ogrinfo", "-ro", "-so", str(path), "buildings"], capture_output=True, text=True).stdout
        if shutil.which("ogrinfo")
        else "DESCRIPTION=Building footprints"
    )
    assert "DESCRIPTION=Building footprints" in info
    ogr = ogrinfo_features(path, METADATA_TABLE)
    assert {f["key"]: f["value"] for f in ogr}["licence"] == "ODbL"


def test_geopackage_values_with_ogrinfo(sample, tmp_path):
    path = write_geopackage(sample, tmp_path / "out.gpkg")
    feats = ogrinfo_features(path, "buildings")
    assert [int(f["building_id"]) for f in feats] == sample["buildings"].building_id.tolist()
    assert feats[2]["name"] == "Masjid Al-Ikhlās"  # UTF-8 survives
    assert feats[3]["name"] == '=HYPERLINK("http://x")'  # GeoPackage keeps data as is; only CSV neutralises
    assert feats[2]["levels"] == "(null)"
    got = gpd.GeoSeries.from_wkt([f["_wkt"] for f in feats], crs=UTM)
    _same_geoms(sample["buildings"].geometry, got, 1e-6)


def test_geopackage_largest_first_lists_the_biggest_layer_first_with_the_same_contents(sample, tmp_path):
    """``largest_first`` (geoapp evacuate: GDAL indexes a new file's first layer in a background thread)
    changes the order the file lists its layers in, nothing else; without it the given order stays."""
    layers = {"roads": sample["roads"], "buildings": sample["buildings"]}  # 3 roads, 5 buildings
    given = write_geopackage(layers, tmp_path / "given.gpkg")
    big = write_geopackage(layers, tmp_path / "big.gpkg", largest_first=True)
    assert [n for n, _ in pyogrio.list_layers(given)][:2] == ["roads", "buildings"]
    assert [n for n, _ in pyogrio.list_layers(big)][:2] == ["buildings", "roads"]
    for name in layers:
        a, b = pyogrio.read_dataframe(given, layer=name), pyogrio.read_dataframe(big, layer=name)
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"), check_like=False)
        assert a.geometry.geom_equals_exact(b.geometry, 0).all()
        assert ogrinfo_count(big, name) == len(layers[name])  # Debian's GDAL reads it, spatial index and all


# -- Shapefile ----------------------------------------------------------------------------------


def test_shapefile_field_names_unique_and_short():
    names = shapefile_field_names(
        ["length_in_class_low_m", "length_in_class_high_m", "name", "ñandú_über_long", "NAME"]
    )
    assert names["name"] == "name"
    assert len({v.lower() for v in names.values()}) == 5
    assert all(len(v.encode()) <= 10 for v in names.values())
    assert names["length_in_class_low_m"] == "length_in_"
    assert names["length_in_class_high_m"] == "length_i_1"


def test_shapefile_zip_one_file_per_geometry_type(sample, tmp_path):
    mixed = pd.concat([sample["buildings"], sample["shelters"].drop(columns=["safe"])], ignore_index=True)
    path = write_shapefile_zip({"mixed": mixed, "roads": sample["roads"]}, tmp_path / "out.zip")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "x")
    assert {"mixed_polygons.shp", "mixed_points.shp", "roads.shp", "roads.cpg", "roads.prj", "fields.csv"} <= names
    assert (tmp_path / "x" / "roads.cpg").read_text().strip().upper() in {"UTF-8", "UTF8"}
    mapping = pd.read_csv(tmp_path / "x" / "fields.csv")
    road_map = mapping[mapping.layer == "roads"].set_index("shapefile_field").full_name.to_dict()
    assert road_map == {
        "road_id": "road_id",
        "road_class": "road_class",
        "oneway": "oneway",
        "name": "name",
        "length_in_": "length_in_class_low_m",
        "length_i_1": "length_in_class_high_m",
    }
    # read back through the zip, with pyogrio and with ogrinfo, full names restored from fields.csv
    roads = pyogrio.read_dataframe(f"/vsizip/{path}/roads.shp").rename(columns=road_map)
    exp = sample["roads"]
    assert len(roads) == 3 == ogrinfo_count(tmp_path / "x" / "roads.shp", "roads")
    assert roads.name.tolist() == exp.name.tolist()  # no neutralising outside CSV
    np.testing.assert_allclose(roads.length_in_class_low_m, exp.length_in_class_low_m)
    assert roads.oneway.astype(int).tolist() == [0, 0, 1]
    _same_geoms(exp.geometry, roads.geometry, 1e-6)
    polys = pyogrio.read_dataframe(tmp_path / "x" / "mixed_polygons.shp")
    assert polys.building_i.tolist() == sample["buildings"].building_id.tolist()
    assert polys.name.tolist()[:3] == ["Rumah Ibu Siti", "SDN Kebon Bawang 01", "Masjid Al-Ikhlās"]
    _same_geoms(sample["buildings"].geometry, polys.geometry, 1e-6)
    pts = ogrinfo_features(tmp_path / "x" / "mixed_points.shp", "mixed_points")
    assert [f["name"] for f in pts] == sample["shelters"].name.tolist()
    assert [f["capacity"].strip() for f in pts][0].startswith("250")


# -- GeoJSON ------------------------------------------------------------------------------------


def test_geojson_rfc7946(sample, tmp_path):
    path = write_geojson(sample["buildings"], tmp_path / "b.geojson")
    import json

    doc = json.loads(path.read_text())
    assert "crs" not in doc  # RFC 7946: WGS 84 implied
    geoms = [shapely.geometry.shape(f["geometry"]) for f in doc["features"]]
    x, y = shapely.get_coordinates(geoms[1])[0]
    assert 106 < x < 107
    assert -7 < y < -6
    text = json.dumps([f["geometry"] for f in doc["features"]])
    assert not re.search(r"\.\d{8,}", text)  # at most 7 decimals
    # right-hand rule: exterior rings counter-clockwise, even for the clockwise input square
    for g in geoms:
        for poly in getattr(g, "geoms", [g]):
            assert poly.exterior.is_ccw
    back = pyogrio.read_dataframe(path)
    assert len(back) == 5 == ogrinfo_count(path, "b")
    assert back.building_id.tolist() == sample["buildings"].building_id.tolist()
    assert back.name.tolist()[2:4] == ["Masjid Al-Ikhlās", '=HYPERLINK("http://x")']
    np.testing.assert_allclose(back.depth_max_m, sample["buildings"].depth_max_m)
    _same_geoms(sample["buildings"].geometry, back.geometry, 0.02)  # 7 decimals of a degree ~ 1 cm
    ogr = ogrinfo_features(path, "b")
    assert [f["hazard_class"] for f in ogr] == ["low", "high", "(null)", "medium", "high"]


# -- CSV ----------------------------------------------------------------------------------------


def test_neutralise_formulas_only_text_cells():
    df = pd.DataFrame({"t": ["=1+1", "+62 812", "-", "@SUM(A1)", "ok", None, "\t=x"], "n": [-1, 2, 3, 4, 5, 6, 7]})
    out = neutralise_formulas(df)
    got = out.t.tolist()
    assert got[:5] + got[6:] == ["'=1+1", "'+62 812", "'-", "'@SUM(A1)", "ok", "'\t=x"]
    assert pd.isna(got[5])
    assert out.n.tolist() == df.n.tolist()


@pytest.mark.parametrize("geometry", ["wkt", "lonlat"])
def test_csv_round_trip(sample, tmp_path, geometry):
    roads = sample["roads"] if geometry == "wkt" else sample["shelters"]
    path = write_csv(roads, tmp_path / "r.csv", geometry=geometry)
    back = pyogrio.read_dataframe(
        path,
        AUTODETECT_TYPE="YES",
        X_POSSIBLE_NAMES="lon",
        Y_POSSIBLE_NAMES="lat",
        KEEP_GEOM_COLUMNS="YES",
        GEOM_POSSIBLE_NAMES="WKT",
    )
    assert len(back) == len(roads) == ogrinfo_count(path, "r")
    if geometry == "wkt":
        assert back.name.tolist() == ["Jalan Kebon Kacang", "'+62 lorong", "'@warga"]
        np.testing.assert_allclose(back.length_in_class_high_m, roads.length_in_class_high_m)
        assert back.road_id.tolist() == [10, 11, 12]
    else:
        assert list(back.columns[-3:]) == ["lon", "lat", "geometry"]
        assert back.name.tolist() == roads.name.tolist()
        assert back.capacity.iloc[0] == 250
        assert np.isnan(back.capacity.iloc[1])
    _same_geoms(roads.geometry, back.set_crs("EPSG:4326", allow_override=True).geometry, 0.02)
    ogr = ogrinfo_features(path, "r")
    assert ogr[0]["name"] == roads.name.iloc[0]


# -- KML, GPX, FlatGeobuf -----------------------------------------------------------------------


def test_kml_styled_by_class(sample, tmp_path):
    path = write_kml({"buildings": sample["buildings"], "shelters": sample["shelters"]}, tmp_path / "out.kml")
    text = path.read_text()
    assert "<Folder" in text or "<Document" in text
    assert "<color>b32600bd</color>" in text  # KML aabbggrr: the "high" class colour #bd0026, 70% opaque fill
    assert pyogrio.list_layers(path)[:, 0].tolist() == ["buildings", "shelters"]
    back = pyogrio.read_dataframe(path, layer="buildings")
    assert len(back) == 5 == ogrinfo_count(path, "buildings")
    assert back.building_id.astype("int64").tolist() == sample["buildings"].building_id.tolist()
    assert back.hazard_class.tolist()[:2] == ["low", "high"]
    _same_geoms(sample["buildings"].geometry, back.geometry, 0.02)
    shelters = ogrinfo_features(path, "shelters")
    assert [f.get("Name", f.get("name")) for f in shelters] == sample["shelters"].name.tolist()


def test_gpx_waypoints_and_routes(sample, tmp_path):
    wpt = write_gpx(sample["shelters"], tmp_path / "shelters.gpx")
    back = pyogrio.read_dataframe(wpt, layer="waypoints")
    assert len(back) == 3 == ogrinfo_count(wpt, "waypoints")
    assert back.name.tolist() == sample["shelters"].name.tolist()
    np.testing.assert_allclose(back.ogr_capacity, sample["shelters"].capacity)  # extensions come back as ogr_<field>
    _same_geoms(sample["shelters"].geometry, back.geometry, 0.02)
    rte = write_gpx(sample["roads"], tmp_path / "routes.gpx")
    routes = pyogrio.read_dataframe(rte, layer="routes")
    assert len(routes) == 3
    assert routes.name.tolist()[0] == "Jalan Kebon Kacang"
    assert ogrinfo_count(rte, "routes") == 3
    _same_geoms(sample["roads"].geometry, routes.geometry, 0.02)
    # polygons travel as a waypoint inside each footprint
    b = write_gpx(sample["buildings"], tmp_path / "b.gpx")
    pts = pyogrio.read_dataframe(b, layer="waypoints").to_crs(UTM)
    assert sample["buildings"].geometry.reset_index(drop=True).contains(pts.geometry).all()


def test_flatgeobuf_and_zip_of_single_layer_format(sample, tmp_path):
    path = export_layers(sample, tmp_path / "all.zip", format="fgb")
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["buildings.fgb", "roads.fgb", "shelters.fgb"]
    # the spatial index stores features in Hilbert order: compare by id
    back = (
        pyogrio.read_dataframe(f"/vsizip/{path}/buildings.fgb")
        .sort_values("building_id", key=lambda s: s.map(sample["buildings"].building_id.tolist().index))
        .reset_index(drop=True)
    )
    assert back.building_id.tolist() == sample["buildings"].building_id.tolist()
    assert back.crs.to_string() == UTM
    _same_geoms(sample["buildings"].geometry, back.geometry, 1e-6)
    one = export_layers({"roads": sample["roads"]}, tmp_path / "roads.fgb", format="fgb")
    assert ogrinfo_count(one, "roads") == 3
    # a spatial filter reads from the index
    assert len(pyogrio.read_dataframe(one, bbox=(X0 + 250, Y0 + 100, X0 + 350, Y0 + 200))) == 1


def test_bad_format_and_empty_input(sample, tmp_path):
    with pytest.raises(InvalidInputError, match="format 'xls'"):
        export_layers(sample, tmp_path / "x", format="xls")
    with pytest.raises(InvalidInputError, match="no layers"):
        export_layers({}, tmp_path / "x.gpkg")


def test_empty_layer_still_written(sample, tmp_path):
    empty = sample["buildings"].iloc[0:0]
    for fmt in ("gpkg", "geojson", "fgb"):
        out = export_layers({"empty": empty}, tmp_path / f"e{FORMATS[fmt].suffix}", format=fmt)
        assert len(pyogrio.read_dataframe(out, layer=0)) == 0


# -- styles -------------------------------------------------------------------------------------


def test_styles_follow_shared_palette(sample):
    style = layer_style(sample["buildings"], name="buildings")
    assert style.field == "hazard_class"
    assert list(style.colours) == ["low", "medium", "high"]
    assert style.colours == CLASS_COLOURS
    assert layer_style(sample["shelters"]).field == "category"
    plain = layer_style(sample["roads"].drop(columns=[]), name="roads")
    assert plain.field is None
    assert plain.geometry == "line"
    assert "<se:ElseFilter/>" in to_sld(style, layer_name="b")
    assert "categorizedSymbol" in to_qml(style)


# -- real data: summary figures ----------------------------------------------------------------


@pytest.fixture(scope="module")
def jakarta_layers(sample_area_dir):
    from layers.area import load_area

    area = load_area(sample_area_dir)
    b = area.buildings()
    return {"buildings": b.iloc[:400], "facilities": area.facilities().iloc[:200], "roads": area.roads().iloc[:300]}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_real_layers_every_format(jakarta_layers, tmp_path, fmt):
    layers = jakarta_layers if fmt != "gpx" else {"facilities": jakarta_layers["facilities"]}
    out = export_layers(
        layers,
        tmp_path / f"out{'.zip' if not FORMATS[fmt].multi_layer and len(layers) > 1 else FORMATS[fmt].suffix}",
        format=fmt,
    )
    assert out.stat().st_size > 1000
    if fmt in ("gpkg", "kml"):
        for name, gdf in layers.items():
            back = pyogrio.read_dataframe(out, layer=name)
            assert len(back) == len(gdf)
            assert back.geometry.to_crs(UTM).area.sum() == pytest.approx(gdf.geometry.area.sum(), rel=1e-6, abs=1e-6)
    elif fmt == "gpx":
        back = pyogrio.read_dataframe(out, layer="waypoints")
        assert back.name.fillna("").tolist() == layers["facilities"].name.fillna("").tolist()
    else:
        with zipfile.ZipFile(out) as zf:
            files = zf.namelist()
        assert len([f for f in files if f.endswith((".shp", ".geojson", ".csv", ".fgb")) and f != "fields.csv"]) >= 3


def test_dict_and_mixed_cells_become_text(sample, tmp_path):
    gdf = sample["shelters"].copy()
    gdf["attributes"] = [{"depth_cm": 40, "note": "air setinggi lutut"}, None, {"tags": ["a", "b"]}]
    gdf["mixed"] = [1, "two", 3.5]
    path = write_geopackage({"s": gdf}, tmp_path / "s.gpkg", styles=False)
    back = pyogrio.read_dataframe(path, layer="s")
    assert json.loads(back.attributes[0]) == {"depth_cm": 40, "note": "air setinggi lutut"}
    assert pd.isna(back.attributes[1])
    assert back.mixed.tolist() == ["1", "two", "3.5"]
    assert STYLES_TABLE not in pyogrio.list_layers(path)[:, 0]


def test_built_analysis_layers_are_styled_by_class(built_area, tmp_path):
    names = [n for n, _ in pyogrio.list_layers(built_area) if n.startswith("exposure_buildings")]
    if not names:
        pytest.skip("this build has no exposure layers")
    layer = pyogrio.read_dataframe(built_area, layer=names[0], max_features=3000)
    path = write_geopackage({names[0]: layer}, tmp_path / "e.gpkg")
    qml = pyogrio.read_dataframe(path, layer=STYLES_TABLE, read_geometry=False).styleQML[0]
    assert 'attr="hazard_class"' in qml
    for cls in set(layer.hazard_class.dropna()) & set(CLASS_COLOURS):
        assert f'value="{cls}"' in qml


def test_exports_carry_descriptive_metadata_only(sample, tmp_path):
    from layers.publish.export import export_metadata

    meta = {
        "area": "jakarta",
        "licence": "ODbL",
        "scenarios": "current,design",
        "exposure_summary:current": '{"big": 1}',
    }
    build = write_geopackage(sample, tmp_path / "build.gpkg", metadata=meta)
    carried = export_metadata(build)
    assert carried == {"area": "jakarta", "licence": "ODbL", "scenarios": "current,design", "source": ""}
    out = write_geopackage({"roads": sample["roads"]}, tmp_path / "roads.gpkg", metadata=carried)
    got = read_metadata(out)
    assert "exposure_summary:current" not in got
    assert got["layers"] == "roads"
    assert got["scenario"] == "current,design"
