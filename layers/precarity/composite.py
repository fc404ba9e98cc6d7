"""The composite index from indicator values: percentile scores, weights, rank, class and top indicators.

The formula is written out in :mod:`layers.precarity.index`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from layers.errors import InvalidInputError

# name: (direction, title). Direction +1: higher = more precarious.
INDICATORS: dict[str, tuple[int, str]] = {
    "building_density_per_ha": (1, "Building density (per ha)"),
    "built_up_ratio": (1, "Built-up coverage"),
    "median_footprint_m2": (-1, "Median footprint (m²)"),
    "share_far_from_road": (1, "Share of buildings with footway-only access"),
    "walk_health_m": (1, "Walk to nearest health facility (m)"),
    "walk_school_m": (1, "Walk to nearest school (m)"),
    "walk_water_m": (1, "Walk to nearest water point (m)"),
    "hazard_score": (1, "Share exposed to the hazard (severity-weighted)"),
    "reports_per_1000": (1, "Reported needs and damage per 1,000 people"),
    "data_completeness": (-1, "Share of buildings with type or levels mapped"),
}
# Completeness is a confidence figure, not a sign of precarity: shown, not weighted, unless an area says so.
DEFAULT_WEIGHTS: dict[str, float] = dict.fromkeys(INDICATORS, 1.0) | {"hazard_score": 2.0, "data_completeness": 0.0}
CLASS_NAMES_5 = ["very_low", "low", "medium", "high", "very_high"]
TOP_N = 3


def check_weights(weights: dict | None) -> dict[str, float]:
    """Default weights updated by ``weights``; unknown names or negative values are an error."""
    out = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in INDICATORS:
            known = ", ".join(INDICATORS)
            raise InvalidInputError(f"precarity weight '{name}' is not an indicator; indicators are {known}")
        try:
            w = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"precarity weight '{name}' = {value!r} is not a number") from None
        if not (w >= 0 and np.isfinite(w)):
            raise InvalidInputError(f"precarity weight '{name}' = {value!r} must be a finite number >= 0")
        out[name] = w
    if not any(out.values()):
        raise InvalidInputError("every precarity weight is 0; give at least one indicator a positive weight")
    return out


def composite(values: pd.DataFrame, weights: dict[str, float], *, n_classes: int = 5) -> pd.DataFrame:
    """Scores, index, rank, class and top indicators for the indicator ``values`` (one column per indicator).

    See the module docstring of :mod:`layers.precarity.index` for the formula. Columns: ``score_<name>``,
    ``precarity_index``, ``rank``, ``precarity_class``, ``class_id``, ``top_indicators``.
    """
    if n_classes < 2:
        raise InvalidInputError(f"precarity classes = {n_classes}: need at least 2 classes")
    names = [n for n in INDICATORS if n in values]
    scores = _scores(values, names)
    w = np.array([weights.get(n, 0.0) for n in names])
    s = scores[names].to_numpy(dtype="float64")
    known = ~np.isnan(s)
    wsum = (known * w).sum(axis=1)
    contrib = np.where(known, s, 0.0) * w / np.where(wsum > 0, wsum, np.nan)[:, None]
    index = contrib.sum(axis=1)
    index[~(wsum > 0)] = np.nan
    out = pd.DataFrame({f"score_{n}": scores[n] for n in names}, index=values.index)
    out["precarity_index"] = index
    out["rank"] = pd.Series(index, index=values.index).rank(ascending=False, method="min").astype("Int64")
    cls = _classes(index, values.index, n_classes)
    labels = CLASS_NAMES_5 if n_classes == 5 else [f"class_{i}" for i in range(1, n_classes + 1)]
    out["class_id"] = cls
    out["precarity_class"] = cls.map(lambda c: labels[c - 1] if pd.notna(c) else None).astype("string")
    out["top_indicators"] = _top_indicators(np.nan_to_num(contrib, nan=0.0), names)
    return out


def _scores(values: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Percentile rank of each indicator, oriented so that higher is more precarious."""
    scores = pd.DataFrame(index=values.index)
    for name in names:
        col = values[name]
        # An indicator with one value everywhere (e.g. no field report yet) says nothing: left out.
        if col.nunique(dropna=True) <= 1:
            scores[name] = np.nan
            continue
        scores[name] = (INDICATORS[name][0] * col).rank(pct=True, method="average")
    return scores


def _classes(index: np.ndarray, rows: pd.Index, n_classes: int) -> pd.Series:
    """Quantile class (1 = least precarious) of each index value; too few values are classed by percentile."""
    cls = pd.Series(pd.NA, index=rows, dtype="Int64")
    valid = ~np.isnan(index)
    if valid.sum() >= n_classes:
        order = pd.Series(index[valid]).rank(method="first")
        cls[valid] = pd.qcut(order, n_classes, labels=False).to_numpy() + 1
    elif valid.any():
        cls[valid] = np.ceil(pd.Series(index[valid]).rank(pct=True).to_numpy() * n_classes).astype(int)
    return cls


def _top_indicators(contrib: np.ndarray, names: list[str]) -> pd.api.extensions.ExtensionArray:
    """The :data:`TOP_N` largest positive contributions of each row, largest first, comma-separated."""
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :TOP_N]
    name_arr = np.array(names, dtype=object)
    tops = [",".join(name_arr[o[row[o] > 0]]) for row, o in zip(contrib, order, strict=False)]
    return pd.array(tops, dtype="string")
