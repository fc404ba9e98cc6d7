"""Real-world upload quirks: ODK Central's short rows, encodings, wide tables, NaN coordinates, crafted archives."""

from __future__ import annotations

import codecs
import csv
import io
import json
import struct
import zipfile
from datetime import UTC, datetime

import openpyxl
import pytest

from layers.errors import InvalidInputError, TooLargeError
from layers.reports.columns import MAX_COLUMNS
from layers.reports.config import ReportConfig
from layers.reports.parse import read_reports

CFG = ReportConfig()
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _read(path, **kw):
    return read_reports(path, **{"config": CFG, "now": NOW, **kw})


def _flat(prefix: str, obj: dict, out: dict) -> None:
    """ODK Central's CSV columns for an OData submission: groups joined by '-', geopoints as four columns."""
    for k, v in obj.items():
        col = f"{prefix}-{k}" if prefix else k
        if isinstance(v, dict) and v.get("type") == "Point":
            lon, lat, alt = (v["coordinates"] + [None])[:3]
            acc = (v.get("properties") or {}).get("accuracy")
            out.update(
                {f"{col}-Latitude": lat, f"{col}-Longitude": lon, f"{col}-Altitude": alt, f"{col}-Accuracy": acc}
            )
        elif isinstance(v, dict):
            _flat(col, v, out)
        else:
            out[col] = v


def _odk_central_csv(odata: dict) -> str:
    """The real submissions as ODK Central's CSV export lays them out, each row one (empty) field short."""
    rows = []
    for sub in odata["value"]:
        system = sub["__system"]
        row = {"SubmissionDate": system["submissionDate"]}
        _flat("", {k: v for k, v in sub.items() if not k.startswith("__")}, row)
        row.update(KEY=sub["__id"], SubmitterID=system["submitterId"], SubmitterName=system["submitterName"])
        row.update(AttachmentsPresent=system["attachmentsPresent"], ReviewState=system["reviewState"])
        rows.append(row)
    header = list(rows[0])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        cells = ["" if row.get(h) is None else row[h] for h in header]
        assert cells[-1] == ""  # ReviewState is empty on every submission of this form
        writer.writerow(cells[:-1])  # ODK Central leaves the empty trailing cell out
    return buf.getvalue()


def test_real_odk_central_export_with_rows_one_field_short(tmp_path, shared_data):
    """90 real submissions (hotosm/osm-fieldwork): read with one note, not 90 row errors.

    Submission 89 really has no first geopoint ('warmup'): it alone fails, and says it was short."""
    odata = json.loads((shared_data / "field" / "odk_central_camps_odata.json").read_text())
    p = tmp_path / "camping.csv"
    p.write_text(_odk_central_csv(odata))
    width = len(p.read_text().splitlines()[0].split(","))
    r = _read(p, default_category="shelter_site")
    assert [e["row"] for e in r.errors] == [89]
    assert r.errors[0]["error"].startswith("no location")
    assert f"has {width - 1} fields but the header has {width}" in r.errors[0]["error"]
    assert len(r.records) == len(odata["value"]) - 1 == 89
    assert r.notes == [
        f"90 row(s) have fewer fields than the header ({width}); their missing trailing cells were read as empty"
    ]
    first = r.records.iloc[0]
    assert first["id"] == "3c562ff9-0ac5-4643-9495-0e1fbb2a6475"
    assert first["source"] == "odk"
    assert (first["lon"], first["lat"]) == (-106.0918728, 39.8864339)  # the first geopoint (warmup)


def test_a_row_with_too_many_fields_still_fails_alone(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("category,lon,lat\nblocked_drain,106.8,-6.2\nblocked_drain,106.8,-6.2,extra\nneed_food,106.8\n")
    r = _read(p)
    assert r.records["category"].tolist() == ["blocked_drain"]
    err = {e["row"]: e["error"] for e in r.errors}
    assert err[2] == "has 4 fields but the header has 3"
    assert "give both longitude and latitude" in err[3]
    assert "has 2 fields but the header has 3" in err[3]  # a short row that fails says it was short
    assert len(r.notes) == 1


def test_utf16_csv_is_read_not_refused_as_binary(tmp_path):
    """Excel's "Unicode text": UTF-16 LE with a BOM, tab separated."""
    text = "category\tlon\tlat\tdescription\nneed_water\t106.8\t-6.2\tSumur kering, Pasar Minggu — ñ\n"
    p = tmp_path / "unicode.csv"
    p.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    r = _read(p)
    assert r.errors == []
    assert r.records["description"].tolist() == ["Sumur kering, Pasar Minggu — ñ"]
    assert r.notes == ["the file was read as UTF-16"]
    bomless = tmp_path / "bomless.csv"
    bomless.write_bytes(text.encode("utf-16-le"))
    assert _read(bomless).records["description"].tolist() == ["Sumur kering, Pasar Minggu — ñ"]


def test_mixed_utf8_and_windows_1252_rows_are_each_decoded_and_named(tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_bytes(
        b"category,lon,lat,description\n"
        + "need_food,106.8,-6.2,caf\u00e9 ouvert\n".encode()
        + "need_food,106.81,-6.2,d\u00e9j\u00e0 ferm\u00e9\n".encode("cp1252")
        + "need_food,106.82,-6.2,\u20ac 5\n".encode("cp1252")
    )
    r = _read(p)
    assert r.records["description"].tolist() == ["café ouvert", "déjà fermé", "€ 5"]
    assert r.notes == ["row(s) 2, 3 are not UTF-8 and were read as Windows-1252; check their accented letters"]
    whole = tmp_path / "latin.csv"
    whole.write_bytes("category,lon,lat,description\nneed_food,106.8,-6.2,Bah\u00eda\n".encode("cp1252"))
    r = _read(whole)
    assert r.records["description"].tolist() == ["Bahía"]
    assert r.notes == ["latin.csv is not UTF-8: it was read as Windows-1252"]


def test_a_table_wider_than_the_limit_is_refused_at_once(tmp_path):
    p = tmp_path / "wide.csv"
    p.write_text(",".join(f"c{i}" for i in range(200_000)) + "\n" + ",".join("1" for _ in range(200_000)) + "\n")
    with pytest.raises(TooLargeError, match=f"has 200,000 columns; the limit is {MAX_COLUMNS}"):
        _read(p)
    wb = openpyxl.Workbook()
    wb.active.append([f"c{i}" for i in range(MAX_COLUMNS + 1)])
    wb.save(tmp_path / "wide.xlsx")
    with pytest.raises(TooLargeError, match=f"has {MAX_COLUMNS + 1} columns"):
        _read(tmp_path / "wide.xlsx")
    ok = tmp_path / "ok.csv"
    ok.write_text(",".join(["category", "lon", "lat"] + [f"c{i}" for i in range(MAX_COLUMNS - 3)]) + "\n")
    assert _read(ok).records.empty  # at the limit: read


def test_nan_and_infinite_coordinates_fail_only_their_rows(tmp_path):
    """GeoJSON (GDAL reads NaN/Infinity literals) and WKT: the good neighbours are kept."""
    gj = tmp_path / "nan.geojson"
    gj.write_text(
        '{"type":"FeatureCollection","features":['
        '{"type":"Feature","geometry":{"type":"Point","coordinates":[106.8,-6.2]},"properties":{"category":"need_food"}},'
        '{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,NaN]},"properties":{"category":"need_food"}},'
        '{"type":"Feature","geometry":{"type":"Point","coordinates":[Infinity,-6.2]},"properties":{"category":"need_food"}},'
        '{"type":"Feature","geometry":{"type":"Point","coordinates":[106.9,-6.3]},"properties":{"category":"need_food"}}'
        "]}"
    )
    r = _read(gj)
    assert r.records["lon"].tolist() == [106.8, 106.9]
    assert sorted(e["row"] for e in r.errors) == [2, 3]
    wkt = tmp_path / "nan.csv"
    wkt.write_text(
        "wkt,category\n"
        '"POINT (106.8 -6.2)",need_food\n'
        '"POINT (nan nan)",need_food\n'
        '"POINT (inf -6.2)",need_food\n'
        '"POLYGON ((106.8 -6.2, nan -6.2, 106.81 -6.21, 106.8 -6.2))",community_boundary\n'
    )
    r = _read(wkt)
    assert r.records["lon"].tolist() == [106.8]
    err = {e["row"]: e["error"] for e in r.errors}
    assert sorted(err) == [2, 3, 4]
    assert all(e == "the geometry has coordinates that are not finite numbers (NaN or infinity)" for e in err.values())


def lying_zip(members: dict[str, bytes], liar: str, claimed: int) -> bytes:
    """A zip whose central directory and local header give ``liar`` the size ``claimed``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n, d in members.items():
            z.writestr(n, d)
    data = bytearray(buf.getvalue())
    name = liar.encode()
    for sig, name_len_at, size_at, header in ((b"PK\x01\x02", 28, 24, 46), (b"PK\x03\x04", 26, 22, 30)):
        i = 0
        while (i := data.find(sig, i)) >= 0:
            n = struct.unpack_from("<H", data, i + name_len_at)[0]
            if data[i + header : i + header + n] == name:
                struct.pack_into("<I", data, i + size_at, claimed)
            i += 4
    return bytes(data)


def _xlsx_members(description: str = "x") -> dict[str, bytes]:
    wb = openpyxl.Workbook()
    wb.active.append(["category", "lon", "lat", "description"])
    wb.active.append(["need_food", 106.8, -6.2, description])
    buf = io.BytesIO()
    wb.save(buf)
    z = zipfile.ZipFile(buf)
    return {n: z.read(n) for n in z.namelist()}


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_a_member_that_lies_about_its_size_is_refused(tmp_path, factor):
    data = ("category,lon,lat\n" + "need_food,106.8,-6.2\n" * 500).encode()
    p = tmp_path / "lie.zip"
    p.write_bytes(lying_zip({"r.csv": data}, "r.csv", int(len(data) * factor)))
    with pytest.raises(InvalidInputError, match="member 'r.csv' is not what the archive says it is"):
        _read(p)
    members = _xlsx_members()
    sheet = "xl/worksheets/sheet1.xml"
    x = tmp_path / "lie.xlsx"
    x.write_bytes(lying_zip(members, sheet, int(len(members[sheet]) * factor)))
    with pytest.raises(InvalidInputError, match=f"member '{sheet}' is not what the archive says it is"):
        _read(x)


@pytest.mark.parametrize(
    "dtd",
    [
        '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        '<!DOCTYPE worksheet [<!ENTITY a "AAAAAAAAAA"><!ENTITY xxe "&a;&a;&a;&a;&a;&a;">]>',
    ],
)
def test_an_xlsx_with_xml_entities_is_refused_unresolved(tmp_path, dtd):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    members = _xlsx_members("&xxe;")
    sheet = "xl/worksheets/sheet1.xml"
    members[sheet] = (
        b'<?xml version="1.0"?>' + dtd.format(secret=secret).encode() + members[sheet].replace(b"&amp;xxe;", b"&xxe;")
    )
    p = tmp_path / "xxe.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
    with pytest.raises(InvalidInputError, match="declares an XML document type or entities") as exc:
        _read(p)
    assert "SECRET" not in str(exc.value)


def test_an_xlsx_needs_no_suffix(tmp_path):
    """Web uploads are saved as 'upload': the workbook is recognised and opened by its content."""
    p = tmp_path / "upload"
    with zipfile.ZipFile(p, "w") as z:
        for n, d in _xlsx_members("dry").items():
            z.writestr(n, d)
    r = _read(p, name="reports.xlsx")
    assert r.records["description"].tolist() == ["dry"]


def test_api_features_with_too_many_properties_are_refused():
    from layers.reports.parse import raw_from_geojson

    wide = {f"p{i}": i for i in range(MAX_COLUMNS + 1)}
    one = {"type": "Feature", "geometry": None, "properties": wide}
    with pytest.raises(TooLargeError, match=f"feature 1 has {MAX_COLUMNS + 1} columns; the limit is {MAX_COLUMNS}"):
        raw_from_geojson(one)
    many = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": None, "properties": {f"p{i}": 1}} for i in range(MAX_COLUMNS + 1)],
    }
    with pytest.raises(TooLargeError, match=f"the request has {MAX_COLUMNS + 1} columns"):
        raw_from_geojson(many)
