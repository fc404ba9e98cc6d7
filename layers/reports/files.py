"""Reading report uploads safely: format sniffing, CSV/XLSX/GIS readers in batches, zip checks.

Every reader yields batches of raw rows under canonical names (see
:mod:`layers.reports.columns`); nothing is validated here. Zip archives are
checked for bombs, escaping paths and symlinks before anything is extracted.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from layers.errors import InvalidInputError, TooLargeError
from layers.reports.columns import canonical_frame

BATCH_ROWS = 20_000
# Zip limits: declared uncompressed total, per-member compression ratio, member count.
ZIP_MAX_TOTAL = 512 * 1024 * 1024
ZIP_MAX_RATIO = 200
ZIP_MAX_MEMBERS = 2000
_EXPECTED_FORMAT = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".json": "geojson",
    ".geojson": "geojson",
    ".gpkg": "gpkg",
    ".zip": "zip",
    ".xlsx": "xlsx",
    ".shp": "shp",
}
_FORMAT_NAMES = {
    "shp": "a Shapefile",
    "csv": "CSV text",
    "geojson": "GeoJSON",
    "gpkg": "a GeoPackage",
    "zip": "a zip archive",
    "xlsx": "an Excel workbook",
}


def sniff_format(path: Path, *, name: str | None = None) -> str:
    """The format of a file from its first bytes, checked against the extension of ``name``.

    Raises InvalidInputError when the content does not match the name
    (e.g. a zip archive called ``reports.csv``).
    """
    name = name or path.name
    with open(path, "rb") as f:
        head = f.read(4096)
    if not head:
        raise InvalidInputError(f"{name} is empty")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
        except zipfile.BadZipFile as exc:
            raise InvalidInputError(f"{name} looks like a zip archive but cannot be opened: {exc}") from exc
        found = "xlsx" if "xl/workbook.xml" in names else "zip"
    elif head.startswith(b"SQLite format 3\x00"):
        found = "gpkg"
    elif head.startswith(b"\x00\x00\x27\x0a"):
        found = "shp"
    elif b"\x00" in head:
        raise InvalidInputError(
            f"{name} is a binary file of an unknown kind; upload CSV, XLSX, GeoJSON, GeoPackage or a zipped Shapefile"
        )
    else:
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        found = "geojson" if stripped[:1] in (b"{", b"[") else "csv"
    expected = _EXPECTED_FORMAT.get(Path(name).suffix.lower())
    if expected and expected != found:
        raise InvalidInputError(
            f"{name} does not contain {_FORMAT_NAMES[expected]}: its content looks like {_FORMAT_NAMES[found]}. "
            "Rename the file to match its content or export it again."
        )
    return found


def iter_raw_batches(
    path: str | Path, *, name: str | None = None, batch_rows: int = BATCH_ROWS
) -> Iterator[tuple[pd.DataFrame, str | None]]:
    """Raw canonical batches (see :func:`canonical_frame`) of any supported file, streamed."""
    path = Path(path)
    name = name or path.name
    fmt = sniff_format(path, name=name)
    if fmt == "csv":
        yield from _csv_batches(path, name, batch_rows)
    elif fmt == "xlsx":
        check_zip(path, name=name)
        yield from _xlsx_batches(path, name, batch_rows)
    elif fmt == "shp" and not path.with_suffix(".dbf").exists():
        raise InvalidInputError(f"{name}: a Shapefile needs its .shx, .dbf and .prj; upload them together in one .zip")
    elif fmt in ("geojson", "gpkg", "shp"):
        yield from _vector_batches(path, name, batch_rows)
    else:
        with tempfile.TemporaryDirectory(prefix="geoapp-zip-") as tmp:
            inner = extract_dataset(path, Path(tmp), name=name)
            yield from iter_raw_batches(inner, name=f"{name}:{inner.name}", batch_rows=batch_rows)


def _csv_batches(path: Path, name: str, batch_rows: int) -> Iterator[tuple[pd.DataFrame, str | None]]:
    raw = path.open("rb")
    head = raw.read(65536)
    raw.seek(0)
    encoding = "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the buffer's end
            encoding = "cp1252"
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    sample = head.decode("utf-8", errors="replace").splitlines()[0] if head else ""
    delimiter = max([",", ";", "\t"], key=sample.count)
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInputError(f"{name} has no header row") from None
    except csv.Error as exc:
        raise InvalidInputError(f"{name}: the header row cannot be read as CSV ({exc})") from exc
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        dups = sorted({h for h in header if header.count(h) > 1})
        raise InvalidInputError(f"{name}: column name(s) {dups} appear more than once in the header")
    width = len(header)
    with text:
        buf: list[list[str]] = []
        bad: list[dict] = []
        rownums: list[int] = []
        rowno = 0
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                rowno += 1
                raise InvalidInputError(f"{name}: record {rowno} cannot be read as CSV ({exc})") from exc
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            rowno += 1
            if len(rec) != width:
                bad.append({"row": rowno, "error": f"has {len(rec)} fields but the header has {width}"})
                continue
            buf.append(rec)
            rownums.append(rowno)
            if len(buf) >= batch_rows:
                yield _frame_from_rows(header, buf, rownums, bad)
                buf, rownums, bad = [], [], []
        if buf or bad:
            yield _frame_from_rows(header, buf, rownums, bad)


def _frame_from_rows(header, rows, rownums, bad) -> tuple[pd.DataFrame, str | None]:
    df = pd.DataFrame(rows, columns=header, dtype=object)
    out, flavour = canonical_frame(df)
    out["row"] = np.asarray(rownums, dtype="int64")
    if bad:  # rows the CSV reader could not split: carry them as rows that fail with that message
        out.attrs["row_errors"] = bad
    return out, flavour


def _xlsx_batches(path: Path, name: str, batch_rows: int) -> Iterator[tuple[pd.DataFrame, str | None]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise InvalidInputError(f"{name} cannot be read as an Excel workbook: {exc}") from exc
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if not header:
            raise InvalidInputError(f"{name}: the first sheet has no header row")
        header = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        buf, nums, rowno = [], [], 0
        for rec in it:
            if rec is None or all(v is None or v == "" for v in rec):
                continue
            rowno += 1
            buf.append([_cell_text(v) for v in rec[: len(header)]] + [""] * (len(header) - len(rec)))
            nums.append(rowno)
            if len(buf) >= batch_rows:
                yield _frame_from_rows(header, buf, nums, [])
                buf, nums = [], []
        if buf:
            yield _frame_from_rows(header, buf, nums, [])
    finally:
        wb.close()


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def _vector_batches(path: Path, name: str, batch_rows: int) -> Iterator[tuple[pd.DataFrame, str | None]]:
    import pyogrio

    layer = None
    try:
        layers = pyogrio.list_layers(path)
        names = [str(n) for n in layers[:, 0]]
        layer = "reports" if "reports" in names else names[0] if names else None
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # GDAL's errors for unreadable files
        raise InvalidInputError(f"{name} cannot be read as a GIS layer: {exc}") from exc
    if gdf.crs is None:
        raise InvalidInputError(f"{name} has no coordinate reference system; add a .prj (Shapefile) or set one")
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    geoms = gdf.geometry.to_numpy()
    props = gdf.drop(columns=gdf.geometry.name)
    for c in props.columns:
        col = props[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            props[c] = col.map(lambda t: t.isoformat() if pd.notna(t) else "")
        else:
            props[c] = col.astype("string").fillna("")
    for start in range(0, max(len(gdf), 1), batch_rows):
        part = props.iloc[start : start + batch_rows]
        if part.empty:
            return
        out, flavour = canonical_frame(part, first_row=start + 1, has_geometry=True)
        out["geometry"] = list(geoms[start : start + batch_rows])
        yield out, flavour


def check_zip(path: Path, *, name: str | None = None) -> list[zipfile.ZipInfo]:
    """Refuse zip bombs and members whose paths escape the archive; return the members."""
    name = name or path.name
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except zipfile.BadZipFile as exc:
        raise InvalidInputError(f"{name} is not a readable zip archive: {exc}") from exc
    if len(infos) > ZIP_MAX_MEMBERS:
        raise TooLargeError(f"{name} holds {len(infos)} files; the limit is {ZIP_MAX_MEMBERS}")
    total = 0
    for info in infos:
        member = info.filename
        parts = Path(member.replace("\\", "/")).parts
        if member.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", member):
            raise InvalidInputError(f"{name}: member {member!r} points outside the archive; refusing to read it")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise InvalidInputError(f"{name}: member {member!r} is a symbolic link; refusing to read it")
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
            raise TooLargeError(
                f"{name}: member {member!r} expands {info.file_size // max(info.compress_size, 1)}× "
                f"(limit {ZIP_MAX_RATIO}×); this looks like a zip bomb"
            )
    if total > ZIP_MAX_TOTAL:
        raise TooLargeError(f"{name} expands to {total / 1e6:.0f} MB; the limit is {ZIP_MAX_TOTAL / 1e6:.0f} MB")
    return infos


def extract_dataset(path: Path, dest: Path, *, name: str | None = None) -> Path:
    """Extract the one dataset of a zip (a Shapefile with its sidecars, or one CSV/XLSX/GeoJSON/GPKG) safely."""
    name = name or path.name
    infos = [i for i in check_zip(path, name=name) if not i.is_dir() and not Path(i.filename).name.startswith(".")]
    infos = [i for i in infos if "__MACOSX" not in i.filename]
    shp = [i for i in infos if i.filename.lower().endswith(".shp")]
    data = [i for i in infos if Path(i.filename).suffix.lower() in (".csv", ".xlsx", ".geojson", ".json", ".gpkg")]
    if len(shp) > 1:
        raise InvalidInputError(f"{name} holds {len(shp)} Shapefiles; zip one layer per upload")
    if shp:
        stem = shp[0].filename[: -len(".shp")]
        members = [i for i in infos if i.filename.rsplit(".", 1)[0] == stem]
        if not any(i.filename.lower().endswith(".dbf") for i in members):
            raise InvalidInputError(f"{name}: the Shapefile {shp[0].filename} has no .dbf beside it")
    elif len(data) == 1:
        members = data
    else:
        raise InvalidInputError(
            f"{name} must hold one Shapefile (.shp, .shx, .dbf, .prj) or one CSV/XLSX/GeoJSON/GPKG file"
        )
    out = None
    with zipfile.ZipFile(path) as z:
        for info in members:
            target = dest / Path(info.filename.replace("\\", "/")).name  # flat: never a path from the archive
            written = 0
            with z.open(info) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size or written > ZIP_MAX_TOTAL:
                        raise TooLargeError(f"{name}: member {info.filename!r} is larger than it claims")
                    dst.write(chunk)
            if out is None or target.suffix.lower() == ".shp":
                out = target
    return out
