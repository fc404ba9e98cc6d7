"""Colours shared by every map and export: colour-blind-safe palettes.

Hazard classes use ColorBrewer's YlOrRd (sequential, safe for the common
colour-vision deficiencies and in greyscale); flood depth overlays use
ColorBrewer's Blues so water never looks like an exposure class; facility
categories use the Okabe–Ito qualitative palette.
"""

from __future__ import annotations

NOT_AFFECTED_COLOUR = "#bdbdbd"

# The default flood classes (layers.classes.DEFAULT_FLOOD_CLASSES), least severe first.
CLASS_COLOURS: dict[str, str] = {"low": "#fecc5c", "medium": "#fd8d3c", "high": "#bd0026"}

# Sequential ramps, light to dark, for any number of classes up to their length.
_YLORRD = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026", "#800026"]
DEPTH_RAMP = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"]

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#000000"]
CATEGORY_COLOURS: dict[str, str] = {
    "hospital": "#d55e00",
    "clinic": "#d55e00",
    "pharmacy": "#d55e00",
    "school": "#0072b2",
    "university": "#0072b2",
    "kindergarten": "#0072b2",
    "place_of_worship": "#cc79a7",
    "community_centre": "#009e73",
    "shelter": "#009e73",
    "police": "#000000",
    "fire_station": "#000000",
    "government": "#56b4e9",
    "market": "#e69f00",
    "water_point": "#56b4e9",
    "toilet": "#f0e442",
}
OTHER_CATEGORY_COLOUR = "#777777"


def _pick(ramp: list[str], n: int) -> list[str]:
    if n <= 0:
        return []
    if n == 1:
        return [ramp[-2]]
    step = (len(ramp) - 1) / (n - 1)
    return [ramp[round(i * step)] for i in range(n)] if n <= len(ramp) else [ramp[min(i, len(ramp) - 1)] for i in range(n)]


def class_colours(names: list[str]) -> dict[str, str]:
    """A colour per hazard class name (least severe first): the shared colours for the default names, else YlOrRd."""
    if names and all(n in CLASS_COLOURS for n in names):
        return {n: CLASS_COLOURS[n] for n in names}
    return dict(zip(names, _pick(_YLORRD[1:], len(names))))


def depth_colours(n: int) -> list[str]:
    """``n`` blues, light to dark, for hazard depth classes on the overlay."""
    return _pick(DEPTH_RAMP, n)


def category_colour(category: str | None) -> str:
    return CATEGORY_COLOURS.get(category or "", OTHER_CATEGORY_COLOUR)
