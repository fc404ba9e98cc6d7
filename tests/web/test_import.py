"""POST /api/reports/import and `geoapp reports import`: formats, row errors, idempotency, atomicity, unsafe files."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geoapp.models import Report, Review
from tests.helpers import bearer

CSV = (
    "category,lon,lat,description\n"
    "blocked_drain,106.83,-6.2,one\n"
    "need_food,106.84,-6.21,two\n"
    "volcano,106.84,-6.21,bad\n"
    "blocked_drain,106.83,95,bad lat\n"
)


def _count(app, model=Report) -> int:
    with Session(app.extensions["geoapp.db"]) as s:
        return s.scalar(select(func.count()).select_from(model))


def _upload(client, token, data: bytes, name: str, **form):
    return client.post(
        "/api/reports/import",
        data={"file": (io.BytesIO(data), name), **form},
        headers=bearer(token),
        content_type="multipart/form-data",
    )


def test_import_csv_twice_adds_nothing_the_second_time(storage_app, storage_client, make_user):
    _, token = make_user(storage_app, "volunteer")
    first = _upload(storage_client, token, CSV.encode(), "reports.csv")
    assert first.status_code == 200, first.data
    body = first.json
    assert body["accepted"] == 2
    assert body["duplicates"] == 0
    assert [e["row"] for e in body["rejected"]] == [3, 4]
    assert "unknown category 'volcano'" in body["rejected"][0]["error"]
    second = _upload(storage_client, token, CSV.encode(), "again.csv")
    assert second.json["accepted"] == 0
    assert second.json["duplicates"] == 2
    assert _count(storage_app) == 2


def test_kobo_export_uses_submission_uuids_and_source(storage_app, storage_client, make_user):
    _, mod = make_user(storage_app, "moderator")
    kobo = (
        "_uuid;group/category;_where_latitude;_where_longitude;_where_precision;_submission_time\n"
        "0b4a1f3e-2c5d-4e6f-8a9b-1c2d3e4f5a6b;need_water;-6.2;106.83;8;2024-02-01T02:00:00\n"
    )
    assert _upload(storage_client, mod, kobo.encode(), "kobo.csv").json["accepted"] == 1
    fc = json.loads(storage_client.get("/api/reports", headers=bearer(mod)).data)
    props = fc["features"][0]["properties"]
    assert fc["features"][0]["id"] == "0b4a1f3e-2c5d-4e6f-8a9b-1c2d3e4f5a6b"
    assert props["source"] == "kobo"
    assert props["accuracy_m"] == 8.0
    assert props["status"] == "published"  # a moderator's import is published, with a history entry
    assert _count(storage_app, Review) == 1


def test_category_for_the_whole_file(app, client, make_user):
    _, token = make_user(app, "volunteer")
    resp = _upload(client, token, b"lon,lat\n106.83,-6.2\n", "pts.csv", category="blocked_drain")
    assert resp.json["accepted"] == 1


def test_a_file_level_error_stores_nothing(app, client, make_user):
    """A CSV that breaks mid-way (a field over the CSV size limit) is refused as a whole: nothing half-stored."""
    _, token = make_user(app, "volunteer")
    good = "".join(f"blocked_drain,106.83,-6.2,row {i}\n" for i in range(100))
    broken = "category,lon,lat,description\n" + good + 'blocked_drain,106.83,-6.2,"' + "x" * 200_000 + '"\n'
    resp = _upload(client, token, broken.encode(), "broken.csv")
    assert resp.status_code == 400
    assert "record 101 cannot be read" in resp.json["error"]["message"]
    assert _count(app) == 0


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("reports.csv", b"PK\x03\x04" + b"\x00" * 100, 400, "cannot be opened"),
        ("reports.gpkg", b'{"type": "FeatureCollection", "features": []}', 400, "does not contain a GeoPackage"),
        ("reports.csv", b"", 400, "is empty"),
        ("reports.geojson", b'{"type": "FeatureCollection", "features": [', 400, "cannot be read as a GIS layer"),
        ("reports.xlsx", b"not a workbook", 400, "does not contain an Excel workbook"),
    ],
)
def test_bad_files_are_clear_4xx(app, client, make_user, name, data, status, message):
    _, token = make_user(app, "volunteer")
    resp = _upload(client, token, data, name)
    assert resp.status_code == status, resp.data
    assert message in resp.json["error"]["message"]


def test_zip_bomb_is_413_and_escaping_path_is_400(app, client, make_user):
    _, token = make_user(app, "volunteer")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("r.csv", b"0" * (60 * 1024 * 1024))
    resp = _upload(client, token, bomb.getvalue(), "bomb.zip")
    assert resp.status_code == 413
    assert "zip bomb" in resp.json["error"]["message"]
    escape = io.BytesIO()
    with zipfile.ZipFile(escape, "w") as z:
        z.writestr("../evil/r.csv", "category,lon,lat\n")
    resp = _upload(client, token, escape.getvalue(), "escape.zip")
    assert resp.status_code == 400
    assert "outside the archive" in resp.json["error"]["message"]


def test_oversized_upload_is_413(app, client, make_user):
    _, token = make_user(app, "volunteer")
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    resp = _upload(client, token, b"x" * 20_000, "big.csv")
    assert resp.status_code == 413


def test_import_needs_a_user_and_a_file(app, client, make_user):
    resp = client.post("/api/reports/import", data={"file": (io.BytesIO(CSV.encode()), "r.csv")})
    assert resp.status_code == 401
    _, token = make_user(app, "volunteer")
    resp = client.post("/api/reports/import", data={}, headers=bearer(token))
    assert resp.status_code == 400
    assert "'file'" in resp.json["error"]["message"]


def test_cli_import_prints_the_summary_and_is_idempotent(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from geoapp.cli import main

    monkeypatch.setenv("GEOAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    path = tmp_path / "r.csv"
    path.write_text(CSV)
    runner = CliRunner()
    first = runner.invoke(main, ["reports", "import", str(path)])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output.strip().splitlines()[-1])
    assert summary["accepted"] == 2
    assert len(summary["rejected"]) == 2
    second = runner.invoke(main, ["reports", "import", str(path)])
    assert json.loads(second.output.strip().splitlines()[-1])["duplicates"] == 2
    bad = runner.invoke(main, ["reports", "import", str(path), "--user", "nobody"])
    assert bad.exit_code != 0
    assert "no user named 'nobody'" in bad.output


def _xlsx(rows: list[list]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_over_http_is_imported(app, client, make_user):
    """The upload is saved without a suffix; the workbook is still read (it used to fail every time)."""
    _, token = make_user(app, "volunteer")
    data = _xlsx([["category", "lon", "lat", "description"], ["need_water", 106.83, -6.2, "sumur kering"]])
    resp = _upload(client, token, data, "survey.xlsx")
    assert resp.status_code == 200, resp.data
    assert resp.json["accepted"] == 1
    assert resp.json["rejected"] == []


def test_short_rows_and_encodings_are_noted_once_in_the_summary(app, client, make_user):
    """ODK Central's short rows: read, one note; a UTF-16 CSV is read, not refused as binary."""
    _, token = make_user(app, "volunteer")
    short = "category,lon,lat,description,ReviewState\n" + "".join(
        f"blocked_drain,106.83,-6.2,drain {i}\n" for i in range(3)
    )
    resp = _upload(client, token, short.encode(), "odk.csv")
    assert resp.json["accepted"] == 3
    assert resp.json["rejected"] == []
    assert resp.json["notes"] == [
        "3 row(s) have fewer fields than the header (5); their missing trailing cells were read as empty"
    ]
    utf16 = "category\tlon\tlat\tdescription\nneed_food\t106.84\t-6.21\tçà\n".encode("utf-16")
    resp = _upload(client, token, utf16, "unicode.csv")
    assert resp.status_code == 200, resp.data
    assert resp.json["accepted"] == 1
    assert resp.json["notes"] == ["the file was read as UTF-16"]


def test_import_errors_name_the_upload_not_server_paths(app, client, make_user):
    _, token = make_user(app, "volunteer")
    resp = _upload(client, token, b'{"type": "FeatureCollection", "features": [', "mine.geojson")
    assert resp.status_code == 400
    message = resp.json["error"]["message"]
    assert message.startswith("mine.geojson cannot be read as a GIS layer")
    assert "geoapp-import" not in message
    assert "/upload" not in message
    shp = io.BytesIO()
    with zipfile.ZipFile(shp, "w") as z:
        for ext in ("shp", "shx", "dbf"):
            z.writestr(f"roads.{ext}", b"\x00\x00\x27\x0a" + b"\x00" * 50)
    resp = _upload(client, token, shp.getvalue(), "mine.zip")
    assert resp.status_code == 400
    assert resp.json["error"]["message"].startswith("mine.zip:roads.shp cannot be read as a GIS layer")
    assert "geoapp-zip" not in resp.json["error"]["message"]


def _bad_crc_zip() -> bytes:
    """A zip whose member's stored checksum does not match its content."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("r.csv", "category,lon,lat\nneed_food,106.8,-6.2\n")
    data = bytearray(buf.getvalue())
    for sig, crc_at in ((b"PK\x03\x04", 14), (b"PK\x01\x02", 16)):
        i = data.find(sig)
        data[i + crc_at] ^= 0xFF
    return bytes(data)


def test_cli_import_bad_files_is_one_line_never_a_traceback(tmp_path, monkeypatch):
    """A lying zip and an XXE workbook: one line, exit 1; NaN coordinates: only those rows rejected."""
    from click.testing import CliRunner

    from geoapp.cli import main

    monkeypatch.setenv("GEOAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    (tmp_path / "lie.zip").write_bytes(_bad_crc_zip())
    xxe = _xlsx([["category", "lon", "lat", "description"], ["need_food", 106.8, -6.2, "XXE"]])
    with zipfile.ZipFile(io.BytesIO(xxe)) as src, zipfile.ZipFile(tmp_path / "xxe.xlsx", "w") as dst:
        for n in src.namelist():
            body = src.read(n)
            if n == "xl/worksheets/sheet1.xml":
                body = b'<!DOCTYPE w [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + body.replace(b">XXE<", b">&e;<")
            dst.writestr(n, body)
    runner = CliRunner()
    for name, message in [
        ("lie.zip", "member 'r.csv' is not what the archive says it is"),
        ("xxe.xlsx", "declares an XML document type or entities"),
    ]:
        result = runner.invoke(main, ["reports", "import", str(tmp_path / name)])
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert "Traceback" not in result.output
    nan = tmp_path / "nan.csv"
    nan.write_text('wkt,category\n"POINT (106.8 -6.2)",need_food\n"POINT (nan nan)",need_food\n')
    result = runner.invoke(main, ["reports", "import", str(nan)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["accepted"] == 1
    assert [e["row"] for e in summary["rejected"]] == [2]
