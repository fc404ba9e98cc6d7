"""How current each input is, read from the data itself (never the file's modification time: a copy or a
checkout makes every file look new).

* OSM files: the replication timestamp in the file header (``osmosis_replication_timestamp``, or the
  ``timestamp`` of an .osm XML root), else the newest element ``timestamp``.
* GeoTIFF: ``TIFFTAG_DATETIME``; other rasters and vectors: a date in GDAL metadata (``DATE``,
  ``CREATION_DATE``, ``TIFFTAG_DATETIME``).
* GeoPackage: ``gpkg_metadata`` dates (ISO 19115 ``dateStamp`` / ``date``), else ``gpkg_contents.last_change``
  (written by the tool that made the layer, not the file system).

An input older than ``max_age_days`` (:data:`layers.settings.STALE_INPUT_DAYS`) is flagged ``stale``; one
whose date cannot be read says so (``date`` None, ``how`` "no date in the data") rather than guessing.
"""

from __future__ import annotations

import bz2
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from layers.settings import STALE_INPUT_DAYS

_ISO = re.compile(rb'timestamp="(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"')
_DATE = re.compile(r"(\d{4})[-:/](\d\d)[-:/](\d\d)")


def input_date(path: str | Path) -> tuple[str | None, str]:
    """``(ISO date or None, how it was read)`` for one input file."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".osm", ".osm.bz2", ".pbf", ".osm.pbf")):
        return _osm_date(path)
    if name.endswith(".gpkg"):
        return _gpkg_date(path)
    return _gdal_date(path)


def input_dates(paths: dict[str, Path], *, max_age_days: float = STALE_INPUT_DAYS, today=None) -> list[dict]:
    """One row per input: ``layer, file, date, how, age_days, stale``."""
    today = today or datetime.now(UTC).date()
    rows = []
    for name, path in paths.items():
        date, how = input_date(path)
        age = (today - datetime.fromisoformat(date[:10]).date()).days if date else None
        stale = age is not None and age > max_age_days
        rows.append({"layer": name, "file": Path(path).name, "date": date, "how": how, "age_days": age, "stale": stale})
    return rows


def _osm_date(path: Path) -> tuple[str | None, str]:
    try:
        import osmium

        header = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            stamp = header.header().get("osmosis_replication_timestamp") or header.header().get("timestamp")
        finally:
            header.close()
        if stamp:
            return stamp[:10], "OSM replication timestamp"
    except (ImportError, RuntimeError):
        pass
    if path.name.lower().endswith((".osm", ".osm.bz2")):
        newest = b""
        opener = bz2.open if path.name.lower().endswith(".bz2") else open
        with opener(path, "rb") as f:
            while chunk := f.read(1 << 22):
                found = _ISO.findall(chunk)
                if found:
                    newest = max(newest, max(found))
        return (newest.decode()[:10], "newest OSM element") if newest else (None, "no date in the data")
    return _pbf_newest(path)


def _pbf_newest(path: Path) -> tuple[str | None, str]:
    try:
        import osmium
    except ImportError:
        return None, "no date in the data"

    class Newest(osmium.SimpleHandler):
        def __init__(self) -> None:
            super().__init__()
            self.t: datetime | None = None

        def _see(self, o) -> None:
            ts = o.timestamp
            if ts is not None and (self.t is None or ts > self.t):
                self.t = ts

        node = way = relation = _see

    h = Newest()
    h.apply_file(str(path))
    return (h.t.date().isoformat(), "newest OSM element") if h.t else (None, "no date in the data")


def _gpkg_date(path: Path) -> tuple[str | None, str]:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "gpkg_metadata" in tables:
                for (text,) in con.execute("SELECT metadata FROM gpkg_metadata"):
                    m = re.search(r"<(?:gco:)?(?:Date|DateTime)>\s*(\d{4}-\d\d-\d\d)", text or "")
                    if m:
                        return m.group(1), "GeoPackage metadata date"
            row = con.execute("SELECT max(last_change) FROM gpkg_contents").fetchone()
    except sqlite3.Error:
        return None, "no date in the data"
    return (row[0][:10], "GeoPackage last_change") if row and row[0] else (None, "no date in the data")


def _gdal_date(path: Path) -> tuple[str | None, str]:
    import rasterio

    try:
        with rasterio.open(path) as src:
            tags = src.tags()
    except rasterio.errors.RasterioIOError:
        return None, "no date in the data"
    for key in ("TIFFTAG_DATETIME", "DATE", "CREATION_DATE", "ACQUISITION_DATE"):
        m = _DATE.search(tags.get(key) or "")
        if m:
            how = "TIFF DateTime tag" if key == "TIFFTAG_DATETIME" else f"raster metadata {key}"
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}", how
    return None, "no date in the data"


def newest_report_per_unit(reports, units, *, limit: int = 50) -> list[dict]:
    """The date of the newest published report in each neighbourhood that has one (``name``, ``date``,
    ``reports``), newest first; ``reports`` is the build's ``field_reports`` layer (public points)."""
    import pandas as pd

    if reports is None or units is None or not len(reports) or "observed_at" not in reports.columns:
        return []
    pts = reports.geometry.representative_point()
    pts = pts.to_crs(units.crs) if pts.crs is not None and units.crs is not None else pts
    r_idx, u_idx = units.sindex.query(pts.to_numpy(), predicate="within")
    if not len(r_idx):
        return []
    when = pd.to_datetime(reports["observed_at"].to_numpy()[r_idx], errors="coerce", utc=True, format="mixed")
    frame = pd.DataFrame({"unit": u_idx, "when": when}).dropna()
    agg = frame.groupby("unit")["when"].agg(["max", "size"]).sort_values("max", ascending=False).head(limit)
    names = units["name"].astype("string").to_numpy() if "name" in units.columns else units.index.astype(str)
    return [
        {"name": str(names[u]), "date": m.date().isoformat(), "reports": int(n)}
        for u, m, n in zip(agg.index, agg["max"], agg["size"], strict=True)
    ]


def area_input_dates(area, *, max_age_days: float = STALE_INPUT_DAYS) -> list[dict]:
    """:func:`input_dates` of every input file of ``area`` (a :class:`~layers.area.Area`), for build metadata."""
    paths = {
        "buildings": area.buildings_path,
        "roads": area.roads_path,
        "facilities": area.facilities_path,
        "osm": area.osm_path,
        **{f"hazard: {h.title}": h.path for h in area.hazards},
        **({"population": area.population.path} if area.population is not None else {}),
        **{f"boundaries: {b.title}": b.path for b in area.boundaries},
    }
    return input_dates(
        {k: Path(v) for k, v in paths.items() if v is not None and Path(v).exists()}, max_age_days=max_age_days
    )
