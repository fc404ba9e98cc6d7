"""The open building datasets in their published formats, as raw building frames (EPSG:4326).

* **Google Open Buildings** (v3, CSV, optionally gzipped): ``latitude, longitude, area_in_meters,
  confidence, geometry, full_plus_code``; ``geometry`` is a WKT polygon in lon/lat. Footprints with
  ``confidence`` below a threshold are dropped (:data:`layers.settings.OPEN_BUILDINGS_MIN_CONFIDENCE`);
  Google's own guidance is to pick it for the precision wanted (≥ 0.65 to 0.75).
* **Microsoft Global ML Building Footprints**: GeoJSON Lines, one ``Feature`` per line with
  ``properties`` ``height`` and ``confidence`` (-1 = unknown). Published as ``.geojsonl`` or as
  gzipped GeoJSON Lines named ``.csv.gz``; both are read by GDAL's GeoJSONSeq driver.
* **Overture Maps buildings** (GeoParquet): ``id`` (GERS id), WKB ``geometry``, ``names.primary``,
  ``class``, ``subtype``, ``num_floors``, ``height`` ...; read with pyarrow, column by column.

Each reader returns the columns the buildings loader understands (``building_id``,
``building_type``, ``levels``, ``name``) plus the dataset's own (``confidence``, ``height``,
``area_in_meters``, ``full_plus_code``, ``overture_id``). ``building_id`` is the feature's row in the
file (1-based, counted before any filter), so ids do not change with the threshold.
:func:`iter_dataset` yields the same frames in row batches for the chunked analyses.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.errors import InvalidInputError, UnreadableFileError
from layers.settings import OPEN_BUILDINGS_MIN_CONFIDENCE

GOOGLE_COLUMNS = ("latitude", "longitude", "area_in_meters", "confidence", "geometry", "full_plus_code")
WGS84 = "EPSG:4326"
BATCH_ROWS = 250_000


def detect_dataset(path: str | Path) -> str | None:
    """``"google"``, ``"microsoft"`` or ``"overture"`` when ``path`` is in one of their formats, else None."""
    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        return None
    if name.endswith((".parquet", ".geoparquet")):
        return "overture"
    if name.endswith((".geojsonl", ".geojsonl.gz", ".geojsons", ".geojsonseq")):
        return "microsoft"
    if name.endswith((".csv", ".csv.gz")):
        first = _first_line(path)
        if first.lstrip().startswith("{"):
            return "microsoft"  # Microsoft's .csv.gz files hold GeoJSON Lines
        header = {h.strip().strip('"').lower() for h in first.split(",")}
        if {"confidence", "geometry", "area_in_meters"} <= header:
            return "google"
    return None


def _first_line(path: Path) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            return f.readline(1_000_000)
    except OSError as exc:  # a .gz that is not gzip
        raise UnreadableFileError(f"cannot read {path}: {exc}") from None


def read_dataset(path: str | Path, *, kind: str | None = None, min_confidence: float | None = None) -> gpd.GeoDataFrame:
    """The whole file as one raw building frame (see the module docstring)."""
    parts = list(iter_dataset(path, kind=kind, min_confidence=min_confidence, batch_rows=None))
    if len(parts) == 1:
        return parts[0]
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)


def iter_dataset(
    path: str | Path,
    *,
    kind: str | None = None,
    min_confidence: float | None = None,
    batch_rows: int | None = BATCH_ROWS,
) -> Iterator[gpd.GeoDataFrame]:
    """Raw building frames of at most ``batch_rows`` rows each (None: one frame), in file order."""
    path = Path(path)
    kind = kind or detect_dataset(path)
    if kind == "google":
        conf = OPEN_BUILDINGS_MIN_CONFIDENCE if min_confidence is None else float(min_confidence)
        yield from _google(path, conf, batch_rows)
    elif kind == "microsoft":
        yield from _microsoft(path, min_confidence, batch_rows)
    elif kind == "overture":
        yield from _overture(path, batch_rows)
    else:
        raise InvalidInputError(f"{path} is not a Google Open Buildings, Microsoft or Overture buildings file")


def _google(path: Path, min_confidence: float, batch_rows: int | None) -> Iterator[gpd.GeoDataFrame]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if not 0.0 <= min_confidence <= 1.0:
        raise InvalidInputError(f"confidence threshold {min_confidence} must be between 0 and 1")
    read = pacsv.ReadOptions(block_size=1 << 24)
    convert = pacsv.ConvertOptions(
        column_types={"confidence": pa.float64(), "area_in_meters": pa.float64(), "geometry": pa.string()},
        include_columns=["area_in_meters", "confidence", "geometry", "full_plus_code"],
    )
    try:
        reader = pacsv.open_csv(
            pa.input_stream(str(path), compression="detect"), read_options=read, convert_options=convert
        )
    except (pa.ArrowInvalid, KeyError) as exc:
        raise UnreadableFileError(
            f"{path} is not a Google Open Buildings CSV ({', '.join(GOOGLE_COLUMNS)}): {exc}"
        ) from None
    seen = 0
    pending: list[pd.DataFrame] = []
    rows = 0
    for batch in reader:
        df = batch.to_pandas()
        df.insert(0, "building_id", np.arange(seen + 1, seen + len(df) + 1, dtype=np.int64))
        seen += len(df)
        df = df[df["confidence"].to_numpy() >= min_confidence]
        pending.append(df)
        rows += len(df)
        if batch_rows is not None and rows >= batch_rows:
            yield from _google_frames(pd.concat(pending, ignore_index=True), path, batch_rows)
            pending, rows = [], 0
    if pending or seen == 0:
        yield from _google_frames(
            pd.concat(pending, ignore_index=True)
            if pending
            else pd.DataFrame(
                {"building_id": [], "area_in_meters": [], "confidence": [], "geometry": [], "full_plus_code": []}
            ),
            path,
            batch_rows,
        )


def _google_frames(df: pd.DataFrame, path: Path, batch_rows: int | None) -> Iterator[gpd.GeoDataFrame]:
    step = batch_rows or max(len(df), 1)
    for s in range(0, max(len(df), 1), step):
        part = df.iloc[s : s + step]
        try:
            geoms = shapely.from_wkt(part["geometry"].to_numpy(dtype=object))
        except shapely.errors.GEOSException as exc:
            raise UnreadableFileError(f"{path}: a geometry is not WKT: {exc}") from None
        out = part.drop(columns=["geometry"]).reset_index(drop=True)
        out["building_type"] = pd.array([pd.NA] * len(out), dtype="string")
        yield gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, crs=WGS84), crs=WGS84)


def _microsoft(path: Path, min_confidence: float | None, batch_rows: int | None) -> Iterator[gpd.GeoDataFrame]:
    import pyogrio

    source = str(path)
    if path.name.lower().endswith(".gz"):
        source = f"/vsigzip/{path}"
    source = f"GeoJSONSeq:{source}"
    try:
        total = pyogrio.read_info(source)["features"]
    except pyogrio.errors.DataSourceError as exc:
        raise UnreadableFileError(f"{path} is not GeoJSON Lines (one Feature per line): {exc}") from None
    step = batch_rows or max(int(total), 1)
    done = 0
    while True:
        gdf = pyogrio.read_dataframe(source, skip_features=done, max_features=step)
        if not len(gdf) and done:
            return
        gdf.insert(0, "building_id", np.arange(done + 1, done + len(gdf) + 1, dtype=np.int64))
        done += len(gdf)
        if gdf.crs is None:
            gdf = gdf.set_crs(WGS84)
        if min_confidence is not None and "confidence" in gdf.columns:
            gdf = gdf[gdf["confidence"].to_numpy() >= min_confidence].reset_index(drop=True)
        yield gdf
        if done >= total:
            return


OVERTURE_COLUMNS = ("id", "geometry", "names", "class", "subtype", "num_floors", "height")


def _overture(path: Path, batch_rows: int | None) -> Iterator[gpd.GeoDataFrame]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise UnreadableFileError(f"{path} is not a GeoParquet file: {exc}") from None
    names = pf.schema_arrow.names
    geo = json.loads((pf.schema_arrow.metadata or {}).get(b"geo", b"{}") or b"{}")
    geom_col = geo.get("primary_column", "geometry")
    if geom_col not in names:
        raise InvalidInputError(f"{path} has no geometry column '{geom_col}' (not GeoParquet?)")
    crs = _geoparquet_crs(geo.get("columns", {}).get(geom_col, {}))
    cols = [c for c in names if c in OVERTURE_COLUMNS or c == geom_col]
    done = 0
    for batch in pf.iter_batches(batch_size=batch_rows or max(pf.metadata.num_rows, 1), columns=cols):
        n = batch.num_rows
        geoms = shapely.from_wkb(batch.column(geom_col).to_numpy(zero_copy_only=False))
        data: dict[str, object] = {"building_id": np.arange(done + 1, done + n + 1, dtype=np.int64)}
        if "id" in names:
            data["overture_id"] = pd.array(batch.column("id").to_pylist(), dtype="string")
        btype = _column(batch, "class")
        subtype = _column(batch, "subtype")
        if btype is not None and subtype is not None:
            btype = btype.fillna(subtype)
        data["building_type"] = (
            btype if btype is not None else (subtype if subtype is not None else pd.array([pd.NA] * n, dtype="string"))
        )
        if "num_floors" in names:
            data["levels"] = batch.column("num_floors").to_pandas().astype("float64").to_numpy()
        if "height" in names:
            data["height"] = batch.column("height").to_pandas().astype("float64").to_numpy()
        if "names" in names:
            data["name"] = _primary_names(batch.column("names"))
        done += n
        yield gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def _column(batch, name: str) -> pd.Series | None:
    if name not in batch.schema.names:
        return None
    return batch.column(name).to_pandas().astype("string")


def _primary_names(column) -> pd.Series:
    """``names.primary`` of Overture's ``names`` struct (missing when the struct or the field is null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_struct(column.type) or column.type.get_field_index("primary") < 0:
        return pd.Series(pd.NA, index=range(len(column)), dtype="string")
    return pc.struct_field(column, "primary").to_pandas().astype("string")


def _geoparquet_crs(meta: dict):
    """The column's CRS from GeoParquet metadata (PROJJSON); absent means OGC:CRS84 (lon/lat)."""
    from pyproj import CRS

    crs = meta.get("crs", "missing")
    if crs == "missing":
        return WGS84
    if crs is None:
        raise InvalidInputError(
            "the GeoParquet geometry column has an undefined CRS (crs: null); geoapp never guesses one"
        )
    return CRS.from_json_dict(crs) if isinstance(crs, dict) else CRS.from_user_input(crs)
