"""Hazard kinds: each kind's units, default classes, impact rules and words, one module per kind.

A kind is a :class:`Kind` named ``KIND`` in a module of this package; :func:`get_kind` finds it by
its key, so adding a kind is one module here plus its strings (``kind_<key>`` and
``legend_<key>`` in the i18n files). Classes follow InaSAFE's definitions
(``safe/definitions/hazard_classifications.py`` at inasafe/inasafe develop
``677c0421``), read the InaSAFE way: ``min < x <= max`` (``right_closed``).
Flood keeps geoapp's own depth classes (lower bound inclusive), as it always has.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from layers.errors import InvalidInputError
from layers.hazard.classes import ClassScheme, parse_classes

# People per class (any shape of numbers) -> people per class for one figure.
ByClass = Mapping[str, np.ndarray | float]


@dataclass(frozen=True)
class Kind:
    """What one kind of hazard brings: units, classes, impact rules and how people get away from it."""

    key: str
    units: str  # default units of a continuous layer
    classes: str  # default numeric class spec (raster values or numeric zone attributes)
    displacement: dict[str, float]  # share of the people in each class displaced (InaSAFE's displacement_rate)
    measure: str  # depth | intensity | thickness | speed | zone: picks the words and the value columns
    value_column: str  # per-building maximum value column of the exposure layers
    point_column: str  # per-facility value column
    evacuation: str  # high_ground | open_space | outside_zones
    text_classes: str | None = None  # default spec when zones hold text (InaSAFE's string_defaults)
    right_closed: bool = True
    units_classes: dict[str, str] = field(default_factory=dict)  # other units -> their spec
    fatality_models: dict[str, Callable[[int], float]] = field(default_factory=dict)  # model -> rate(MMI)
    default_fatality_model: str | None = None
    # (max value per building, structure type or None per building) -> damage class per building
    building_damage: Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None = None
    source: str = ""

    def scheme(self, spec: str | None = None, *, units: str | None = None, text: bool = False) -> ClassScheme:
        """The class scheme of ``spec``, else the kind's default (for ``units``; text values with ``text``)."""
        if spec is None:
            if text and self.text_classes:
                spec = self.text_classes
            elif units is not None and units != self.units and units in self.units_classes:
                spec = self.units_classes[units]
            else:
                spec = self.classes
        return parse_classes(spec, right_closed=self.right_closed)

    def fatalities(self, by_class: ByClass) -> dict[str, dict[str, np.ndarray]]:
        """Deaths per model and class: people in the class × the model's rate at its MMI.

        InaSAFE v4 ``population_post_processors.py``: ``fatalities = population * fatality_ratio``.
        Classes whose name is not an MMI level (I–X) get 0.
        """
        out: dict[str, dict[str, np.ndarray]] = {}
        for model, rate in self.fatality_models.items():
            out[model] = {
                c: np.asarray(p, np.float64) * (rate(MMI[c]) if c in MMI else 0.0) for c, p in by_class.items()
            }
        return out

    def displaced(self, by_class: ByClass, rates: Mapping[str, float]) -> np.ndarray:
        """Displaced people: InaSAFE v4 ``(population - fatalities) * displacement_ratio`` per class.

        Fatalities are those of the default fatality model (0 for kinds without one).
        """
        dead = self.fatalities(by_class).get(self.default_fatality_model or "", {})
        total: np.ndarray = np.zeros(np.shape(next(iter(by_class.values()), 0.0)))
        for c, p in by_class.items():
            total = total + (np.asarray(p, np.float64) - dead.get(c, 0.0)) * rates.get(c, 0.0)
        return total


ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
MMI = {r: i + 1 for i, r in enumerate(ROMAN)}


@cache
def kinds() -> dict[str, Kind]:
    """Every kind, by key: each module of this package with a ``KIND``."""
    found: dict[str, Kind] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        kind = getattr(module, "KIND", None)
        if isinstance(kind, Kind):
            found[kind.key] = kind
    return dict(sorted(found.items()))


def get_kind(key: str | None) -> Kind:
    """The kind named ``key`` (default flood); an unknown key is an error listing the kinds."""
    name = (key or "flood").strip().lower()
    if name not in kinds():
        raise InvalidInputError(f"hazard kind '{key}' is unknown; use one of {', '.join(kinds())}")
    return kinds()[name]


# Strings that name the hazard: one variant per kind (``key_<kind>``, ``key_multi``) ...
KIND_KEYS = ("scenario", "depth_legend", "exposure_legend", "map_intro", "dash_headline_caption")
# ... and strings that said "flooded" for any hazard: one neutral variant (``key_hazard``) for other kinds.
NEUTRAL_KEYS = (
    "js_not_affected",
    "col_hazard_class",
    "col_buildings_affected",
    "col_roads_affected_km",
    "col_safe",
    "col_facilities_affected",
    "map_label",
    "dash_title",
    "dash_headline",
    "dash_buildings_affected",
    "dash_roads_km",
    "rank_buildings_affected",
    "rank_roads_affected_km",
    "dash_no_observations",
)


def words_key(key: str, kinds_here) -> str:
    """The string key for a page of an area with hazards of ``kinds_here``: ``key`` itself when they are all
    floods (the words geoapp always had); else ``key_hazard`` for a neutral string, ``key_<kind>`` for one
    other kind, ``key_multi`` for several kinds."""
    found = {k or "flood" for k in kinds_here}
    if not found or found == {"flood"}:
        return key
    if key in NEUTRAL_KEYS:
        return f"{key}_hazard"
    return f"{key}_{found.pop()}" if len(found) == 1 else f"{key}_multi"


def kind_words(strings: Mapping[str, str], kinds_here) -> dict[str, str]:
    """``strings`` in the words of ``kinds_here``: kind-specific and neutral variants in place of the flood
    words, and no word of a kind the area does not have (an earthquake map never carries "Water depth")."""
    every = kinds()
    here = [every[k] for k in (list(kinds_here) or ["flood"]) if k in every]
    drop = {f"col_{c}" for c in foreign_columns(kinds_here)}
    drop |= {f"{p}_{k.key}" for k in every.values() if k not in here for p in ("js_legend", "js_kind")}
    if not any(k.measure == "depth" for k in here):
        drop.add("js_overlay_alt")
    out = {key: text for key, text in strings.items() if key not in drop}
    for key in (*KIND_KEYS, *NEUTRAL_KEYS):
        variant = words_key(key, [k.key for k in here])
        if key in out and variant != key and variant in strings:
            out[key] = strings[variant]
    return out


def foreign_columns(kinds_here) -> set[str]:
    """Value columns of kinds the area does not have (and ``flooded_share`` without a depth kind)."""
    every = kinds()
    here = [every[k] for k in (list(kinds_here) or ["flood"]) if k in every]
    keep = {c for k in here for c in (k.value_column, k.point_column)}
    out = {c for k in every.values() for c in (k.value_column, k.point_column)} - keep
    if not any(k.measure == "depth" for k in here):
        out.add("flooded_share")
    return out
