"""Field reports from uploads and API payloads: parsed into report records with per-row errors.

Readers (:mod:`layers.reports.files`) turn a file (CSV, XLSX, GeoJSON,
GeoPackage, zipped Shapefile, or a Kobo/ODK export of these) into batches of
raw rows under canonical names (:mod:`layers.reports.columns`);
:func:`normalise_reports` validates a batch at once (vectorised) and returns
the good records plus one error per bad row (its 1-based record number and
every reason). Nothing here touches a database or a web request.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from layers.errors import InvalidInputError, TooLargeError
from layers.reports.columns import canonical_frame
from layers.reports.config import SOURCES, ReportConfig
from layers.reports.files import BATCH_ROWS, iter_raw_batches

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
MAX_DESCRIPTION = 5000
MAX_SHORT_TEXT = 200
MAX_ATTRIBUTES_JSON = 10_000
MAX_DEPTH_M = 30.0
FUTURE_TOLERANCE = timedelta(hours=1)
# uuid5 namespace for reports whose source has no UUID of its own.
REPORT_NAMESPACE = uuid.UUID("6f1d3c52-3a43-4b39-9a5e-0c2f2b8e9d11")
_UUID_RE = r"^(?:uuid:)?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$"


@dataclass
class ParseResult:
    """Good records (columns :data:`REPORT_FIELDS`), per-row errors and in-batch duplicate count."""

    records: pd.DataFrame
    errors: list[dict] = field(default_factory=list)
    duplicates: int = 0


# ---------------------------------------------------------------------------------------------
# Validation of a batch of raw rows


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
    n = len(raw)
    pre_errors = list(raw.attrs.get("row_errors", []))
    raw = raw.reset_index(drop=True)
    now = now or datetime.now(timezone.utc)
    rows = raw["row"].to_numpy() if "row" in raw else np.arange(1, n + 1)
    errs = pd.Series([""] * n, dtype=object)
    in_frame = set(rows.tolist())
    for e in [e for e in pre_errors if e["row"] in in_frame]:
        errs[rows == e["row"]] = e["error"]
    pre_errors = [e for e in pre_errors if e["row"] not in in_frame]

    def add(mask, msg) -> None:
        m = mask.to_numpy(dtype=bool, na_value=False) if isinstance(mask, pd.Series) else np.asarray(mask, dtype=bool)
        if not m.any():
            return
        if callable(msg):  # messages are built only when some row fails
            msg = msg()
        text = msg[m] if isinstance(msg, pd.Series) else msg
        cur = errs[m]
        errs[m] = cur.where(cur == "", cur + "; ") + text

    cache: dict[str, pd.Series] = {}
    empty_text = pd.Series([None] * n, index=raw.index, dtype=object)
    empty_num = pd.Series(np.nan, index=raw.index, dtype="float64")

    def text(col: str) -> pd.Series:
        """Stripped text, None for blanks (object dtype: far cheaper than pandas strings on 1-row payloads)."""
        if col not in raw:
            return empty_text
        if col not in cache:
            cache[col] = pd.Series([_clean(v) for v in raw[col].tolist()], index=raw.index, dtype=object)
        return cache[col]

    def number(col: str, label: str) -> pd.Series:
        if col not in raw:
            return empty_num
        s = text(col)
        v = pd.to_numeric(s.str.replace(",", ".", regex=False), errors="coerce").astype("float64")
        add(s.notna() & v.isna(), lambda: f"{label} " + _quote(s) + " is not a number")
        return v

    # --- location -----------------------------------------------------------------------
    lon = number("lon", "longitude")
    lat = number("lat", "latitude")
    geom = raw["geometry"] if "geometry" in raw else pd.Series([None] * n, dtype=object)
    wkt = text("wkt")
    has_wkt = wkt.notna() & pd.Series([g is None for g in geom], dtype=bool)
    if has_wkt.any():
        parsed = shapely.from_wkt(wkt[has_wkt].to_numpy(dtype=object), on_invalid="ignore")
        geom = geom.copy()
        geom[has_wkt.to_numpy()] = parsed
        add(has_wkt & pd.Series([g is None for g in geom]), lambda: "geometry " + _quote(wkt) + " is not valid WKT")
    garr = geom.to_numpy(dtype=object)
    present = ~shapely.is_missing(garr)
    gtype = np.where(present, shapely.get_type_id(garr), -1)
    add(present & shapely.is_empty(garr), "the geometry is empty")
    is_point = present & (gtype == 0) & ~shapely.is_empty(garr)
    is_poly = present & np.isin(gtype, (3, 6))
    add(present & ~np.isin(gtype, (0, 3, 6)), "geometry must be a Point (or a Polygon for a polygon category)")
    px, py = shapely.get_x(np.where(is_point, garr, None)), shapely.get_y(np.where(is_point, garr, None))
    lon = lon.where(~is_point, px)
    lat = lat.where(~is_point, py)
    if is_poly.any():
        rep = shapely.point_on_surface(np.where(is_poly, garr, None))
        lon = lon.where(~is_poly, shapely.get_x(rep))
        lat = lat.where(~is_poly, shapely.get_y(rep))
        b = shapely.bounds(np.where(is_poly, garr, None))
        add(
            is_poly & ((np.abs(b[:, [0, 2]]) > 180).any(axis=1) | (np.abs(b[:, [1, 3]]) > 90).any(axis=1)),
            "polygon coordinates are outside -180..180 / -90..90; is the file in lon/lat?",
        )
        add(is_poly & ~shapely.is_valid(np.where(is_poly, garr, None)), "the polygon is not valid (self-intersecting?)")
    no_loc = (lon.isna() | lat.isna()) & ~present & ~(text("lon").notna() ^ text("lat").notna())
    add(
        no_loc & text("lon").isna() & text("lat").isna() & wkt.isna(),
        "no location: give longitude and latitude columns (lon/lat), an ODK location, or a WKT geometry",
    )
    add(text("lon").notna() ^ text("lat").notna(), "give both longitude and latitude")
    lat_bad = lat.abs() > 90
    lon_bad = lon.abs() > 180
    swapped = lat_bad & (lon.abs() <= 90) & (lat.abs() <= 180)
    add(
        swapped, lambda: "latitude " + lat.astype("string") + " is outside -90..90: longitude and latitude look swapped"
    )
    add(lat_bad & ~swapped, lambda: "latitude " + lat.astype("string") + " is outside -90..90")
    add(lon_bad, lambda: "longitude " + lon.astype("string") + " is outside -180..180")

    # --- category -----------------------------------------------------------------------
    labels = {c.label.lower().replace(" ", "_"): c.name for c in config.categories.values()}
    cat = pd.Series(
        [None if k is None else labels.get(k, k) for k in (v and _SNAKE(v.lower()) for v in text("category"))],
        index=raw.index,
        dtype=object,
    )
    if default_category is not None:
        cat = cat.fillna(default_category)
    add(cat.isna(), "no category: add a 'category' column (or choose one for the whole file)")
    known = cat.isin(config.names).fillna(False)
    add(
        cat.notna() & ~known,
        lambda: "unknown category " + _quote(cat) + f"; expected one of: {', '.join(config.names)}",
    )
    wants_poly = (
        cat.isin([c.name for c in config.categories.values() if c.geometry == "polygon"]).fillna(False).astype(bool)
    )
    add(known & wants_poly & ~is_poly, lambda: "category " + _quote(cat) + " needs a Polygon geometry (WKT or GeoJSON)")
    add(known & ~wants_poly & is_poly, lambda: "category " + _quote(cat) + " takes a point, not a polygon")

    # --- time, numbers, text ------------------------------------------------------------
    obs_text = text("observed_at")
    observed = (
        _parse_times(obs_text)
        if "observed_at" in raw
        else pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    )
    add(
        obs_text.notna() & observed.isna(),
        lambda: "observed_at " + _quote(obs_text) + " is not a date/time (use ISO 8601)",
    )
    add(
        observed > pd.Timestamp(now + FUTURE_TOLERANCE), lambda: "observed_at " + _quote(obs_text) + " is in the future"
    )
    add(observed < pd.Timestamp("1900-01-01", tz="UTC"), lambda: "observed_at " + _quote(obs_text) + " is before 1900")
    severity = number("severity", "severity") if "severity" in raw else empty_num
    add(severity.notna() & ~severity.isin([1, 2, 3, 4, 5]), "severity must be a whole number from 1 to 5")
    accuracy = number("accuracy_m", "accuracy_m")
    add(accuracy < 0, "accuracy_m must be ≥ 0")
    altitude = number("altitude_m", "altitude_m")
    depth = number("depth_m", "depth_m")
    add((depth < 0) | (depth > MAX_DEPTH_M), f"depth_m must be between 0 and {MAX_DEPTH_M:g} metres")
    desc = text("description")
    add(
        ("description" in raw) and (desc.str.len() > MAX_DESCRIPTION),
        lambda: "description is " + desc.str.len().astype("string") + f" characters; the limit is {MAX_DESCRIPTION}",
    )
    for col in ("reporter_name", "reporter_contact"):
        if col in raw:
            add(text(col).str.len() > MAX_SHORT_TEXT, f"{col} is longer than {MAX_SHORT_TEXT} characters")
    if "source" in raw:
        src = text("source").str.lower().fillna(source)
        add(~src.isin(SOURCES), lambda: "source " + _quote(src) + f" is not one of {', '.join(SOURCES)}")
    else:
        src = pd.Series(source, index=raw.index, dtype="string")

    # --- attributes ---------------------------------------------------------------------
    attrs = raw["attributes"] if "attributes" in raw else pd.Series([{}] * n, dtype=object)
    attrs = pd.Series([dict(a) if isinstance(a, dict) else {} for a in attrs.tolist()], dtype=object)
    has_depth = depth.notna().to_numpy()
    if has_depth.any():
        for i, d in zip(np.flatnonzero(has_depth), depth[has_depth].tolist(), strict=True):
            attrs[i]["depth_m"] = d
    attr_json = pd.Series([json.dumps(a, ensure_ascii=False, default=str) for a in attrs], dtype="string")
    add(attr_json.str.len() > MAX_ATTRIBUTES_JSON, f"extra attributes are longer than {MAX_ATTRIBUTES_JSON} characters")

    # --- ids ----------------------------------------------------------------------------
    ids = _report_ids(text("id"), raw, strict=strict_ids, add=add)

    # --- extent -------------------------------------------------------------------------
    outside = np.zeros(n, dtype=bool)
    if extent is not None:
        ok = lon.notna() & lat.notna() & ~lat_bad & ~lon_bad
        inside = np.ones(n, dtype=bool)
        inside[ok.to_numpy()] = shapely.contains_xy(extent, lon[ok].to_numpy(), lat[ok].to_numpy())
        outside = ~inside
        swap_in = np.zeros(n, dtype=bool)
        check = ok.to_numpy() & outside & (lon.abs() <= 90).to_numpy()  # only points outside can be swapped
        if check.any():
            swap_in[check] = shapely.contains_xy(extent, lat[check].to_numpy(), lon[check].to_numpy())
        add(outside & swap_in, "the point is outside the area but would be inside with longitude and latitude swapped")
        if config.outside_area == "reject":
            add(outside & ~swap_in, "the point is outside the area (reports.outside_area = 'reject')")

    wkt_out = np.full(n, None, dtype=object)
    if is_poly.any():
        wkt_out[is_poly] = shapely.to_wkt(garr[is_poly], rounding_precision=7)
    records = pd.DataFrame(
        {
            "id": ids,
            "category": cat,
            "description": desc,
            "severity": severity,  # float64, NaN = not given (bad values fail the row)
            "observed_at": observed,
            "lon": lon.astype("float64"),
            "lat": lat.astype("float64"),
            "accuracy_m": accuracy,
            "altitude_m": altitude,
            "geometry_wkt": wkt_out,
            "attributes": attrs,
            "source": src,
            "reporter_name": text("reporter_name"),
            "reporter_contact": text("reporter_contact"),
            "outside_area": outside,
            "row": rows,
        }
    )
    bad = (errs != "").to_numpy()
    errors = [{"row": int(r), "error": e} for r, e in zip(rows[bad], errs[bad], strict=True)]
    if pre_errors:
        errors = sorted(errors + pre_errors, key=lambda e: e["row"])
    good = records[~bad]
    dup = good["id"].duplicated(keep="first")
    return ParseResult(good[~dup].reset_index(drop=True), errors, int(dup.sum()))


_BLANK = re.compile(r"[\s\-]+")


def _SNAKE(text: str) -> str:  # noqa: N802 - a tiny helper used like a function object
    return _BLANK.sub("_", text)


def _clean(v) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    v = str(v).strip()
    return v or None


def _quote(s: pd.Series) -> pd.Series:
    """Values for messages: quoted and cut to 60 characters."""
    s = s.astype("string").fillna("")
    return "'" + s.where(s.str.len() <= 60, s.str.slice(0, 57) + "...") + "'"


def _parse_times(s: pd.Series) -> pd.Series:
    """ISO 8601 (Kobo/ODK/JS) first, then other common forms; naive times are taken as UTC."""
    out = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
    retry = s.notna() & out.isna()
    if retry.any():
        out[retry] = pd.to_datetime(s[retry], utc=True, errors="coerce", format="mixed", dayfirst=False)
    return out


_UUID_MATCH = re.compile(_UUID_RE, re.IGNORECASE).match


def _canonical_uuid(value) -> str | None:
    if value is None or value is pd.NA:
        return None
    m = _UUID_MATCH(value)
    return "-".join(m.groups()).lower() if m else None


_NS = REPORT_NAMESPACE.bytes


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(REPORT_NAMESPACE, name))`` without building UUID objects (3× faster at 100k rows)."""
    b = bytearray(hashlib.sha1(_NS + name.encode("utf-8")).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _report_ids(raw_ids: pd.Series, raw: pd.DataFrame, *, strict: bool, add) -> pd.Series:
    """Canonical UUID strings: the given one, uuid5 of a non-UUID id, or uuid5 of the row's content."""
    # A compiled regex over the values (pandas' str.extract is slower for the usual 1-row API payload).
    canon = [_canonical_uuid(v) for v in raw_ids.tolist()]
    ids = pd.Series(canon, index=raw_ids.index, dtype=object)
    valid = ids.notna()
    other = raw_ids.notna() & ~valid
    if strict:
        add(other, lambda: "id " + _quote(raw_ids) + " is not a UUID (make one with crypto.randomUUID())")
    elif other.any():
        ids[other] = [str(uuid.uuid5(REPORT_NAMESPACE, f"id:{v}")) for v in raw_ids[other]]
    missing = raw_ids.isna()
    if missing.any():
        if strict:
            ids[missing] = [str(uuid.uuid4()) for _ in range(int(missing.sum()))]
        else:
            cols = [c for c in raw.columns if c not in ("row", "geometry", "attributes")]
            content = None
            for c in cols:  # column-wise string concatenation (vectorised), not row-wise joins
                part = raw.loc[missing, c].astype("string").fillna("")
                content = part if content is None else content + "\x1f" + part
            extra = []
            if "geometry" in raw:
                extra = [shapely.to_wkb(g, hex=True) if g is not None else "" for g in raw.loc[missing, "geometry"]]
            if "attributes" in raw:
                attr = [json.dumps(a, sort_keys=True, default=str) for a in raw.loc[missing, "attributes"]]
                extra = [f"{e}\x1f{a}" for e, a in zip(extra or [""] * len(attr), attr, strict=True)]
            keys = list(content) if content is not None else [""] * int(missing.sum())
            if extra:
                keys = [f"{k}\x1e{e}" for k, e in zip(keys, extra, strict=True)]
            seen: Counter[str] = Counter()
            out = []
            for k in keys:  # the n-th identical row of a file gets the n-th id
                out.append(_uuid5(f"row:{k}\x1d{seen[k]}"))
                seen[k] += 1
            ids[missing] = out
    return ids


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
    )


# ---------------------------------------------------------------------------------------------
# API payloads and photos


def raw_from_geojson(obj) -> pd.DataFrame:
    """A GeoJSON Feature or FeatureCollection (parsed JSON) as raw canonical rows."""
    if not isinstance(obj, dict):
        raise InvalidInputError("the body must be a GeoJSON Feature or FeatureCollection object")
    kind = obj.get("type")
    if kind == "Feature":
        feats = [obj]
    elif kind == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list):
            raise InvalidInputError("FeatureCollection.features must be a list")
    else:
        raise InvalidInputError(f"type must be 'Feature' or 'FeatureCollection', not {kind!r}")
    props_list, geoms, errors = [], [], []
    for i, f in enumerate(feats, start=1):
        props = f.get("properties") if isinstance(f, dict) else None
        props = dict(props) if isinstance(props, dict) else {}
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
        flat = {
            k: (
                ""
                if v is None
                else v
                if isinstance(v, str)
                else json.dumps(v)
                if isinstance(v, (dict, list))
                else str(v)
            )
            for k, v in props.items()
        }
        flat["__attrs"] = attrs if isinstance(attrs, dict) else {}
        if attrs is not None and not isinstance(attrs, dict):
            errors.append({"row": i, "error": "properties.attributes must be an object"})
        props_list.append(flat)
        geoms.append(geom)
    df = pd.DataFrame(props_list, dtype=object)
    extra = df.pop("__attrs") if "__attrs" in df else pd.Series([{}] * len(df), dtype=object)
    out, _ = canonical_frame(df.fillna(""), has_geometry=True)
    given = out["attributes"] if "attributes" in out else pd.Series([{}] * len(out), dtype=object)
    out["attributes"] = [{**a, **{str(k): v for k, v in e.items()}} for a, e in zip(given, extra, strict=True)]
    out["geometry"] = geoms
    out.attrs["row_errors"] = errors
    return out


def clean_photo(
    data: bytes, *, max_bytes: int, max_side: int = 1600, max_pixels: int = 40_000_000
) -> tuple[bytes, str]:
    """Re-encode a JPEG/PNG photo without EXIF/GPS or text metadata, at most ``max_side`` pixels wide.

    Returns ``(bytes, content_type)``. Raises TooLargeError over ``max_bytes``
    or ``max_pixels``, InvalidInputError for anything that is not a JPEG/PNG.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > max_bytes:
        raise TooLargeError(f"the photo is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB")
    try:
        im = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInputError("the photo must be a JPEG or PNG image") from exc
    if im.format not in ("JPEG", "PNG"):
        raise InvalidInputError(f"the photo must be a JPEG or PNG image, not {im.format}")
    if im.width * im.height > max_pixels:
        raise TooLargeError(
            f"the photo is {im.width}×{im.height} pixels; the limit is {max_pixels // 1_000_000} megapixels"
        )
    fmt = im.format
    try:
        im = ImageOps.exif_transpose(im)  # keep the orientation the EXIF said, then drop EXIF
        im.thumbnail((max_side, max_side))
        clean = Image.new(im.mode, im.size)
        clean.paste(im)
    except OSError as exc:
        raise InvalidInputError(f"the photo cannot be decoded: {exc}") from exc
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
        return out.getvalue(), "image/jpeg"
    clean.save(out, "PNG", optimize=True)
    return out.getvalue(), "image/png"


def area_extent(boundaries, *, margin_m: float = 500.0):
    """The area as one lon/lat geometry: its boundaries (GeoDataFrame, metric CRS) grown by ``margin_m``."""
    import geopandas as gpd

    geom = boundaries.geometry.union_all().buffer(margin_m)
    return gpd.GeoSeries([geom], crs=boundaries.crs).to_crs("EPSG:4326").iloc[0]
