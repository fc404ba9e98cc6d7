"""Input dates read from the data (layers.publish.freshness), never from the file's modification time."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from layers.publish.freshness import input_date, input_dates

KIBERA = Path(__file__).resolve().parents[4] / "shared" / "data" / "kibera" / "kibera_map_2012.osm"


def _pbf(path: Path, stamps: list[datetime], replication: str | None = None) -> Path:
    import osmium

    header = osmium.io.Header()
    if replication:
        header.set("osmosis_replication_timestamp", replication)
    w = osmium.SimpleWriter(str(path), header=header, overwrite=True)
    for i, t in enumerate(stamps, 1):
        w.add_node(osmium.osm.mutable.Node(id=i, location=(36.8, -1.3), timestamp=t, version=1))
    w.close()
    return path


def test_osm_replication_timestamp_then_newest_element(tmp_path):
    stamps = [datetime(2021, 2, 3, tzinfo=UTC), datetime(2023, 5, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC)]
    assert input_date(_pbf(tmp_path / "a.osm.pbf", stamps, "2024-03-01T12:00:00Z")) == (
        "2024-03-01",
        "OSM replication timestamp",
    )
    assert input_date(_pbf(tmp_path / "b.osm.pbf", stamps)) == ("2023-05-01", "newest OSM element")


def test_osm_xml_newest_element_matches_a_full_parse():
    if not KIBERA.exists():
        pytest.skip("../shared/data/kibera is not beside the checkout")
    newest = max(el.get("timestamp") for _, el in ET.iterparse(KIBERA) if el.get("timestamp"))
    assert input_date(KIBERA) == (newest[:10], "newest OSM element")


def test_geotiff_datetime_tag_and_not_the_mtime(tmp_path):
    path = tmp_path / "flood.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:32748",
        transform=from_origin(500000, 9300000, 10, 10),
    ) as dst:
        dst.write(np.zeros((1, 2, 2), "float32"))
        dst.update_tags(TIFFTAG_DATETIME="2019:11:05 08:30:00")
    os.utime(path, (0, 0))  # a copy or a checkout changes the mtime; the date must not follow it
    assert input_date(path) == ("2019-11-05", "TIFF DateTime tag")
    undated = tmp_path / "undated.tif"
    with rasterio.open(
        undated,
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:32748",
        transform=from_origin(500000, 9300000, 10, 10),
    ) as dst:
        dst.write(np.zeros((1, 2, 2), "float32"))
    assert input_date(undated) == (None, "no date in the data")


def test_inputs_older_than_the_limit_are_flagged(tmp_path):
    old = _pbf(tmp_path / "old.osm.pbf", [datetime(2020, 1, 1, tzinfo=UTC)])
    new = _pbf(tmp_path / "new.osm.pbf", [datetime(2024, 12, 1, tzinfo=UTC)])
    rows = {r["layer"]: r for r in input_dates({"old": old, "new": new}, max_age_days=365, today=date(2025, 1, 1))}
    assert rows["old"]["stale"]
    assert rows["old"]["age_days"] == (date(2025, 1, 1) - date(2020, 1, 1)).days
    assert not rows["new"]["stale"]


def test_the_build_records_input_dates_and_exports_carry_them(built_area):
    import json

    import pyogrio

    from layers.area import load_area
    from layers.publish.geopackage import export_metadata, read_metadata
    from tests.helpers import SAMPLE_AREA

    meta = read_metadata(built_area)
    rows = {r["layer"]: r for r in json.loads(meta["input_dates"])}
    area = load_area(SAMPLE_AREA)
    assert rows["buildings"]["date"] == input_date(area.buildings_path)[0]
    assert {f"hazard: {h.title}" for h in area.hazards} <= set(rows)
    assert export_metadata(built_area)["input_dates"] == meta["input_dates"]
    # The live layers exist in every build (empty without reports), so exports always offer them.
    names = set(pyogrio.list_layers(built_area)[:, 0])
    assert {"observation_mismatches", "road_closures"} <= names
