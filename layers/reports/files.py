"""Reading report uploads safely: the format sniffed from the content, then the reader of that format in batches.

Every reader (:mod:`~layers.reports.csvfile`, :mod:`~layers.reports.spreadsheet`,
GIS layers here) yields batches of raw rows under canonical names (see
:mod:`layers.reports.columns`); nothing is validated here. Zip archives are
checked (:mod:`layers.reports.archives`) before anything is extracted.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from layers.errors import GeoappError, InvalidInputError
from layers.reports.archives import check_zip, extract_dataset
from layers.reports.columns import canonical_frame, check_column_count
from layers.reports.csvfile import csv_batches, utf16_encoding
from layers.reports.spreadsheet import xlsx_batches

BATCH_ROWS = 20_000
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
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
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
    elif utf16_encoding(head):
        text = head.decode(utf16_encoding(head) or "utf-16", errors="replace").lstrip("\ufeff \t\r\n")
        found = "geojson" if text[:1] in ("{", "[") else "csv"
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
        yield from csv_batches(path, name, batch_rows)
    elif fmt == "xlsx":
        check_zip(path, name=name)
        yield from xlsx_batches(path, name, batch_rows)
    elif fmt == "shp" and not path.with_suffix(".dbf").exists():
        raise InvalidInputError(f"{name}: a Shapefile needs its .shx, .dbf and .prj; upload them together in one .zip")
    elif fmt in ("geojson", "gpkg", "shp"):
        yield from _vector_batches(path, name, batch_rows)
    else:
        with tempfile.TemporaryDirectory(prefix="geoapp-zip-") as tmp:
            inner = extract_dataset(path, Path(tmp), name=name)
            yield from iter_raw_batches(inner, name=f"{name}:{inner.name}", batch_rows=batch_rows)


def _vector_batches(path: Path, name: str, batch_rows: int) -> Iterator[tuple[pd.DataFrame, str | None]]:
    import pyogrio

    layer = None
    try:
        layers = pyogrio.list_layers(path)
        names = [str(n) for n in layers[:, 0]]
        layer = "reports" if "reports" in names else names[0] if names else None
        check_column_count(len(pyogrio.read_info(path, layer=layer)["fields"]), name)
        with np.errstate(invalid="ignore"):  # NaN coordinates: those rows fail in validation, not here
            gdf = pyogrio.read_dataframe(path, layer=layer)
    except GeoappError:
        raise
    except Exception as exc:  # GDAL's errors for unreadable files (their text names our temporary path)
        reason = str(exc).replace(str(path), name).replace(f"{path.parent}{os.sep}", "")
        raise InvalidInputError(f"{name} cannot be read as a GIS layer: {reason}") from exc
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
