"""Reading report files: GIS formats and CRSs, content sniffing, unsafe archives."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pytest

from layers.errors import InvalidInputError, TooLargeError
from layers.reports.config import ReportConfig
from layers.reports.files import sniff_format
from layers.reports.parse import read_reports

CFG = ReportConfig()
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _read(path, **kw):
    return read_reports(path, **{"config": CFG, "now": NOW, **kw})


def test_geojson_geopackage_and_zipped_shapefile_in_another_crs(tmp_path):
    """The same two points read back from GeoJSON, GeoPackage and a zipped UTM Shapefile."""
    gdf = gpd.GeoDataFrame(
        {"category": ["blocked_drain", "need_food"], "desc": ["a", "b"], "date": ["2024-01-01", "2024-01-02"]},
        geometry=gpd.points_from_xy([106.8, 106.81], [-6.2, -6.21]),
        crs="EPSG:4326",
    )
    gdf.to_file(tmp_path / "r.geojson", driver="GeoJSON")
    gdf.to_file(tmp_path / "r.gpkg", layer="reports", driver="GPKG")
    gdf.to_crs("EPSG:32748").to_file(tmp_path / "r.shp")
    with zipfile.ZipFile(tmp_path / "r.zip", "w") as z:
        for ext in ("shp", "shx", "dbf", "prj", "cpg"):
            if (tmp_path / f"r.{ext}").exists():
                z.write(tmp_path / f"r.{ext}", f"export/r.{ext}")
    for name in ("r.geojson", "r.gpkg", "r.zip"):
        r = _read(tmp_path / name)
        assert r.errors == [], name
        assert r.records["category"].tolist() == ["blocked_drain", "need_food"], name
        np.testing.assert_allclose(r.records["lon"], [106.8, 106.81], atol=1e-7)
        np.testing.assert_allclose(r.records["lat"], [-6.2, -6.21], atol=1e-7)
        assert r.records.iloc[1]["observed_at"] == datetime(2024, 1, 2, tzinfo=UTC)


def test_shapefile_without_prj_is_refused(tmp_path):
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"category": ["blocked_drain"]}, geometry=gpd.points_from_xy([1], [2]), crs=None).to_file(
            tmp_path / "n.shp"
        )
    with zipfile.ZipFile(tmp_path / "n.zip", "w") as z:
        for ext in ("shp", "shx", "dbf"):
            z.write(tmp_path / f"n.{ext}", f"n.{ext}")
    with pytest.raises(InvalidInputError, match="no coordinate reference system"):
        _read(tmp_path / "n.zip")


def test_content_that_does_not_match_the_name_is_refused(tmp_path):
    z = tmp_path / "reports.csv"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("a.txt", "hello")
    with pytest.raises(InvalidInputError, match="does not contain CSV text: its content looks like a zip archive"):
        sniff_format(z)
    j = tmp_path / "reports.gpkg"
    j.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InvalidInputError, match="does not contain a GeoPackage"):
        sniff_format(j)
    b = tmp_path / "reports.dat"
    b.write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(InvalidInputError, match="binary file"):
        sniff_format(b)


def test_zip_bomb_and_escaping_paths_are_refused(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("r.csv", b"0" * (50 * 1024 * 1024))
    with pytest.raises(TooLargeError, match="zip bomb"):
        _read(bomb)
    escape = tmp_path / "escape.zip"
    with zipfile.ZipFile(escape, "w") as z:
        z.writestr("../../etc/r.csv", "category,lon,lat\n")
    with pytest.raises(InvalidInputError, match="points outside the archive"):
        _read(escape)
    absolute = tmp_path / "abs.zip"
    with zipfile.ZipFile(absolute, "w") as z:
        z.writestr("/tmp/r.csv", "category,lon,lat\n")
    with pytest.raises(InvalidInputError, match="points outside the archive"):
        _read(absolute)
