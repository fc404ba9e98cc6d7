"""Parsing field-report uploads: every format, per-row errors, idempotent ids, unsafe archives, photos."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
import shapely

from layers.errors import InvalidInputError
from layers.reports.config import ReportConfig
from layers.reports.parse import area_extent, normalise_reports, raw_from_geojson, read_reports

CFG = ReportConfig()
NOW = datetime(2025, 1, 1, tzinfo=UTC)
UID = "0b4a1f3e-2c5d-4e6f-8a9b-1c2d3e4f5a6b"


def _read(path, **kw):
    kw.setdefault("config", CFG)
    kw.setdefault("now", NOW)
    return read_reports(path, **kw)


def _errors(result) -> dict[int, str]:
    return {e["row"]: e["error"] for e in result.errors}


def test_csv_with_usual_column_names(tmp_path):
    """lon/lat under 'longitude'/'latitude', depth into attributes, phone kept private as the contact."""
    p = tmp_path / "r.csv"
    p.write_text(
        "id,category,longitude,latitude,description,observed_at,severity,depth_m,phone,street\n"
        f"{UID},flooding_observed,106.8,-6.2,water here,2024-01-01T10:00:00+07:00,3,0.5,0812,Jl. X\n"
    )
    r = _read(p)
    assert r.errors == []
    assert len(r.records) == 1
    rec = r.records.iloc[0]
    assert rec["id"] == UID
    assert rec["category"] == "flooding_observed"
    assert (rec["lon"], rec["lat"]) == (106.8, -6.2)
    assert rec["observed_at"] == datetime(2024, 1, 1, 3, tzinfo=UTC)
    assert rec["severity"] == 3
    assert rec["reporter_contact"] == "0812"
    assert rec["attributes"] == {"street": "Jl. X", "depth_m": 0.5}
    assert rec["source"] == "import"
    assert not rec["outside_area"]


def test_every_row_error_is_reported_and_good_rows_kept(tmp_path):
    """One message per bad row, naming the field and what is wrong; the good row survives."""
    p = tmp_path / "r.csv"
    p.write_text(
        "category,lon,lat,observed_at,severity,description\n"
        "blocked_drain,106.8,-6.2,,,ok\n"
        "blocked_drain,-6.2,106.8,,,swapped\n"
        "blocked_drain,181,10,,,lon out\n"
        "blocked_drain,10,-95,,,lat out\n"
        "volcano,106.8,-6.2,,,unknown category\n"
        "blocked_drain,106.8,-6.2,2999-01-01,,future\n"
        "blocked_drain,106.8,-6.2,not a date,,bad date\n"
        "blocked_drain,106.8,-6.2,,9,bad severity\n"
        "blocked_drain,abc,-6.2,,,not a number\n"
        f"blocked_drain,106.8,-6.2,,,{'x' * 5001}\n"
        ",106.8,-6.2,,,no category\n"
        "blocked_drain,,,,,no location\n"
        "blocked_drain,106.8\n"
    )
    r = _read(p)
    assert list(r.records["description"]) == ["ok"]
    err = _errors(r)
    assert sorted(err) == list(range(2, 14))
    assert "look swapped" in err[2]
    assert "longitude 181.0 is outside -180..180" in err[3]
    assert "latitude -95.0 is outside -90..90" in err[4]
    assert "unknown category 'volcano'" in err[5]
    assert "blocked_drain" in err[5]
    assert "in the future" in err[6]
    assert "not a date/time" in err[7]
    assert "severity must be a whole number from 1 to 5" in err[8]
    assert "longitude 'abc' is not a number" in err[9]
    assert "description is 5001 characters; the limit is 5000" in err[10]
    assert "no category" in err[11]
    assert "no location" in err[12]
    assert "has 2 fields but the header has 6" in err[13]


def test_odk_central_csv_uses_key_and_geopoint_columns(tmp_path):
    """ODK Central: <field>-Latitude/-Longitude/-Altitude/-Accuracy, KEY 'uuid:...' as the id."""
    p = tmp_path / "odk.csv"
    p.write_text(
        "SubmissionDate,start,end,where-Latitude,where-Longitude,where-Altitude,where-Accuracy,category,note,"
        "meta-instanceID,KEY,SubmitterID,SubmitterName,AttachmentsPresent,AttachmentsExpected,Status,ReviewState\n"
        f"2024-02-01T00:00:00.000Z,2024-01-31T23:50:00.000+03:00,,-6.2,106.8,12.5,4.2,need_water,tank empty,"
        f"uuid:{UID},uuid:{UID},5,ana,0,0,,\n"
    )
    r = _read(p)
    assert r.errors == []
    rec = r.records.iloc[0]
    assert rec["id"] == UID
    assert rec["source"] == "odk"
    assert (rec["lon"], rec["lat"], rec["altitude_m"], rec["accuracy_m"]) == (106.8, -6.2, 12.5, 4.2)
    assert rec["description"] == "tank empty"
    assert rec["observed_at"] == datetime(2024, 1, 31, 20, 50, tzinfo=UTC)  # 'start', not the submission
    assert rec["attributes"] == {}  # ODK bookkeeping is not kept


def test_kobo_csv_semicolons_and_group_paths(tmp_path):
    """Kobo's legacy export: ';' separated, _<geopoint>_latitude, _uuid, group/field names."""
    p = tmp_path / "kobo.csv"
    p.write_text(
        "start;end;group_a/category;group_a/notes;_location_latitude;_location_longitude;_location_altitude;"
        "_location_precision;_id;_uuid;_submission_time;_validation_status;__version__\n"
        f"2024-02-01T08:00:00.000+07:00;;damaged_building;roof gone;-6.21;106.82;0;5;1;{UID};2024-02-01T02:00:00;;v1\n"
    )
    r = _read(p)
    assert r.errors == []
    rec = r.records.iloc[0]
    assert rec["id"] == UID
    assert rec["source"] == "kobo"
    assert rec["category"] == "damaged_building"
    assert (rec["lon"], rec["lat"], rec["accuracy_m"]) == (106.82, -6.21, 5.0)
    assert rec["description"] == "roof gone"
    assert rec["attributes"] == {}


def test_kobo_xlsx_with_dates_as_cells(tmp_path):
    """An XLSX export with real date cells and numbers is read like its CSV twin."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["_uuid", "category", "_gps_latitude", "_gps_longitude", "today", "capacity"])
    ws.append([UID, "shelter_site", -6.2, 106.8, datetime(2024, 3, 1, 9, 30), 120])  # noqa: DTZ001 - Excel cells are naive
    ws.append([None, None, None, None, None, None])
    ws.append(["not-a-uuid", "Shelter site", -6.3, 106.9, None, None])
    p = tmp_path / "kobo.xlsx"
    wb.save(p)
    r = _read(p)
    assert r.errors == []
    assert list(r.records["id"])[0] == UID
    assert r.records["category"].tolist() == ["shelter_site", "shelter_site"]  # the label is accepted too
    assert r.records.iloc[0]["observed_at"] == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert r.records.iloc[0]["attributes"] == {"capacity": "120"}
    assert str(uuid.UUID(r.records.iloc[1]["id"])) == r.records.iloc[1]["id"]  # a non-UUID id is hashed to one
    assert r.records["source"].eq("kobo").all()


def test_wkt_points_and_community_boundary_polygons(tmp_path):
    """WKT column: points for ordinary categories, a polygon only for community_boundary."""
    p = tmp_path / "w.csv"
    p.write_text(
        "wkt,category\n"
        '"POLYGON((106.8 -6.2,106.81 -6.2,106.81 -6.21,106.8 -6.2))",community_boundary\n'
        '"POINT(106.8 -6.2)",shelter_site\n'
        '"POINT(106.8",shelter_site\n'
        '"POINT(106.8 -6.2)",community_boundary\n'
        '"POLYGON((106.8 -6.2,106.81 -6.2,106.81 -6.21,106.8 -6.2))",blocked_drain\n'
    )
    r = _read(p)
    assert r.records["category"].tolist() == ["community_boundary", "shelter_site"]
    poly = shapely.from_wkt(r.records.iloc[0]["geometry_wkt"])
    assert poly.geom_type == "Polygon"
    assert poly.contains(shapely.Point(r.records.iloc[0]["lon"], r.records.iloc[0]["lat"]))
    err = _errors(r)
    assert "not valid WKT" in err[3]
    assert "needs a Polygon" in err[4]
    assert "takes a point, not a polygon" in err[5]


def test_rows_without_ids_get_the_same_ids_on_a_second_import(tmp_path):
    """Content-derived ids: importing the same file twice gives the same ids; identical rows stay distinct."""
    p = tmp_path / "r.csv"
    p.write_text("category,lon,lat\nblocked_drain,106.8,-6.2\nblocked_drain,106.8,-6.2\nneed_food,106.8,-6.2\n")
    a, b = _read(p), _read(p)
    assert a.records["id"].tolist() == b.records["id"].tolist()
    assert a.records["id"].nunique() == 3


def test_duplicate_ids_within_a_file_are_counted_once(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text(f"id,category,lon,lat\n{UID},blocked_drain,106.8,-6.2\nuuid:{UID.upper()},blocked_drain,106.8,-6.2\n")
    r = _read(p)
    assert len(r.records) == 1
    assert r.duplicates == 1


def test_outside_area_is_flagged_or_rejected_and_swaps_are_named(sample_area_dir):
    """Against the Jakarta RW boundaries: inside kept, outside flagged (or rejected), swapped pair named."""
    from layers.area import load_area

    extent = area_extent(load_area(sample_area_dir).boundary_layer())
    raw = raw_from_geojson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": c},
                    "properties": {"category": "blocked_drain"},
                }
                for c in ([106.83, -6.2], [2.35, 48.85], [-6.2, 106.83])
            ],
        }
    )
    flag = normalise_reports(raw, config=CFG, extent=extent, now=NOW)
    assert flag.records["outside_area"].tolist() == [False, True]
    assert "look swapped" in _errors(flag)[3]  # latitude 106.83 is impossible
    reject = normalise_reports(
        raw, config=ReportConfig.from_section({"outside_area": "reject"}), extent=extent, now=NOW
    )
    assert len(reject.records) == 1
    assert "outside the area" in _errors(reject)[2]


def test_a_swap_inside_valid_ranges_is_named_from_the_extent():
    """lon 10.5 / lat 40.5 is a valid place, but the area is at lon 40-41, lat 10-11: say it looks swapped."""
    raw = raw_from_geojson(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [10.5, 40.5]},
            "properties": {"category": "blocked_drain"},
        }
    )
    r = normalise_reports(raw, config=CFG, extent=shapely.box(40, 10, 41, 11), now=NOW)
    assert r.records.empty
    assert "would be inside with longitude and latitude swapped" in _errors(r)[1]


def test_geojson_payload_errors():
    with pytest.raises(InvalidInputError, match="'Feature' or 'FeatureCollection'"):
        raw_from_geojson({"type": "Point", "coordinates": [0, 0]})
    with pytest.raises(InvalidInputError, match="must be a GeoJSON Feature"):
        raw_from_geojson([1, 2])
    raw = raw_from_geojson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": "x"},
                    "properties": {"category": "blocked_drain"},
                },
                {"type": "Feature", "geometry": None, "properties": {"category": "blocked_drain", "id": "nope"}},
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [106.8, -6.2]},
                    "properties": {"category": "blocked_drain", "attributes": {"depth_m": 0.3, "street": "Jl. Y"}},
                },
            ],
        }
    )
    r = normalise_reports(raw, config=CFG, now=NOW, strict_ids=True)
    err = _errors(r)
    assert "not valid GeoJSON" in err[1]
    assert "is not a UUID" in err[2]
    assert "no location" in err[2]
    assert r.records.iloc[0]["attributes"] == {"depth_m": 0.3, "street": "Jl. Y"}
    uuid.UUID(r.records.iloc[0]["id"])  # a server-made id when the client sent none


def test_100k_rows_are_read_in_batches_quickly(tmp_path):
    """A 100k-row CSV streams through in batches (memory bounded) in a few seconds."""
    from layers.reports.parse import iter_report_batches

    rng = np.random.default_rng(0)
    lon = 106.7 + rng.random(100_000) * 0.2
    lat = -6.3 + rng.random(100_000) * 0.2
    p = tmp_path / "big.csv"
    with p.open("w") as f:
        f.write("category,lon,lat,description\n")
        f.writelines(
            f"blocked_drain,{x:.6f},{y:.6f},drain {i}\n" for i, (x, y) in enumerate(zip(lon, lat, strict=False))
        )
    t0 = time.perf_counter()
    sizes = [len(b.records) for b in iter_report_batches(p, config=CFG, batch_rows=20_000)]
    elapsed = time.perf_counter() - t0
    assert sizes == [20_000] * 5
    assert elapsed < 20, elapsed


def test_json_body_of_geojson_file_with_bad_coordinates(tmp_path):
    """A GeoJSON upload reports its bad features by number, keeps the rest."""
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [106.8, -6.2]},
                "properties": {"category": "need_food"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [106.8, -96.2]},
                "properties": {"category": "need_food"},
            },
        ],
    }
    p = tmp_path / "r.geojson"
    p.write_text(json.dumps(fc))
    r = _read(p)
    assert len(r.records) == 1
    assert 2 in _errors(r)


def test_a_list_or_object_for_a_report_field_fails_its_row_and_names_the_field():
    """Text fields take text (numbers are kept as text); a list or object is refused, not stored as JSON text."""
    point = {"type": "Point", "coordinates": [106.83, -6.2]}
    props = [
        {"category": "blocked_drain", "description": ["a", "b"]},
        {"category": "blocked_drain", "reporter_name": {"first": "Ani"}, "severity": [3]},
        {"category": "blocked_drain", "reporter_contact": 812345, "tags": ["kept", "as text"]},
        {"category": 5, "description": {"a": 1}},
    ]
    feats = [{"type": "Feature", "geometry": point, "properties": p} for p in props]
    raw = raw_from_geojson({"type": "FeatureCollection", "features": feats})
    r = normalise_reports(raw, config=CFG, now=NOW)
    errors = _errors(r)
    assert errors[1] == "description must be text or a number, not a list"
    assert "reporter_name must be text or a number, not an object" in errors[2]
    assert "severity must be text or a number, not a list" in errors[2]  # both named, in one message
    assert errors[4].startswith("description must be text or a number, not an object")
    assert "unknown category '5'" in errors[4]
    assert r.records["reporter_contact"].tolist() == ["812345"]
    assert r.records["attributes"][0] == {"tags": '["kept", "as text"]'}  # extras keep their JSON text
