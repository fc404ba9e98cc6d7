"""The open building datasets: Google Open Buildings CSV, Microsoft GeoJSONL, Overture GeoParquet.

No package ships samples of these datasets, so each test writes a small file in exactly the
dataset's published schema (column names, order and types; Microsoft's gzipped ``.csv.gz`` naming;
Overture's GeoParquet ``geo`` metadata and nested ``names`` / ``sources`` structs) and reads it back
through the same buildings loader a user's file goes through.
"""

from __future__ import annotations

import gzip
import json

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from layers.io.datasets import detect_dataset, iter_dataset, read_dataset
from layers.io.vectors import buildings_from_file, read_vector

# Footprints around Jakarta (lon/lat), 6-20 m squares: their true areas are known in metres.
RNG = np.random.default_rng(7)
N = 200
LON = 106.80 + RNG.uniform(0, 0.02, N)
LAT = -6.20 + RNG.uniform(0, 0.02, N)
SIDE_M = RNG.uniform(6, 20, N)
FOOTPRINTS = gpd.GeoSeries(shapely.points(LON, LAT), crs=4326).to_crs(32748)
FOOTPRINTS = gpd.GeoSeries(
    shapely.box(
        FOOTPRINTS.x - SIDE_M / 2, FOOTPRINTS.y - SIDE_M / 2, FOOTPRINTS.x + SIDE_M / 2, FOOTPRINTS.y + SIDE_M / 2
    ),
    crs=32748,
).to_crs(4326)
CONFIDENCE = np.round(RNG.uniform(0.6, 1.0, N), 4)


def _google_csv(path, *, gz: bool = False):
    """Google Open Buildings v3: latitude,longitude,area_in_meters,confidence,geometry,full_plus_code."""
    from openlocationcode import openlocationcode as olc

    lines = ["latitude,longitude,area_in_meters,confidence,geometry,full_plus_code"]
    for i, g in enumerate(FOOTPRINTS):
        c = g.centroid
        area = SIDE_M[i] ** 2
        code = olc.encode(c.y, c.x, 11)
        lines.append(
            f'{c.y:.7f},{c.x:.7f},{area:.4f},{CONFIDENCE[i]:.4f},"{shapely.to_wkt(g, rounding_precision=7)}",{code}'
        )
    text = "\n".join(lines) + "\n"
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def test_google_open_buildings_csv_with_a_confidence_threshold(tmp_path):
    path = tmp_path / "open_buildings_v3_polygons_ne_110m_IDN.csv"
    _google_csv(path)
    assert detect_dataset(path) == "google"
    raw = read_dataset(path)  # default threshold 0.7
    keep = CONFIDENCE >= 0.7
    assert len(raw) == keep.sum()
    assert raw["building_id"].tolist() == (np.flatnonzero(keep) + 1).tolist()  # row in the file, before the filter
    assert raw.crs.to_epsg() == 4326
    # area_in_meters says the same as the footprint measured in UTM.
    np.testing.assert_allclose(
        raw.to_crs(32748).area, raw["area_in_meters"], rtol=5e-3
    )  # WKT at 7 decimals: ~1 cm per vertex
    assert len(read_dataset(path, min_confidence=0.9)) == (CONFIDENCE >= 0.9).sum()
    b = buildings_from_file(path, crs="EPSG:32748")
    assert list(b.columns) == ["building_id", "building_type", "levels", "capacity", "name", "geometry"]
    assert len(b) == keep.sum()
    assert (b["building_type"] == "unknown").all()
    np.testing.assert_allclose(b.area.to_numpy(), SIDE_M[keep] ** 2, rtol=5e-3)  # WKT at 7 decimals: ~1 cm per vertex


def test_google_gzipped_and_in_batches(tmp_path):
    path = tmp_path / "247_buildings.csv.gz"
    _google_csv(path, gz=True)
    assert detect_dataset(path) == "google"
    batches = list(iter_dataset(path, min_confidence=0.0, batch_rows=64))
    assert [len(b) for b in batches] == [64, 64, 64, 8]
    whole = read_dataset(path, min_confidence=0.0)
    assert np.concatenate([b["building_id"] for b in batches]).tolist() == whole["building_id"].tolist()


@pytest.mark.parametrize("name", ["Indonesia.geojsonl", "part-00000-abc.c000.csv.gz"])
def test_microsoft_geojsonl(tmp_path, name):
    """One Feature per line, properties height and confidence (-1 = unknown); .csv.gz files are gzipped GeoJSONL."""
    path = tmp_path / name
    heights = np.where(np.arange(N) % 3 == 0, -1.0, np.round(RNG.uniform(3, 30, N), 2))
    lines = [
        json.dumps(
            {
                "type": "Feature",
                "geometry": json.loads(shapely.to_geojson(g)),
                "properties": {"height": float(h), "confidence": -1.0},
            }
        )
        for g, h in zip(FOOTPRINTS, heights, strict=True)
    ]
    text = "\n".join(lines) + "\n"
    if name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    assert detect_dataset(path) == "microsoft"
    raw = read_vector(path, what="buildings")
    assert len(raw) == N
    assert raw["height"].tolist() == heights.tolist()
    assert raw["building_id"].tolist() == list(range(1, N + 1))
    b = buildings_from_file(path, crs="EPSG:32748")
    np.testing.assert_allclose(b.area.to_numpy(), SIDE_M**2, rtol=5e-3)  # WKT at 7 decimals: ~1 cm per vertex
    assert [len(x) for x in iter_dataset(path, batch_rows=90)] == [90, 90, 20]


def _overture_parquet(path):
    """Overture buildings (2024+ schema): id, geometry (WKB), bbox, version, sources, level, subtype, class,
    height, names{primary, common, rules}, has_parts, is_underground, num_floors, ..., with GeoParquet metadata."""
    wkb = shapely.to_wkb(FOOTPRINTS.to_numpy())
    b = shapely.bounds(FOOTPRINTS.to_numpy())
    floors = [None if i % 4 == 0 else int(i % 5 + 1) for i in range(N)]
    classes = [None if i % 3 == 0 else ("residential" if i % 2 else "commercial") for i in range(N)]
    names = [{"primary": f"Gedung {i}", "common": None, "rules": None} if i % 10 == 0 else None for i in range(N)]
    names_type = pa.struct(
        [
            ("primary", pa.string()),
            ("common", pa.map_(pa.string(), pa.string())),
            (
                "rules",
                pa.list_(
                    pa.struct(
                        [
                            ("variant", pa.string()),
                            ("language", pa.string()),
                            ("value", pa.string()),
                            ("side", pa.string()),
                        ]
                    )
                ),
            ),
        ]
    )
    sources_type = pa.list_(
        pa.struct(
            [
                ("property", pa.string()),
                ("dataset", pa.string()),
                ("record_id", pa.string()),
                ("update_time", pa.string()),
                ("confidence", pa.float64()),
            ]
        )
    )
    table = pa.table(
        {
            "id": pa.array([f"08b{i:013x}fff" for i in range(N)]),
            "geometry": pa.array(wkb, type=pa.binary()),
            "bbox": pa.array(
                [{"xmin": r[0], "xmax": r[2], "ymin": r[1], "ymax": r[3]} for r in b],
                type=pa.struct(
                    [("xmin", pa.float32()), ("xmax", pa.float32()), ("ymin", pa.float32()), ("ymax", pa.float32())]
                ),
            ),
            "version": pa.array([0] * N, type=pa.int32()),
            "sources": pa.array(
                [
                    [
                        {
                            "property": "",
                            "dataset": "OpenStreetMap",
                            "record_id": f"w{i}@1",
                            "update_time": None,
                            "confidence": None,
                        }
                    ]
                    for i in range(N)
                ],
                type=sources_type,
            ),
            "level": pa.array([None] * N, type=pa.int32()),
            "subtype": pa.array([None if c is None else c for c in classes], type=pa.string()),
            "class": pa.array(classes, type=pa.string()),
            "height": pa.array([None] * N, type=pa.float64()),
            "names": pa.array(names, type=names_type),
            "has_parts": pa.array([False] * N),
            "is_underground": pa.array([False] * N),
            "num_floors": pa.array(floors, type=pa.int32()),
        }
    )
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": ["Polygon", "MultiPolygon"],
                "covering": {
                    "bbox": {
                        "xmin": ["bbox", "xmin"],
                        "ymin": ["bbox", "ymin"],
                        "xmax": ["bbox", "xmax"],
                        "ymax": ["bbox", "ymax"],
                    }
                },
            }
        },
    }
    table = table.replace_schema_metadata({b"geo": json.dumps(geo).encode()})
    pq.write_table(table, path)
    return floors, classes


def test_overture_geoparquet(tmp_path):
    path = tmp_path / "part-00000-overture-buildings.zstd.parquet"
    floors, classes = _overture_parquet(path)
    assert detect_dataset(path) == "overture"
    # geopandas reads the same file: our reader agrees with it.
    peer = gpd.read_parquet(path)
    raw = read_dataset(path)
    assert raw.crs.to_epsg() == 4326
    assert shapely.equals(raw.geometry.to_numpy(), peer.geometry.to_numpy()).all()
    assert raw["overture_id"].tolist() == peer["id"].tolist()
    b = buildings_from_file(path, crs="EPSG:32748")
    assert len(b) == N
    expected_levels = [np.nan if f is None else float(f) for f in floors]
    np.testing.assert_array_equal(b["levels"].to_numpy(), expected_levels)
    assert b["building_type"].tolist() == [c or "unknown" for c in classes]
    assert b["name"].iloc[0] == "Gedung 0"
    assert b["name"].iloc[1:10].isna().all()
    np.testing.assert_allclose(b.area.to_numpy(), SIDE_M**2, rtol=5e-3)  # WKT at 7 decimals: ~1 cm per vertex
