"""Hazard classes: parsing class specs and classifying values.

A numeric spec is ``low:0.1-0.7,medium:0.7-1.5,high:1.5-``: lower bound
inclusive, upper exclusive, an empty bound is open. Ranges must not overlap
or leave gaps between them (a value below the first lower bound is simply
not affected). A text spec is ``wet:yes`` or ``wet:yes|y|true,dry:no``,
matched case-insensitively after trimming. Classes are ordered from least
to most severe: numeric by lower bound, text in the order written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from layers.errors import InvalidInputError

DEFAULT_FLOOD_CLASSES = "low:0.1-0.7,medium:0.7-1.5,high:1.5-"
NOT_AFFECTED = -1


@dataclass(frozen=True)
class HazardClass:
    name: str
    lower: float = -math.inf
    upper: float = math.inf
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClassScheme:
    """An ordered set of hazard classes, least severe first."""

    classes: tuple[HazardClass, ...]
    kind: str  # "numeric" or "text"
    # InaSAFE's rule for its own class tables: ``min < x <= max`` (hazard_classifications.py docstring).
    right_closed: bool = False

    @property
    def edges(self) -> np.ndarray:
        """Numeric classes' bounds (float64): every lower bound, then the last upper bound."""
        return np.array([c.lower for c in self.classes] + [self.classes[-1].upper], dtype=np.float64)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    def spec(self) -> str:
        """The spec string this scheme parses from."""
        parts = []
        for c in self.classes:
            if self.kind == "text":
                parts.append(f"{c.name}:{'|'.join(c.values)}")
            else:
                lo = "" if math.isinf(c.lower) else f"{c.lower:g}"
                hi = "" if math.isinf(c.upper) else f"{c.upper:g}"
                parts.append(f"{c.name}:{lo}-{hi}")
        return ",".join(parts)

    def classify(self, values) -> np.ndarray:
        """Class index (int8) of every value, ``-1`` where no class applies (or NaN / missing)."""
        if self.kind == "text":
            flat = pd.Series(np.asarray(values, dtype=object).ravel(), dtype="string")
            text = flat.str.strip().str.lower().fillna("").to_numpy(dtype=object).reshape(np.shape(values))
            out = np.full(text.shape, NOT_AFFECTED, dtype=np.int8)
            for i, c in enumerate(self.classes):
                out[np.isin(text, c.values)] = i
            return out
        try:
            arr = np.asarray(values)
            # Compare in the data's own precision: a float32 grid's 0.7 is 0.69999999 in float64
            # and would otherwise fall into the class below the threshold it was written as.
            dtype = arr.dtype if arr.dtype.kind == "f" else np.float64
            arr = arr.astype(dtype, copy=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"hazard values are not numbers ({exc}); use a text class spec such as 'wet:yes' for text attributes"
            ) from None
        edges = self.edges.astype(dtype)
        # searchsorted over the lower bounds; values at or above the last upper bound are out
        # (right-closed: values at or below the first lower bound, or above the last upper bound).
        idx = np.searchsorted(edges, arr, side="left" if self.right_closed else "right") - 1
        inside = (idx >= 0) & (idx < len(self.classes)) & ~np.isnan(arr)
        return np.where(inside, idx, NOT_AFFECTED).astype(np.int8)


def parse_classes(spec: str, *, right_closed: bool = False) -> ClassScheme:
    """Parse a class spec; raise InvalidInputError naming the bad part.

    ``right_closed`` reads numeric ranges as InaSAFE does, ``lower < x <= upper``.
    """
    if right_closed:
        from dataclasses import replace

        return replace(parse_classes(spec), right_closed=True)
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInputError(
            "class spec is empty; expected e.g. 'low:0.1-0.7,medium:0.7-1.5,high:1.5-' or 'wet:yes'"
        )
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    parsed: list[tuple[str, str]] = []
    for part in parts:
        name, sep, rule = part.partition(":")
        name, rule = name.strip(), rule.strip()
        if not sep or not name or not rule:
            raise InvalidInputError(f"class '{part}' in spec '{spec}' must be NAME:LOW-HIGH or NAME:VALUE")
        if not name.replace("_", "").isalnum():
            raise InvalidInputError(f"class name '{name}' in spec '{spec}' must be letters, digits or _")
        parsed.append((name, rule))
    names = [n for n, _ in parsed]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInputError(f"class spec '{spec}' names {', '.join(dupes)} more than once")
    if all(_looks_numeric(rule) for _, rule in parsed):
        return _numeric_scheme(parsed, spec)
    if any(_looks_numeric(rule) for _, rule in parsed):
        raise InvalidInputError(f"class spec '{spec}' mixes numeric ranges and text values; use one kind")
    classes = tuple(
        HazardClass(name, values=tuple(v.strip().lower() for v in rule.split("|") if v.strip()))
        for name, rule in parsed
    )
    return ClassScheme(classes, "text")


def parse_displacement(spec: str | dict | None, scheme: ClassScheme | None = None) -> dict[str, float]:
    """Parse ``high:1.0,medium:0.3`` into ``{class: share displaced}``; classes not named get 0."""
    if spec is None or spec == "":
        rates: dict[str, Any] = {}  # numbers, or text to parse
    elif isinstance(spec, dict):
        rates = {str(k): v for k, v in spec.items()}
    else:
        rates = {}
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            name, sep, text = part.partition(":")
            if not sep:
                raise InvalidInputError(f"displacement '{part}' must be CLASS:RATE, e.g. 'high:1.0,medium:0.3'")
            if name.strip() in rates:
                raise InvalidInputError(f"displacement '{spec}' names class '{name.strip()}' twice")
            rates[name.strip()] = text.strip()
    out: dict[str, float] = {}
    for name, value in rates.items():
        try:
            rate = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(f"displacement rate '{value}' for class '{name}' is not a number") from None
        if not 0.0 <= rate <= 1.0:
            raise InvalidInputError(f"displacement rate {rate} for class '{name}' must be between 0 and 1")
        if scheme is not None and name not in scheme.names:
            raise InvalidInputError(
                f"displacement names class '{name}', which is not one of the hazard classes {scheme.names}"
            )
        out[name] = rate
    if scheme is not None:
        out = {n: out.get(n, 0.0) for n in scheme.names}
    return out


def _looks_numeric(rule: str) -> bool:
    lo, sep, hi = _split_range(rule)
    if not sep:
        return _is_number(rule)
    return (lo == "" or _is_number(lo)) and (hi == "" or _is_number(hi)) and (lo != "" or hi != "")


def _split_range(rule: str) -> tuple[str, str, str]:
    # A leading '-' belongs to a negative lower bound, not the separator.
    head = 1 if rule.startswith("-") and len(rule) > 1 and (rule[1].isdigit() or rule[1] == ".") else 0
    if head and "-" not in rule[1:]:
        return "", "-", rule[1:].strip()  # "-5": open lower bound up to 5
    lo, sep, hi = rule[head:].partition("-")
    return rule[:head] + lo.strip(), sep, hi.strip()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numeric_scheme(parsed: list[tuple[str, str]], spec: str) -> ClassScheme:
    classes = []
    for name, rule in parsed:
        lo, sep, hi = _split_range(rule)
        if not sep:
            raise InvalidInputError(f"class '{name}:{rule}' in spec '{spec}' needs a range LOW-HIGH (empty = open)")
        lower = float(lo) if lo else -math.inf
        upper = float(hi) if hi else math.inf
        if (lo and not math.isfinite(lower)) or (hi and not math.isfinite(upper)):
            raise InvalidInputError(
                f"class '{name}:{rule}' in spec '{spec}' has a bound that is not a finite number; "
                "leave a bound empty for an open range"
            )
        if not lower < upper:
            raise InvalidInputError(f"class '{name}' in spec '{spec}': lower bound {lo} is not below upper bound {hi}")
        classes.append(HazardClass(name, lower, upper))
    classes.sort(key=lambda c: c.lower)
    for a, b in zip(classes, classes[1:], strict=False):
        if b.lower < a.upper:
            raise InvalidInputError(
                f"classes '{a.name}' and '{b.name}' overlap in spec '{spec}'; "
                f"make {a.name}'s upper bound equal {b.name}'s lower bound"
            )
        if b.lower > a.upper:
            raise InvalidInputError(
                f"gap between classes '{a.name}' (up to {a.upper:g}) and '{b.name}' (from {b.lower:g}) "
                f"in spec '{spec}'; make the bounds meet"
            )
    return ClassScheme(tuple(classes), "numeric")


def class_names(index, names: list[str]) -> pd.api.extensions.ExtensionArray:
    """Class name of every class index (string array; NA where the index is -1, not affected)."""
    lookup = np.array([*names, None], dtype=object)
    idx = np.asarray(index, dtype=np.int64)
    return pd.array(lookup[np.where(idx >= 0, idx, len(names))], dtype="string")
