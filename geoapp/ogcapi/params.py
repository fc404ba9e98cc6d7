"""Query parameters of the OGC API, from plain text values: each bad value is an InvalidInputError naming it.

Nothing a client sends may reach the data as NaN, infinity, a NUL byte or a
number too big for the readers: those are refused here with a 400.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
from pyproj import CRS

from layers.errors import InvalidInputError
from layers.publish import features

from . import crs as crsmod

BBox = tuple[float, float, float, float]
Interval = tuple[pd.Timestamp | None, pd.Timestamp | None]
ITEM_PARAMS = {
    "f",
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "sortby",
    "properties",
    "filter",
    "filter-lang",
    "filter-crs",
}
MAX_INT = 2**31 - 1  # offsets and limits beyond this are refused: no layer is that big, and readers use int32/int64
GEOJSON = "application/geo+json"


def wants_html(args: Mapping[str, str], accept: str) -> bool:
    """``f=html``, or a browser that prefers HTML to JSON; ``f`` other than json/geojson/html is a 400."""
    f = args.get("f", "").lower()
    if f:
        if f not in ("json", "geojson", "html"):
            raise InvalidInputError(f"f '{f}' must be 'json' or 'html'")
        return f == "html"
    q = _accept_qualities(accept or "*/*")
    return q("text/html") > max(q("application/json"), q(GEOJSON))


def _accept_qualities(accept: str):
    """A function giving the quality an Accept header grants a media type (most specific match wins)."""
    ranges = []
    for part in accept.split(","):
        media, *options = (p.strip() for p in part.split(";"))
        q = 1.0
        for opt in options:
            key, _, value = opt.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            ranges.append((media.lower(), q if math.isfinite(q) else 0.0))

    def quality(media: str) -> float:
        kind = media.split("/")[0] + "/*"
        for candidate in (media, kind, "*/*"):
            found = [q for m, q in ranges if m == candidate]
            if found:
                return max(found)
        return 0.0

    return quality


def integer(args: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    """A whole number ≥ ``minimum`` and ≤ MAX_INT; values above ``maximum`` are served at ``maximum``."""
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name} '{raw[:40]}' must be a whole number") from None
    if value < minimum:
        raise InvalidInputError(f"{name} must be at least {minimum}")
    if value > MAX_INT:
        raise InvalidInputError(f"{name} must be at most {MAX_INT}")
    return min(value, maximum) if maximum is not None else value


def bbox(args: Mapping[str, str], allowed: list[str]) -> tuple[BBox | None, CRS | None]:
    """The ``bbox`` as given (``bbox-crs`` axis order) and ``bbox-crs``; (None, None) without a bbox."""
    raw = args.get("bbox")
    if not raw:
        if args.get("bbox-crs"):
            raise InvalidInputError("bbox-crs needs a bbox")
        return None, None
    try:
        nums = [float(v) for v in raw.split(",")]
    except ValueError:
        nums = []
    if len(nums) not in (4, 6) or not all(map(math.isfinite, nums)):
        raise InvalidInputError("bbox must be 4 numbers minx,miny,maxx,maxy (or 6 with heights), in bbox-crs")
    box = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else (nums[0], nums[1], nums[2], nums[3])
    if box[0] > box[2] or box[1] > box[3]:
        raise InvalidInputError("bbox must have min ≤ max on both axes")
    box_crs = crsmod.parse(args.get("bbox-crs"), allowed, param="bbox-crs")
    if box_crs.is_geographic:
        lons, lats = (box[1::2], box[0::2]) if features.yx_order(box_crs) else (box[0::2], box[1::2])
        if not all(-180 <= v <= 180 for v in lons) or not all(-90 <= v <= 90 for v in lats):
            raise InvalidInputError("bbox must be within -180..180 degrees of longitude and -90..90 of latitude")
    return box, box_crs


def interval(raw: str) -> Interval:
    """An RFC 3339 instant or interval (``a/b``, ``../b``, ``a/..``) as UTC bounds (None = open)."""

    def ts(v: str) -> pd.Timestamp | None:
        if v in ("", ".."):
            return None
        try:
            t = pd.Timestamp(v)
        except (ValueError, TypeError, OverflowError):
            t = pd.NaT
        if pd.isna(t):
            raise InvalidInputError(f"datetime '{v[:40]}' is not an RFC 3339 date-time (e.g. 2025-01-31T00:00:00Z)")
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")

    if "/" in raw:
        a, b = raw.split("/", 1)
        return ts(a), ts(b)
    t = ts(raw)
    if t is None:
        raise InvalidInputError("datetime must be an instant or an interval a/b")
    return t, t


def property_filters(args: Mapping[str, str], dtypes: Mapping[str, str]) -> dict[str, str]:
    """``property=value`` filters on queryable properties; any other unknown parameter is a 400."""
    unknown = [k for k in args if k not in ITEM_PARAMS and k not in dtypes]
    if unknown:
        raise InvalidInputError(
            f"unknown query parameter {', '.join(unknown)}; use {', '.join(sorted(ITEM_PARAMS))} "
            f"or a queryable property ({', '.join(dtypes)})"
        )
    out = {k: v for k, v in args.items() if k in dtypes}
    for k, v in out.items():
        if "\x00" in v:
            raise InvalidInputError(f"{k} must not contain a NUL character")
    return out


def sortby(args: Mapping[str, str], dtypes: Mapping[str, str]) -> list[tuple[str, bool]]:
    """``sortby=a,-b,+c``: (field, ascending) pairs, each a queryable property."""
    out = []
    for raw in (args.get("sortby") or "").split(","):
        item = raw.strip()
        if not item:
            continue
        ascending = not item.startswith("-")
        name = item.lstrip("+-").strip()
        if name not in dtypes:
            raise InvalidInputError(
                f"sortby '{name[:40]}' is not a property; sort by one of {', '.join(dtypes)} (prefix - for descending)"
            )
        out.append((name, ascending))
    return out


def properties(args: Mapping[str, str], fields: list[str]) -> list[str] | None:
    """``properties=a,b``: the properties to return (None: all of them)."""
    raw = args.get("properties")
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in fields]
    if unknown:
        raise InvalidInputError(
            f"properties {', '.join(unknown)[:80]} not in this collection; its properties are {', '.join(fields)}"
        )
    return list(dict.fromkeys(names))
