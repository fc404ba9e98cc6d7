"""Field reports from uploads and API payloads: parsed into report records with per-row errors.

Readers (:mod:`layers.reports.files`) turn a file (CSV, XLSX, GeoJSON,
GeoPackage, zipped Shapefile, or a Kobo/ODK export of these) into batches of
raw rows under canonical names (:mod:`layers.reports.columns`);
:func:`normalise_reports` validates a batch at once (vectorised), stage by stage
(:mod:`~layers.reports.location`, :mod:`~layers.reports.fields`,
:mod:`~layers.reports.ids`), and returns the good records plus one error per
bad row (its 1-based record number and every reason). Nothing here touches a
database or a web request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import shapely

from layers.errors import InvalidInputError
from layers.reports import fields
from layers.reports.batch import RawBatch
from layers.reports.columns import canonical_frame, check_column_count
from layers.reports.config import ReportConfig
from layers.reports.files import BATCH_ROWS, iter_raw_batches
from layers.reports.ids import report_ids
from layers.reports.location import area_extent, locate, outside_area
from layers.reports.photos import clean_photo

# area_extent and clean_photo are part of this module's public interface (the web layer imports them from here).
__all__ = [
    "REPORT_FIELDS",
    "ParseResult",
    "area_extent",
    "clean_photo",
    "iter_report_batches",
    "normalise_reports",
    "raw_from_geojson",
    "read_reports",
]

REPORT_FIELDS = [
    "id",
    "category",
    "description",
    "severity",
    "observed_at",
    "lon",
    "lat",
    "accuracy_m",
    "altitude_m",
    "geometry_wkt",
    "attributes",
    "source",
    "reporter_name",
    "reporter_contact",
    "outside_area",
    "row",
]


@dataclass
class ParseResult:
    """Good records (columns :data:`REPORT_FIELDS`), per-row errors, in-batch duplicate count and notes.

    ``notes`` are file-level remarks for the import summary (said once, not per row),
    e.g. that short rows were padded or that some rows were not UTF-8.
    """

    records: pd.DataFrame
    errors: list[dict] = field(default_factory=list)
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)


def normalise_reports(
    raw: pd.DataFrame,
    *,
    config: ReportConfig,
    source: str = "import",
    default_category: str | None = None,
    extent=None,
    now: datetime | None = None,
    strict_ids: bool = False,
) -> ParseResult:
    """Validate raw rows (canonical column names, text values) into report records.

    Parameters
    ----------
    raw : DataFrame
        Columns among ``id, category, description, severity, observed_at, lon, lat,
        altitude_m, accuracy_m, wkt, depth_m, reporter_name, reporter_contact, source``,
        optional ``geometry`` (shapely, EPSG:4326), ``attributes`` (dicts) and ``row``
        (1-based record number, for messages).
    config : ReportConfig
        Categories and the outside-area rule.
    extent : shapely geometry, optional
        The area in lon/lat; points outside are rejected or flagged per ``config``.
    strict_ids : bool
        API payloads: an ``id`` must be a UUID. Imports: other ids are hashed to one.

    Returns
    -------
    ParseResult
    """
    b = RawBatch(raw)
    now = now or datetime.now(UTC)
    loc = locate(b)
    cat = fields.categories(b, config, default_category, loc.polygon_type)
    observed = fields.observed_times(b, now)
    nums = fields.measures(b)
    desc = fields.texts(b)
    src = fields.sources(b, source)
    attrs = fields.attributes(b, nums.depth_m)
    ids = report_ids(b, strict=strict_ids)
    outside = outside_area(b, loc, extent, reject=config.outside_area == "reject")
    records = pd.DataFrame(
        {
            "id": ids,
            "category": cat,
            "description": desc,
            "severity": nums.severity,  # float64, NaN = not given (bad values fail the row)
            "observed_at": observed,
            "lon": loc.lon.astype("float64"),
            "lat": loc.lat.astype("float64"),
            "accuracy_m": nums.accuracy_m,
            "altitude_m": nums.altitude_m,
            "geometry_wkt": loc.polygon_wkt(),
            "attributes": attrs,
            "source": src,
            "reporter_name": b.text("reporter_name"),
            "reporter_contact": b.text("reporter_contact"),
            "outside_area": outside,
            "row": b.rows,
        }
    )
    bad, errors = b.failed()
    good = records[~bad]
    dup = good["id"].duplicated(keep="first")
    return ParseResult(good[~dup].reset_index(drop=True), errors, int(dup.sum()), b.notes)


def iter_report_batches(
    path: str | Path,
    *,
    config: ReportConfig,
    name: str | None = None,
    source: str = "import",
    default_category: str | None = None,
    extent=None,
    now: datetime | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[ParseResult]:
    """Validated batches of a report file: Kobo/ODK exports get source ``kobo``/``odk`` unless rows say otherwise."""
    for raw, flavour in iter_raw_batches(path, name=name, batch_rows=batch_rows):
        yield normalise_reports(
            raw,
            config=config,
            source=flavour if flavour and source == "import" else source,
            default_category=default_category,
            extent=extent,
            now=now,
        )


def read_reports(path: str | Path, **kwargs) -> ParseResult:
    """All of a report file at once (see :func:`iter_report_batches`); duplicate ids across batches dropped."""
    parts = list(iter_report_batches(path, **kwargs))
    if not parts:
        return ParseResult(pd.DataFrame(columns=REPORT_FIELDS))
    recs = pd.concat([p.records for p in parts], ignore_index=True)
    dup = recs["id"].duplicated()
    return ParseResult(
        recs[~dup].reset_index(drop=True),
        [e for p in parts for e in p.errors],
        sum(p.duplicates for p in parts) + int(dup.sum()),
        [n for p in parts for n in p.notes],
    )


# ---------------------------------------------------------------------------------------------
# API payloads


def raw_from_geojson(obj) -> pd.DataFrame:
    """A GeoJSON Feature or FeatureCollection (parsed JSON) as raw canonical rows."""
    if not isinstance(obj, dict):
        raise InvalidInputError("the body must be a GeoJSON Feature or FeatureCollection object")
    kind = obj.get("type")
    feats: list | None
    if kind == "Feature":
        feats = [obj]
    elif kind == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list):
            raise InvalidInputError("FeatureCollection.features must be a list")
    else:
        raise InvalidInputError(f"type must be 'Feature' or 'FeatureCollection', not {kind!r}")
    props_list: list[dict] = []
    geoms: list = []
    errors: list[dict] = []
    for i, f in enumerate(feats, start=1):
        props = f.get("properties") if isinstance(f, dict) else None
        props = dict(props) if isinstance(props, dict) else {}
        check_column_count(len(props), f"feature {i}")
        geom = None
        g = f.get("geometry") if isinstance(f, dict) else None
        if not isinstance(f, dict) or f.get("type") != "Feature":
            errors.append({"row": i, "error": "not a GeoJSON Feature"})
        elif g is not None:
            try:
                geom = shapely.from_geojson(json.dumps(g))
            except Exception:  # shapely raises GEOSException for any malformed geometry
                errors.append({"row": i, "error": f"geometry is not valid GeoJSON: {json.dumps(g)[:80]}"})
        attrs = props.pop("attributes", None)
        props.pop("photo", None)
        flat: dict[str, object] = {k: _flat_value(v) for k, v in props.items()}
        flat["__attrs"] = attrs if isinstance(attrs, dict) else {}
        if attrs is not None and not isinstance(attrs, dict):
            errors.append({"row": i, "error": "properties.attributes must be an object"})
        props_list.append(flat)
        geoms.append(geom)
    check_column_count(len({k for p in props_list for k in p} - {"__attrs"}), "the request")
    df = pd.DataFrame(props_list, dtype=object)
    extra = df.pop("__attrs") if "__attrs" in df else pd.Series([{}] * len(df), dtype=object)
    out, _ = canonical_frame(df.fillna(""), has_geometry=True)
    errors += _structured_field_errors(out)
    given = out["attributes"] if "attributes" in out else pd.Series([{}] * len(out), dtype=object)
    out["attributes"] = [{**a, **{str(k): v for k, v in e.items()}} for a, e in zip(given, extra, strict=True)]
    out["geometry"] = geoms
    out.attrs["row_errors"] = errors
    return out


def _flat_value(v) -> str:
    """A property value as text (None as blank); lists and objects keep their JSON, marked."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    return _Structured(v) if isinstance(v, (dict, list)) else str(v)


class _Structured(str):
    """A list or object given for a property: JSON text as an extra attribute, but no report field takes one."""

    def __new__(cls, value: dict | list) -> _Structured:
        self = super().__new__(cls, json.dumps(value))
        self.kind = "a list" if isinstance(value, list) else "an object"
        return self

    kind: str


def _structured_field_errors(out: pd.DataFrame) -> list[dict]:
    """One error per row whose report field (description, severity, ...) was given a list or an object."""
    errors = []
    for col in out.columns.drop(["attributes", "row"], errors="ignore"):
        for row, v in zip(out["row"], out[col], strict=True):
            if isinstance(v, _Structured):
                errors.append({"row": int(row), "error": f"{col} must be text or a number, not {v.kind}"})
    return sorted(errors, key=lambda e: e["row"])
