"""Export columns to report fields: the usual names of ODK Central, KoboToolbox and plain CSV exports.

:func:`canonical_frame` renames a table of text values to the canonical report
columns (``id, category, lon, lat, ...``), turns an ODK geopoint text into
lon/lat, drops export bookkeeping, and keeps every other column as an
``attributes`` dict per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.errors import TooLargeError

# The widest table an upload may be: real exports have tens to a few hundred columns, and the work per
# row grows with the width (a 1M-column CSV of 10 MB took 10 minutes of CPU before this limit).
MAX_COLUMNS = 500

# Usual column names (compared lower-case, on the last "/"-separated part), in order of preference.
_NAMES = {
    "id": ["id", "report_id", "uuid", "_uuid", "instanceid", "meta/instanceid", "meta-instanceid", "key"],
    "lon": ["lon", "lng", "long", "longitude", "x", "lon_deg", "gps_longitude", "_longitude"],
    "lat": ["lat", "latitude", "y", "lat_deg", "gps_latitude", "_latitude"],
    "altitude_m": ["altitude_m", "altitude", "alt", "elevation", "_altitude"],
    "accuracy_m": ["accuracy_m", "accuracy", "precision", "_precision", "gps_accuracy"],
    "wkt": ["wkt", "geometry_wkt", "geometry", "geom", "the_geom", "shape"],
    "geopoint": ["location", "geopoint", "gps", "point", "coordinates", "position", "_geolocation"],
    "category": ["category", "report_category", "type", "report_type", "kind"],
    "description": ["description", "desc", "details", "comment", "comments", "notes", "note", "text"],
    "severity": ["severity", "priority"],
    "observed_at": [
        "observed_at",
        "observed",
        "date",
        "datetime",
        "date_time",
        "time",
        "timestamp",
        "start",
        "today",
        "_submission_time",
        "submissiondate",
        "submission_date",
        "end",
    ],
    "depth_m": ["depth_m", "depth", "water_depth", "flood_depth"],
    "reporter_name": ["reporter_name", "reporter", "name_of_reporter", "submittername", "_submitted_by", "username"],
    "reporter_contact": ["reporter_contact", "contact", "phone", "phone_number", "phonenumber", "email", "telephone"],
    "source": ["source"],
}
# ODK Central "<field>-Latitude", Kobo "_<field>_latitude" / "<group>/<field>_latitude".
_SUFFIXES = {
    "lon": ("-longitude", "_longitude"),
    "lat": ("-latitude", "_latitude"),
    "altitude_m": ("-altitude", "_altitude"),
    "accuracy_m": ("-accuracy", "_precision", "_accuracy"),
}
# Export bookkeeping that is neither a report field nor a useful attribute.
_METADATA = {
    "_id",
    "_index",
    "_status",
    "_validation_status",
    "__version__",
    "_xform_id_string",
    "_tags",
    "_notes",
    "_attachments",
    "_parent_index",
    "_parent_table_name",
    "_submission__id",
    "formhub/uuid",
    "submitterid",
    "attachmentspresent",
    "attachmentsexpected",
    "status",
    "reviewstate",
    "deviceid",
    "edits",
    "formversion",
    "simserial",
    "subscriberid",
    "audit",
    "instancename",
    "version",
    "fid",
    "ogc_fid",
}
# Other spellings of the id and time: bookkeeping once one of them has been chosen.
_ALTERNATES = set(_NAMES["id"]) | set(_NAMES["observed_at"])
_KOBO_MARKERS = {"_uuid", "_submission_time", "formhub/uuid", "_xform_id_string"}
_ODK_MARKERS = {"key", "submissiondate", "meta-instanceid", "submitterid", "reviewstate"}


def canonical_frame(
    df: pd.DataFrame, *, first_row: int = 1, has_geometry: bool = False
) -> tuple[pd.DataFrame, str | None]:
    """Rename a table of text values to canonical report columns; the rest become ``attributes``.

    Returns the frame and the export flavour detected (``"kobo"``, ``"odk"`` or None).
    """
    cols = list(df.columns)
    low = {c: str(c).strip().lower() for c in cols}
    base = {c: low[c].rsplit("/", 1)[-1] for c in cols}
    lows = set(low.values()) | set(base.values())
    flavour = "kobo" if lows & _KOBO_MARKERS else "odk" if lows & _ODK_MARKERS else None
    chosen: dict[str, str] = {}
    used: set = set()
    for target, names in _NAMES.items():
        if target in ("lon", "lat", "wkt", "geopoint", "altitude_m", "accuracy_m") and has_geometry:
            continue
        for name in names:
            hit = next((c for c in cols if c not in used and (low[c] == name or base[c] == name)), None)
            if hit is not None:
                chosen[target] = hit
                used.add(hit)
                break
    if not has_geometry:
        for target, suffixes in _SUFFIXES.items():
            if target in chosen:
                continue
            hit = next((c for c in cols if c not in used and low[c].endswith(suffixes)), None)
            if hit is not None:
                chosen[target] = hit
                used.add(hit)
    out = pd.DataFrame({t: df[c] for t, c in chosen.items() if t != "geopoint"}, index=df.index)
    if "geopoint" in chosen and not ({"lon", "lat"} & set(chosen)):
        gp = _split_geopoint(df[chosen["geopoint"]], kobo_list=base[chosen["geopoint"]] == "_geolocation")
        for k in gp:
            if k not in out:
                out[k] = gp[k]
    elif "geopoint" in chosen:
        used.discard(chosen["geopoint"])
    rest = [
        c
        for c in cols
        if c not in used
        and c != "geometry"
        and not low[c].startswith(("_", "meta/", "meta-", "__"))
        and low[c] not in _METADATA
        and base[c] not in _METADATA
        and base[c] not in _ALTERNATES
        and not low[c].endswith(("-latitude", "-longitude", "-altitude", "-accuracy"))
    ]
    if rest:
        vals = df[rest].astype("string")
        names = [str(c).rsplit("/", 1)[-1] for c in rest]
        out["attributes"] = [
            {k: v for k, v in zip(names, row, strict=True) if v is not pd.NA and v != ""}
            for row in vals.itertuples(index=False, name=None)
        ]
    out["row"] = np.arange(first_row, first_row + len(df))
    return out, flavour


def _split_geopoint(s: pd.Series, *, kobo_list: bool) -> dict[str, pd.Series]:
    """ODK geopoint text "lat lon alt acc" (or Kobo's "[lat, lon]") into columns."""
    parts = s.astype("string").str.strip("[] ").str.split(r"[\s,]+", regex=True, expand=True)
    out = {}
    for i, name in enumerate(("lat", "lon", "altitude_m", "accuracy_m")):
        if i < parts.shape[1]:
            out[name] = parts[i]
    return out


def frame_from_rows(
    header: list[str],
    rows: list[list[str]],
    rownums: list[int],
    bad: list[dict],
    *,
    row_context: dict[int, str] | None = None,
    notes: list[str] | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """Records of text under ``header`` (numbered ``rownums``) as a canonical frame.

    ``bad`` rows (ones the reader could not split) fail with their message;
    ``row_context`` is said after a row's errors only if it fails (e.g. that it was
    short); ``notes`` are file-level remarks for the import summary.
    """
    df = pd.DataFrame(rows, columns=header, dtype=object)
    out, flavour = canonical_frame(df)
    out["row"] = np.asarray(rownums, dtype="int64")
    if bad:
        out.attrs["row_errors"] = bad
    if row_context:
        out.attrs["row_context"] = row_context
    if notes:
        out.attrs["notes"] = notes
    return out, flavour


def check_column_count(count: int, name: str) -> None:
    """Refuse a table wider than :data:`MAX_COLUMNS` before any work is done per column."""
    if count > MAX_COLUMNS:
        raise TooLargeError(f"{name} has {count:,} columns; the limit is {MAX_COLUMNS}")
