"""Selecting, paging and encoding the features of a published layer (a small GeoPackage in EPSG:3857)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from layers.errors import InvalidInputError, NotFoundError
from layers.publish.features import (
    MAX_VERTICES,
    bbox_to_crs,
    cap_vertices,
    feature_by_fid,
    features_geojson_texts,
    geojson_from_wkt,
    json_default,
    layer_facts,
    read_layer,
    row_by_id,
    select_features,
    select_rows,
    to_output_crs,
    yx_order,
)
from tests.helpers import SAMPLE_AREA

CRS84 = CRS.from_user_input("OGC:CRS84")
WGS84 = CRS.from_epsg(4326)
MERC = CRS.from_epsg(3857)
# 1000 m / 5000 m in EPSG:3857 at the origin, in degrees (pyproj).
LON_1000 = 0.008983152841195215
LAT_5000 = 0.04491575960553155


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["s1", "s2", "s3", "s4", "s5"],
            "kind": ["a", "b", "a", "b", "a"],
            "level": [1, 2, 2, 3, 2],
            "depth_m": [0.5, 1.25, np.nan, 2.0, 0.0],
            "wet": [True, False, True, False, False],
        },
        geometry=shapely.points([0, 1000, 2000, 3000, 4000], [0, 5000, 5000, 0, -5000]),
        crs=MERC,
    )


@pytest.fixture
def gpkg(tmp_path):
    path = tmp_path / "small.gpkg"
    _sites().to_file(path, layer="sites", driver="GPKG", engine="pyogrio")
    return path


def test_layer_facts(gpkg):
    """CRS, count, fields with schema types and the CRS84 extent of the layer."""
    facts = layer_facts(gpkg, "sites")
    assert facts.crs.equals(MERC)
    assert facts.features == 5
    assert facts.fields == ["name", "kind", "level", "depth_m", "wet"]
    assert facts.dtypes == {
        "name": "string",
        "kind": "string",
        "level": "integer",
        "depth_m": "number",
        "wet": "boolean",
    }
    assert facts.bbox_wgs84 == pytest.approx((0.0, -LAT_5000, 4 * LON_1000, LAT_5000), abs=1e-12)


def test_read_layer_indexes_by_fid(gpkg):
    """The whole layer, fids 1..5 as the index; a bbox in the layer's CRS keeps the features it meets."""
    assert read_layer(gpkg, "sites").index.tolist() == [1, 2, 3, 4, 5]
    assert read_layer(gpkg, "sites", bbox=(500, 0, 2500, 6000))["name"].tolist() == ["s2", "s3"]


def test_paging_returns_the_page_and_the_total(gpkg):
    """offset 1, limit 2 gives fids 2 and 3 of 5; an offset past the end gives an empty page, still 5 matched."""
    page, matched = select_features(gpkg, "sites", offset=1, limit=2)
    assert page.index.tolist() == [2, 3]
    assert matched == 5
    page, matched = select_features(gpkg, "sites", offset=3, limit=10)
    assert page.index.tolist() == [4, 5]
    assert matched == 5


@pytest.mark.parametrize("options", [{"offset": 7}, {"bbox": (9000, 9000, 9100, 9100)}, {"filters": {"kind": "z"}}])
def test_an_empty_page_has_no_features(gpkg, options):
    """Past the end, or nothing matching: no features, the layer's columns."""
    page, _ = select_features(gpkg, "sites", **options)
    assert len(page) == 0
    assert list(page.columns) == ["name", "kind", "level", "depth_m", "wet", "geometry"]


def test_filters_compare_numbers_booleans_and_text(gpkg):
    """level=2 matches 3 features (paged 2 at a time); wet=true 2; kind='a' with level 2 fids 3 and 5."""
    page, matched = select_features(gpkg, "sites", filters={"level": "2"}, limit=2)
    assert page.index.tolist() == [2, 3]
    assert matched == 3
    assert select_features(gpkg, "sites", filters={"wet": "true"})[0]["name"].tolist() == ["s1", "s3"]
    assert select_features(gpkg, "sites", filters={"kind": "a", "level": "2.0"})[0].index.tolist() == [3, 5]
    assert select_features(gpkg, "sites", filters={"kind": "it's"})[1] == 0


def test_bad_filters_are_invalid_input(gpkg):
    """A number field with text, or a field the layer lacks, is InvalidInputError."""
    with pytest.raises(InvalidInputError, match="level is a number; 'two' is not"):
        select_features(gpkg, "sites", filters={"level": "two"})
    with pytest.raises(InvalidInputError, match="no field 'colour'"):
        select_features(gpkg, "sites", filters={"colour": "red"})


def test_bbox_in_another_crs(gpkg):
    """A lon/lat box (0.005..0.02, 0..0.05) is x 556.6..2226.4 m: fids 2 and 3; EPSG:4326 takes it lat first."""
    page, matched = select_features(gpkg, "sites", bbox=(0.005, 0.0, 0.02, 0.05), bbox_crs=CRS84)
    assert page.index.tolist() == [2, 3]
    assert matched == 2
    page, matched = select_features(gpkg, "sites", bbox=(0.0, 0.005, 0.05, 0.02), bbox_crs=WGS84)
    assert page.index.tolist() == [2, 3]
    assert matched == 2
    assert select_features(gpkg, "sites", bbox=(0.005, 0.0, 0.02, 0.05), bbox_crs=WGS84)[1] == 0
    page, matched = select_features(gpkg, "sites", bbox=(0.005, 0.0, 0.02, 0.05), bbox_crs=CRS84, filters={"kind": "a"})
    assert page.index.tolist() == [3]
    assert matched == 1
    page, matched = select_features(gpkg, "sites", bbox=(-1, -6000, 5000, 6000), offset=3, limit=10)
    assert page.index.tolist() == [4, 5]
    assert matched == 5


def test_bbox_to_crs_swaps_latitude_first_axes():
    """EPSG:4326 boxes are lat, lon: the same CRS only swaps them to x/y; CRS84 to 3857 transforms the bounds."""
    assert yx_order(WGS84)
    assert not yx_order(CRS84)
    assert not yx_order(MERC)
    assert bbox_to_crs((1.0, 2.0, 3.0, 4.0), WGS84, WGS84) == (2.0, 1.0, 4.0, 3.0)
    assert bbox_to_crs((0.005, 0.0, 0.02, 0.05), CRS84, MERC) == pytest.approx(
        (556.5974539663679, 0.0, 2226.3898158654715, 5565.975246119148)
    )


def test_feature_by_fid(gpkg):
    """fid 3 is s3; fid 99 is NotFoundError."""
    assert feature_by_fid(gpkg, "sites", 3)["name"].tolist() == ["s3"]
    with pytest.raises(NotFoundError, match="no feature '99'"):
        feature_by_fid(gpkg, "sites", 99)


def test_axis_order_of_output_crs(gpkg):
    """EPSG:4326 coordinates go out lat, lon; CRS84 lon, lat; the same CRS is left alone."""
    gdf = read_layer(gpkg, "sites").loc[[2]]
    assert shapely.get_coordinates(to_output_crs(gdf, CRS84).geometry).tolist() == [
        [pytest.approx(LON_1000), pytest.approx(LAT_5000)]
    ]
    assert shapely.get_coordinates(to_output_crs(gdf, WGS84).geometry).tolist() == [
        [pytest.approx(LAT_5000), pytest.approx(LON_1000)]
    ]
    assert to_output_crs(gdf, MERC) is gdf


def test_geojson_texts_round_to_digits(gpkg):
    """7 decimals in degrees, 3 in metres, or as asked; id = fid; NaN as null; properties as JSON."""
    gdf = read_layer(gpkg, "sites").loc[[2, 3]]
    gdf.geometry = shapely.points([1000.123456, 2000], [5000.987654, 5000])
    one = [json.loads(t) for t in features_geojson_texts(gdf, crs=CRS84)]
    assert one[0] == {
        "type": "Feature",
        "id": 2,
        "geometry": {"type": "Point", "coordinates": [0.0089843, 0.0449246]},
        "properties": {"name": "s2", "kind": "b", "level": 2, "depth_m": 1.25, "wet": False},
    }
    assert one[1]["properties"]["depth_m"] is None
    assert json.loads(features_geojson_texts(gdf, crs=WGS84)[0])["geometry"]["coordinates"] == [0.0449246, 0.0089843]
    assert json.loads(features_geojson_texts(gdf, crs=MERC)[0])["geometry"]["coordinates"] == [1000.123, 5000.988]
    assert json.loads(features_geojson_texts(gdf, crs=MERC, digits=0)[0])["geometry"]["coordinates"] == [1000.0, 5001.0]
    assert features_geojson_texts(gdf.iloc[:0], crs=CRS84) == []


def test_geojson_texts_write_datetimes_and_null_geometry():
    """Timestamps as ISO 8601 (missing as null), a missing geometry as null, text ids quoted."""
    gdf = gpd.GeoDataFrame(
        {"observed_at": pd.to_datetime(["2025-01-31T06:00:00Z", None], utc=True)},
        geometry=[shapely.Point(106.8, -6.2), None],
        crs=WGS84,
        index=pd.Index(["r1", "r2"]),
    )
    texts = features_geojson_texts(gdf, crs=CRS84)
    assert json.loads(texts[0]) == {
        "type": "Feature",
        "id": "r1",
        "geometry": {"type": "Point", "coordinates": [106.8, -6.2]},
        "properties": {"observed_at": "2025-01-31T06:00:00+00:00"},
    }
    assert json.loads(texts[1]) == {
        "type": "Feature",
        "id": "r2",
        "geometry": None,
        "properties": {"observed_at": None},
    }


def _reports() -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {
            "id": ["r1", "r2", "r3", "r4"],
            "category": ["Flood", "flood", "road_blocked", "flood"],
            "observed_at": ["2025-01-01T00:00:00Z", "2025-01-02T12:00:00Z", "2025-01-03T00:00:00Z", None],
        },
        geometry=shapely.points([106.80, 106.81, 106.82, 106.90], [-6.20, -6.21, -6.22, -6.30]),
        crs=WGS84,
    )
    return gdf.set_index("id", drop=False)


def test_select_rows_filters_bbox_time_and_pages():
    """Text filters ignore case; a CRS84 bbox keeps r1..r3; an interval keeps rows with a time inside it."""
    page, matched = select_rows(_reports(), filters={"category": "FLOOD"}, limit=2)
    assert page.index.tolist() == ["r1", "r2"]
    assert matched == 3
    page, matched = select_rows(_reports(), bbox=(106.79, -6.25, 106.85, -6.19), bbox_crs=CRS84, offset=1)
    assert page.index.tolist() == ["r2", "r3"]
    assert matched == 3
    page, _ = select_rows(_reports(), bbox=(-6.25, 106.79, -6.19, 106.85), bbox_crs=WGS84)
    assert page.index.tolist() == ["r1", "r2", "r3"]
    when = (pd.Timestamp("2025-01-02T00:00:00Z"), None)
    page, matched = select_rows(_reports(), when=when, time_field="observed_at")
    assert page.index.tolist() == ["r2", "r3"]
    assert matched == 2
    when = (None, pd.Timestamp("2025-01-02T12:00:00Z"))
    assert select_rows(_reports(), when=when, time_field="observed_at")[0].index.tolist() == ["r1", "r2"]
    with pytest.raises(InvalidInputError, match="time field"):
        select_rows(_reports(), when=when)


def test_row_by_id():
    """The row whose id is the text given; an unknown id is NotFoundError naming the collection."""
    assert row_by_id(_reports(), "r2", name="field_reports")["category"].tolist() == ["flood"]
    with pytest.raises(NotFoundError, match="no feature 'r9' in collection 'field_reports'"):
        row_by_id(_reports(), "r9", name="field_reports")


def test_geojson_from_wkt():
    """WKT to GeoJSON dicts; None and empty text stay None."""
    assert geojson_from_wkt(["POINT (1 2)", None, "", "LINESTRING (0 0, 1 1)"]) == [
        {"type": "Point", "coordinates": [1.0, 2.0]},
        None,
        None,
        {"type": "LineString", "coordinates": [[0.0, 0.0], [1.0, 1.0]]},
    ]
    assert geojson_from_wkt([]) == []


def test_json_default():
    """numpy scalars to Python numbers (NaN to null), timestamps to ISO 8601, anything else to text."""
    values = [
        np.int64(3),
        np.float32(0.5),
        np.float32("nan"),
        np.bool_(True),
        pd.Timestamp("2025-01-31T06:00Z"),
        Path("a/b.gpkg"),
    ]
    assert json.dumps(values, default=json_default) == '[3, 0.5, null, true, "2025-01-31T06:00:00+00:00", "a/b.gpkg"]'


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"level": "nan"}, "level"),
        ({"level": "inf"}, "level"),
        ({"level": "-1e400"}, "level"),
        ({"kind": "a\x00"}, "kind"),
    ],
)
def test_filters_refuse_nan_infinity_and_nul(gpkg, filters, named):
    with pytest.raises(InvalidInputError, match=named):
        select_features(gpkg, "sites", filters=filters)


def test_a_box_beyond_what_a_crs_can_hold_is_invalid_input(gpkg):
    with pytest.raises(InvalidInputError, match="bbox"):
        bbox_to_crs((-1e308, -1e308, 1e308, 1e308), CRS84, MERC)
    with pytest.raises(InvalidInputError, match="bbox"):
        select_features(gpkg, "sites", bbox=(-1e308, -1e308, 1e308, 1e308), bbox_crs=CRS84)
    # in the layer's own CRS a huge box is simply everything
    assert select_features(gpkg, "sites", bbox=(-1e308, -1e308, 1e308, 1e308), bbox_crs=MERC)[1] == 5


def test_a_million_vertex_polygon_is_capped_in_public_output():
    """A real kelurahan boundary densified to ~1e6 vertices goes out with at most MAX_VERTICES, same shape."""
    kel = gpd.read_file(SAMPLE_AREA / "kelurahan.gpkg", engine="pyogrio").to_crs(32748)
    shape = kel.geometry.iloc[0]
    step = shape.length / 1_000_000
    huge = shapely.segmentize(shape, step)
    assert shapely.get_num_coordinates(huge) > 900_000
    small = kel.geometry.iloc[1]
    gdf = gpd.GeoDataFrame({"name": ["huge", "small"]}, geometry=[huge, small], crs=32748)
    texts = features_geojson_texts(gdf, crs=CRS84)
    out = [shapely.geometry.shape(json.loads(t)["geometry"]) for t in texts]
    assert shapely.get_num_coordinates(out[0]) <= MAX_VERTICES
    assert sum(map(len, texts)) < 1_000_000  # was ~25 MB
    assert out[0].is_valid
    back = gpd.GeoSeries([out[0]], crs="OGC:CRS84").to_crs(32748).iloc[0]
    assert abs(back.area - shape.area) / shape.area < 0.001
    assert shapely.hausdorff_distance(back, shape) < 1.0  # metres
    # small geometries keep every vertex
    assert shapely.get_num_coordinates(out[1]) == shapely.get_num_coordinates(small)
    capped = cap_vertices(np.array([huge, small], dtype=object), 100)
    assert shapely.get_num_coordinates(capped[0]) <= 100
    assert capped[1] is small
