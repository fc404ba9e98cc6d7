"""Pages from the per-file-version cache of encoded layers equal pages read and encoded on their own."""

from __future__ import annotations

import json
import os

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS

from layers.publish import cql2, feature_pages
from layers.publish.features import features_geojson_texts, select_features

CRS84 = CRS.from_user_input("OGC:CRS84")
WGS84 = CRS.from_epsg(4326)
MERC = CRS.from_epsg(3857)


def _sites(n: int = 40, scale: float = 1.0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    depth = rng.uniform(0, 3, n) * scale
    depth[::7] = np.nan
    return gpd.GeoDataFrame(
        {
            "name": [f"site é{i}" if i % 5 else None for i in range(n)],
            "kind": np.where(np.arange(n) % 3 == 0, "a", "b"),
            "level": np.arange(n) % 4,
            "depth_m": depth,
            "wet": np.arange(n) % 2 == 0,
        },
        geometry=shapely.points(rng.uniform(0, 9000, n), rng.uniform(-5000, 5000, n)),
        crs=MERC,
    )


@pytest.fixture
def gpkg(tmp_path):
    path = tmp_path / "sites.gpkg"
    _sites().to_file(path, layer="sites", driver="GPKG", engine="pyogrio")
    feature_pages.clear()
    yield path
    feature_pages.clear()


def _strict(text: str) -> object:
    def bad(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=bad)


CASES = [
    {"offset": 0, "limit": 100},
    {"offset": 7, "limit": 9},
    {"offset": 50, "limit": 10},
    {"filters": {"kind": "a"}, "offset": 2, "limit": 5},
    {"sortby": (("depth_m", False), ("name", True)), "offset": 3, "limit": 20},
    {"bbox": (0.0, -0.02, 0.05, 0.02), "bbox_crs": CRS84, "limit": 100},
    {"cql": cql2.parse("level >= 2 AND wet = true", "cql2-text"), "limit": 100},
]


@pytest.mark.parametrize("crs", [CRS84, WGS84, MERC], ids=["crs84", "epsg4326", "epsg3857"])
@pytest.mark.parametrize("case", CASES, ids=[",".join(c) for c in CASES])
def test_cached_pages_equal_pages_read_on_their_own(gpkg, crs, case):
    """The oracle reads the page from the GeoPackage and encodes only it; the cache slices the whole layer."""
    conditions = {k: v for k, v in case.items() if k not in ("offset", "limit")}
    page, matched = select_features(gpkg, "sites", offset=case.get("offset", 0), limit=case["limit"], **conditions)
    expected = features_geojson_texts(page, crs=crs)
    texts, got_matched = feature_pages.select_texts(
        gpkg, "sites", crs=crs, offset=case.get("offset", 0), limit=case["limit"], **conditions
    )
    assert got_matched == matched
    assert texts == expected
    assert [_strict(t)["id"] for t in texts] == page.index.tolist()


def test_properties_pages_are_encoded_with_only_those_columns(gpkg):
    texts, matched = feature_pages.select_texts(gpkg, "sites", crs=CRS84, columns=["name", "level"], limit=3)
    assert matched == 40
    assert [list(_strict(t)["properties"]) for t in texts] == [["name", "level"]] * 3


def test_a_rebuilt_file_is_encoded_again(gpkg, tmp_path):
    """A build swapped in with a rename (new inode) is served from its own texts, not the old ones."""
    first, _ = feature_pages.select_texts(gpkg, "sites", crs=MERC, limit=100)
    new = tmp_path / "new.gpkg"
    _sites(scale=10.0).to_file(new, layer="sites", driver="GPKG", engine="pyogrio")
    os.replace(new, gpkg)
    second, _ = feature_pages.select_texts(gpkg, "sites", crs=MERC, limit=100)
    depths = [_strict(t)["properties"]["depth_m"] for t in second]
    expected = _sites(scale=10.0)["depth_m"]
    assert depths == [None if np.isnan(d) else pytest.approx(d) for d in expected]
    assert first != second


def test_missing_and_infinite_numbers_are_null_and_text_is_utf8(gpkg):
    gdf = _sites(3)
    gdf["depth_m"] = [np.nan, np.inf, -1.5e-7]
    texts = features_geojson_texts(gdf, crs=CRS84)
    props = [_strict(t)["properties"] for t in texts]
    assert [p["depth_m"] for p in props] == [None, None, -1.5e-7]
    assert props[1]["name"] == "site é1"
    assert props[0]["name"] is None
    assert props[0]["wet"] is True
    assert props[1]["level"] == 1
