"""What a report says: category, observation time, measures (severity, accuracy, depth), text, source, attributes.

Each function reads some columns of a :class:`~layers.reports.batch.RawBatch`,
fails the rows whose values break a rule (naming the field and the value) and
returns the clean column(s).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np
import pandas as pd

from layers.reports.batch import RawBatch, quote, snake
from layers.reports.config import SOURCES, ReportConfig

MAX_DESCRIPTION = 5000
MAX_SHORT_TEXT = 200
MAX_ATTRIBUTES_JSON = 10_000
MAX_DEPTH_M = 30.0
FUTURE_TOLERANCE = timedelta(hours=1)


def categories(b: RawBatch, config: ReportConfig, default_category: str | None, is_poly: np.ndarray) -> pd.Series:
    """Category names (a label such as "Shelter site" is accepted); unknown ones and the wrong geometry fail."""
    labels = {c.label.lower().replace(" ", "_"): c.name for c in config.categories.values()}
    cat = pd.Series(
        [None if k is None else labels.get(k, k) for k in (v and snake(v.lower()) for v in b.text("category"))],
        index=b.raw.index,
        dtype=object,
    )
    if default_category is not None:
        cat = cat.fillna(default_category)
    b.add(cat.isna(), "no category: add a 'category' column (or choose one for the whole file)")
    known = cat.isin(config.names).fillna(False)
    b.add(
        cat.notna() & ~known,
        lambda: "unknown category " + quote(cat) + f"; expected one of: {', '.join(config.names)}",
    )
    polygon_names = [c.name for c in config.categories.values() if c.geometry == "polygon"]
    wants_poly = cat.isin(polygon_names).fillna(False).astype(bool)
    b.add(
        known & wants_poly & ~is_poly, lambda: "category " + quote(cat) + " needs a Polygon geometry (WKT or GeoJSON)"
    )
    b.add(known & ~wants_poly & is_poly, lambda: "category " + quote(cat) + " takes a point, not a polygon")
    return cat


def observed_times(b: RawBatch, now: datetime) -> pd.Series:
    """``observed_at`` in UTC; unreadable, future (beyond a tolerance) and pre-1900 times fail."""
    obs_text = b.text("observed_at")
    if "observed_at" not in b:
        return pd.Series(pd.NaT, index=b.raw.index, dtype="datetime64[ns, UTC]")
    observed = _parse_times(obs_text)
    b.add(
        obs_text.notna() & observed.isna(),
        lambda: "observed_at " + quote(obs_text) + " is not a date/time (use ISO 8601)",
    )
    b.add(
        observed > pd.Timestamp(now + FUTURE_TOLERANCE), lambda: "observed_at " + quote(obs_text) + " is in the future"
    )
    b.add(observed < pd.Timestamp("1900-01-01", tz="UTC"), lambda: "observed_at " + quote(obs_text) + " is before 1900")
    return observed


def _parse_times(s: pd.Series) -> pd.Series:
    """ISO 8601 (Kobo/ODK/JS) first, then other common forms; naive times are taken as UTC."""
    out = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
    retry = s.notna() & out.isna()
    if retry.any():
        out[retry] = pd.to_datetime(s[retry], utc=True, errors="coerce", format="mixed", dayfirst=False)
    return out


class Measures(NamedTuple):
    """Numbers of a report (float64, NaN = not given)."""

    severity: pd.Series
    accuracy_m: pd.Series
    altitude_m: pd.Series
    depth_m: pd.Series


def measures(b: RawBatch) -> Measures:
    """Severity 1–5, accuracy ≥ 0, altitude, water depth 0–30 m."""
    severity = b.number("severity", "severity")
    b.add(severity.notna() & ~severity.isin([1, 2, 3, 4, 5]), "severity must be a whole number from 1 to 5")
    accuracy = b.number("accuracy_m", "accuracy_m")
    b.add(accuracy < 0, "accuracy_m must be ≥ 0")
    altitude = b.number("altitude_m", "altitude_m")
    depth = b.number("depth_m", "depth_m")
    b.add((depth < 0) | (depth > MAX_DEPTH_M), f"depth_m must be between 0 and {MAX_DEPTH_M:g} metres")
    return Measures(severity, accuracy, altitude, depth)


def texts(b: RawBatch) -> pd.Series:
    """Check the free-text lengths; returns the description."""
    desc = b.text("description")
    b.add(
        ("description" in b) and (desc.str.len() > MAX_DESCRIPTION),
        lambda: (
            "description is "
            + desc.str.len().astype("Int64").astype("string")
            + f" characters; the limit is {MAX_DESCRIPTION}"
        ),
    )
    for col in ("reporter_name", "reporter_contact"):
        if col in b:
            b.add(b.text(col).str.len() > MAX_SHORT_TEXT, f"{col} is longer than {MAX_SHORT_TEXT} characters")
    return desc


def sources(b: RawBatch, default: str) -> pd.Series:
    """The ``source`` column (lower case) or ``default``; unknown sources fail."""
    if "source" not in b:
        return pd.Series(default, index=b.raw.index, dtype="string")
    src = b.text("source").str.lower().fillna(default)
    b.add(~src.isin(SOURCES), lambda: "source " + quote(src) + f" is not one of {', '.join(SOURCES)}")
    return src


def attributes(b: RawBatch, depth: pd.Series) -> pd.Series:
    """Extra attributes per row (a new dict each), with ``depth_m`` added; oversized ones fail."""
    attrs = b.raw["attributes"] if "attributes" in b else pd.Series([{}] * b.n, dtype=object)
    attrs = pd.Series([dict(a) if isinstance(a, dict) else {} for a in attrs.tolist()], dtype=object)
    has_depth = depth.notna().to_numpy()
    if has_depth.any():
        for i, d in zip(np.flatnonzero(has_depth), depth[has_depth].tolist(), strict=True):
            attrs[i]["depth_m"] = d
    attr_json = pd.Series([json.dumps(a, ensure_ascii=False, default=str) for a in attrs], dtype="string")
    b.add(
        attr_json.str.len() > MAX_ATTRIBUTES_JSON, f"extra attributes are longer than {MAX_ATTRIBUTES_JSON} characters"
    )
    return attrs
