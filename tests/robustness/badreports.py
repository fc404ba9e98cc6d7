"""Bad field-report uploads (name, bytes): encodings, NaN and huge coordinates, truncated and lying archives.

``REPORT_FILES`` maps a case name to ``(builder, must_reject)``: a ``must_reject``
file may store nothing at all (every row is invalid, or the file is unreadable);
the others may store their good rows but never crash.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Callable

import geopandas as gpd
import pyogrio

from tests.robustness.badfiles import SAMPLE_AREA, centroids, corner

HEADER = "id,category,lon,lat,description,observed_at\n"
ROW = "{id},blocked_drain,{lon},{lat},{text},2024-02-01T08:00:00Z\n"
LON, LAT = 106.82, -6.205


def csv_rows(*rows: tuple, header: str = HEADER) -> str:
    out = header
    for i, (lon, lat, text) in enumerate(rows, start=1):
        out += ROW.format(id=f"rb-{i}", lon=lon, lat=lat, text=text)
    return out


def _geojson(coords, geometry_type: str = "Point") -> bytes:
    """One report whose coordinates are written as given (``NaN`` is not valid JSON: hence text)."""
    geometry = f'{{"type": "{geometry_type}", "coordinates": {coords}}}'
    feature = f'{{"type": "Feature", "geometry": {geometry}, "properties": {{"category": "blocked_drain"}}}}'
    return f'{{"type": "FeatureCollection", "features": [{feature}]}}'.encode()


def _zip(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _lying_zip() -> bytes:
    """A member whose headers declare 100 bytes but which inflates to 5 MB."""
    data = bytearray(_zip({"reports.csv": (HEADER + ROW.format(id="x", lon=LON, lat=LAT, text="a" * 5_000_000))}))
    real = len(HEADER) + len(ROW.format(id="x", lon=LON, lat=LAT, text="a" * 5_000_000))
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(sig)
        assert struct.unpack_from("<I", data, at + offset)[0] == real
        struct.pack_into("<I", data, at + offset, 100)
    return bytes(data)


def _gpkg_bytes(gdf, layer: str = "reports") -> bytes:
    buf = io.BytesIO()
    pyogrio.write_dataframe(gdf, buf, driver="GPKG", layer=layer)
    return buf.getvalue()


def _points(n: int = 5):
    b = corner("buildings").head(n)
    b = gpd.GeoDataFrame(geometry=centroids(b), crs=b.crs)
    b["category"] = "blocked_drain"
    return b


def _xlsx(extra_xml: dict[str, bytes] | None = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["category", "lon", "lat"])
    ws.append(["blocked_drain", LON, LAT])
    buf = io.BytesIO()
    wb.save(buf)
    if not extra_xml:
        return buf.getvalue()
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    members = {i.filename: src.read(i.filename) for i in src.infolist()}
    members.update(extra_xml)
    return _zip(members)


XXE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>category</t></is></c><c r="B1" t="inlineStr"><is><t>lon</t></is></c>'
    b'<c r="C1" t="inlineStr"><is><t>lat</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>&xxe;</t></is>'
    b'</c><c r="B2"><v>106.82</v></c><c r="C2"><v>-6.205</v></c></row></sheetData></worksheet>'
)

Builder = Callable[[], tuple[str, bytes]]


def _text(name: str, text: str, encoding: str = "utf-8") -> Builder:
    return lambda: (name, text.encode(encoding))


REPORT_FILES: dict[str, tuple[Builder, bool]] = {
    "csv_empty_file": (lambda: ("r.csv", b""), True),
    "csv_header_only": (_text("r.csv", HEADER), True),
    "csv_latin1": (_text("r.csv", csv_rows((LON, LAT, "banjir di jalan Kemayoran, rumah Pak José")), "latin-1"), False),
    "csv_utf16": (_text("r.csv", csv_rows((LON, LAT, "banjir"), (LON, LAT, "genangan")), "utf-16"), False),
    "csv_invalid_utf8": (
        lambda: ("r.csv", csv_rows((LON, LAT, "x")).encode() + b"rb-9,blocked_drain,\xff\xfe\xc3\n"),
        False,
    ),
    "csv_nul_bytes": (_text("r.csv", csv_rows((LON, LAT, "a\x00b"), (LON, LAT, "\x00"))), False),
    "csv_nan_coords": (_text("r.csv", csv_rows(("nan", "nan", "a"), ("NaN", LAT, "b"), (LON, "nan", "c"))), True),
    "csv_inf_coords": (_text("r.csv", csv_rows(("inf", LAT, "a"), (LON, "-inf", "b"), ("Infinity", LAT, "c"))), True),
    "csv_huge_coords": (_text("r.csv", csv_rows((1e308, 1e308, "a"), (LON, 1e308, "b"), ("1e999", LAT, "c"))), True),
    "csv_out_of_range": (_text("r.csv", csv_rows((200, LAT, "a"), (LON, -95, "b"), (-181, 91, "c"))), True),
    "csv_text_coords": (_text("r.csv", csv_rows(("east", "south", "a"), ("0x1F", "1,5", "b"))), True),
    "csv_far_away": (_text("r.csv", csv_rows((6.82, LAT, "a"), (-73.9, 40.7, "b"))), False),
    "csv_many_columns": (_text("r.csv", ",".join(f"c{i}" for i in range(20_000)) + "\n" + "1," * 19_999 + "1\n"), True),
    "csv_huge_field": (_text("r.csv", csv_rows((LON, LAT, "x" * 2_000_000))), False),
    "csv_binary": (lambda: ("r.csv", bytes(range(256)) * 40), True),
    "csv_is_a_zip": (lambda: ("r.csv", _zip({"a.csv": csv_rows((LON, LAT, "a")).encode()})), True),
    "csv_no_coordinates": (_text("r.csv", "category,description\nblocked_drain,no place\n"), True),
    "csv_unterminated_quote": (_text("r.csv", HEADER + 'rb-1,blocked_drain,106.82,-6.205,"never closed\n'), False),
    "geojson_nan_token": (lambda: ("r.geojson", _geojson("[NaN, NaN]")), True),
    "geojson_infinity_token": (lambda: ("r.geojson", _geojson("[Infinity, -6.2]")), True),
    "geojson_huge": (lambda: ("r.geojson", _geojson("[1e308, 1e308]")), True),
    "geojson_string_coords": (lambda: ("r.geojson", _geojson('["106.8", "-6.2"]')), True),
    "geojson_null_coords": (lambda: ("r.geojson", _geojson("null")), True),
    "geojson_one_coordinate": (lambda: ("r.geojson", _geojson("[106.8]")), True),
    "geojson_unclosed_polygon": (
        lambda: ("r.geojson", _geojson("[[[106.8,-6.2],[106.81,-6.2],[106.8,-6.21]]]", "Polygon")),
        True,
    ),
    "geojson_unknown_type": (lambda: ("r.geojson", _geojson("[106.8,-6.2]", "Circle")), True),
    "geojson_features_not_list": (lambda: ("r.geojson", b'{"type": "FeatureCollection", "features": {"a": 1}}'), True),
    "geojson_array_root": (lambda: ("r.geojson", b"[1, 2, 3]"), True),
    "geojson_truncated": (lambda: ("r.geojson", _geojson("[106.8, -6.2]")[:60]), True),
    "geojson_utf16": (lambda: ("r.geojson", _geojson("[106.82, -6.205]").decode().encode("utf-16")), False),
    "geojson_deep_nesting": (lambda: ("r.geojson", b'{"type": "Feature", "geometry": ' + b"[" * 100_000), True),
    "gpkg_truncated": (lambda: ("r.gpkg", (b := _gpkg_bytes(_points(50)))[: len(b) // 2]), True),
    "gpkg_empty_layer": (lambda: ("r.gpkg", _gpkg_bytes(_points().iloc[:0])), True),
    "gpkg_lines": (lambda: ("r.gpkg", _gpkg_bytes(corner("roads").head(5).assign(category="blocked_drain"))), True),
    "gpkg_named_csv": (lambda: ("r.csv", _gpkg_bytes(_points())), True),
    "raster_as_reports": (lambda: ("r.gpkg", (SAMPLE_AREA / "flood_current.tif").read_bytes()), True),
    "zip_truncated": (
        lambda: ("r.zip", (z := _zip({"r.csv": csv_rows((LON, LAT, "a")).encode() * 50}))[: len(z) // 2]),
        True,
    ),
    "zip_bomb_lite": (lambda: ("r.zip", _zip({"r.csv": HEADER.encode() + b"0" * 30_000_000})), True),
    "zip_lying_size": (lambda: ("r.zip", _lying_zip()), True),
    "zip_empty": (lambda: ("r.zip", _zip({})), True),
    "zip_path_traversal": (lambda: ("r.zip", _zip({"../../evil.csv": csv_rows((LON, LAT, "a")).encode()})), True),
    "zip_nested_zip": (
        lambda: ("r.zip", _zip({"inner.zip": _zip({"r.csv": csv_rows((LON, LAT, "a")).encode()})})),
        True,
    ),
    "zip_shp_without_dbf": (lambda: ("r.zip", _zip({"r.shp": b"\x00\x00\x27\x0a" + b"\x00" * 96})), True),
    "xlsx_truncated": (lambda: ("r.xlsx", (x := _xlsx())[: len(x) // 2]), True),
    "xlsx_xxe": (lambda: ("r.xlsx", _xlsx({"xl/worksheets/sheet1.xml": XXE})), True),
    "xlsx_without_workbook": (lambda: ("r.xlsx", _zip({"hello.txt": b"hi"})), True),
    "no_extension": (lambda: ("reports", csv_rows((LON, LAT, "a")).encode()), False),
    "json_wrong_types": (lambda: ("r.json", json.dumps({"type": 5, "features": "x"}).encode()), True),
}
