"""Parsing messy attribute values from real exports into numbers.

HOT exports hold ``CAPACITY`` values such as "100 Orang", "200 orang",
"fix me" and ``LEVELS`` such as "10+", "4-7", ">7". They are parsed, not
dropped; what cannot be read becomes NaN (unknown), never 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_RANGE = rf"^\D*?{_NUMBER}\s*(?:-|–|to|s/d|sampai)\s*{_NUMBER}"


def _to_float(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").astype("float64")


def parse_count(values, *, ranges: str = "low") -> pd.Series:
    """First number in each value as float; a range "a-b" gives a (``low``) or (a+b)/2 (``mid``).

    Digits grouped by thousands ("1.000", "1,000 orang") are read as whole
    numbers when the group after the separator has exactly three digits.
    Each distinct value is parsed once (a city's million ``levels`` hold a few dozen distinct texts).
    """
    series = pd.Series(values, copy=False)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    parsed = _parse_distinct(pd.Series(uniques, dtype=object), ranges).to_numpy(np.float64)
    out = np.full(len(series), np.nan)
    known = codes >= 0
    out[known] = parsed[codes[known]]
    return pd.Series(out, index=series.index, dtype="float64")


def _parse_distinct(values: pd.Series, ranges: str) -> pd.Series:
    s = values.astype("string").str.strip().str.lower()
    # Thousands separators: "1.000" / "1,500" followed by a non-digit or end.
    s = s.str.replace(r"(?<=\d)[.,](?=\d{3}(?!\d))", "", regex=True)
    rng = s.str.extract(_RANGE)
    first = _to_float(s.str.extract(_NUMBER, expand=False))
    lo, hi = _to_float(rng[0]), _to_float(rng[1])
    out = first.copy()
    has_range = lo.notna() & hi.notna()
    if ranges == "mid":
        out[has_range] = (lo[has_range] + hi[has_range]) / 2.0
    return out.astype("float64").rename(None)


def parse_capacity(values) -> pd.Series:
    """People a site can hold: "100 Orang" → 100, "200-300" → 200 (the safe, lower figure), "fix me" → NaN."""
    out = parse_count(values, ranges="low")
    return out.where(out > 0)


def parse_levels(values) -> pd.Series:
    """Storeys: "10+" → 10, "4-7" → 5.5 (midpoint), ">7" → 7, "fix me" → NaN, "0" → NaN."""
    out = parse_count(values, ranges="mid")
    return out.where(out > 0)


def parse_bool(values) -> pd.Series:
    """OSM-style yes/no/true/1/-1 → bool; ``oneway=-1`` counts as one-way (reversed)."""
    s = pd.Series(values, copy=False).astype("string").str.strip().str.lower()
    return s.isin(["yes", "true", "1", "-1", "y", "t"]).fillna(False).astype(bool)


def snake(values) -> pd.Series:
    """Normalise free-text type labels: "Place of Worship - Islam" → "place_of_worship_islam"."""
    s = pd.Series(values, copy=False).astype("string").str.strip().str.lower()
    s = s.str.replace(r"[^0-9a-z]+", "_", regex=True).str.strip("_")
    return s.replace("", pd.NA)


__all__ = ["parse_bool", "parse_capacity", "parse_count", "parse_levels", "snake"]
