"""A printed map in matplotlib: buildings by hazard class, roads, shelters, boundaries, legend, scale bar, north arrow.

Colours come from a perceptually uniform ramp (magma) whose lightness falls
with severity, so classes stay apart when the page is printed in grey.
Coordinates are the area's metric CRS, so the scale bar is in metres.
"""

from __future__ import annotations

import math

import geopandas as gpd
import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

NOT_AFFECTED = "#e6e6e6"
ROADS = "#a0a0a0"


def class_colours(classes: list[str]) -> dict[str, str]:
    """A colour per class, lightest for the least severe (first) class."""
    ramp = mpl.colormaps["magma_r"]
    stops = np.linspace(0.2, 0.85, max(len(classes), 1))
    return {c: mpl.colors.to_hex(ramp(s)) for c, s in zip(classes, stops, strict=False)}


def nice_length(span_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k m) of about a fifth of ``span_m``."""
    target = max(span_m / 5, 1.0)
    k = 10 ** math.floor(math.log10(target))
    return max(m * k for m in (1, 2, 5) if m * k <= target)


def scale_bar(ax: Axes, *, label_km: bool | None = None) -> float:
    """Draw a two-segment black and white scale bar in the lower left; returns its length in metres."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = nice_length(x1 - x0)
    h = (y1 - y0) * 0.012
    bx, by = x0 + (x1 - x0) * 0.04, y0 + (y1 - y0) * 0.04
    for i, face in enumerate(("black", "white")):
        ax.add_patch(Rectangle((bx + i * length / 2, by), length / 2, h, facecolor=face, edgecolor="black", lw=0.6))
    km = length >= 1000 if label_km is None else label_km
    text = f"{length / 1000:g} km" if km else f"{length:g} m"
    ax.text(bx, by + 1.8 * h, "0", fontsize=6, ha="center", va="bottom")
    ax.text(bx + length, by + 1.8 * h, text, fontsize=6, ha="center", va="bottom")
    return length


def north_arrow(ax: Axes, letter: str = "N") -> None:
    """An arrow pointing up (grid north of the projected CRS) in the upper right."""
    ax.annotate(
        letter,
        xy=(0.95, 0.95),
        xytext=(0.95, 0.86),
        xycoords="axes fraction",
        ha="center",
        va="center",
        fontsize=9,
        fontweight="bold",
        arrowprops={"facecolor": "black", "width": 2.5, "headwidth": 8, "headlength": 8},
    )


def draw_map(
    ax: Axes,
    *,
    buildings: gpd.GeoDataFrame,
    classes: list[str],
    class_labels: dict[str, str],
    words: dict[str, str],
    roads: gpd.GeoDataFrame | None = None,
    shelters: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    extent: tuple[float, float, float, float] | None = None,
) -> None:
    """Draw the map into ``ax``: everything in one projected CRS, framed on ``extent`` (else the buildings')."""
    colours = class_colours(classes)
    if extent is None:
        framed = next((f for f in (buildings, boundaries, roads) if f is not None and len(f)), buildings)
        extent = tuple(framed.total_bounds)
    xmin, ymin, xmax, ymax = extent
    pad = 0.03 * max(xmax - xmin, ymax - ymin, 1.0)
    ax.set_xlim(xmin - pad, xmax + pad)
    ax.set_ylim(ymin - pad, ymax + pad)
    ax.set_aspect("equal")
    window = (xmin - pad, ymin - pad, xmax + pad, ymax + pad)
    if roads is not None and len(roads):
        _clip(roads, window).plot(ax=ax, color=ROADS, linewidth=0.3, zorder=1)
    shown = _clip(buildings, window)
    hit = shown["hazard_class"].isin(classes)
    if (~hit).any():
        shown[~hit].plot(ax=ax, color=NOT_AFFECTED, edgecolor="#bdbdbd", linewidth=0.1, zorder=2)
    for c in classes:
        part = shown[shown["hazard_class"] == c]
        if len(part):
            part.plot(ax=ax, color=colours[c], edgecolor="black", linewidth=0.1, zorder=3)
    if boundaries is not None and len(boundaries):
        _clip(boundaries, window).boundary.plot(ax=ax, color="black", linewidth=0.4, zorder=4)
    if shelters is not None and len(shelters):
        s = _clip(shelters, window)
        ax.scatter(s.geometry.x, s.geometry.y, marker="^", s=14, facecolor="white", edgecolor="black", lw=0.6, zorder=5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    handles: list[Artist] = [Patch(facecolor=NOT_AFFECTED, edgecolor="#bdbdbd", label=words["not_affected"])]
    handles += [Patch(facecolor=colours[c], edgecolor="black", label=class_labels.get(c, c)) for c in classes]
    handles.append(Line2D([], [], color=ROADS, lw=1, label=words["roads"]))
    if boundaries is not None and len(boundaries):
        handles.append(Line2D([], [], color="black", lw=0.8, label=words["boundaries"]))
    if shelters is not None and len(shelters):
        handles.append(
            Line2D([], [], marker="^", ls="", markerfacecolor="white", markeredgecolor="black", label=words["shelters"])
        )
    ax.legend(handles=handles, title=words["legend"], loc="lower right", fontsize=6, title_fontsize=7, framealpha=0.9)
    scale_bar(ax)
    north_arrow(ax, words["north"])


def _clip(frame: gpd.GeoDataFrame, window: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """The features whose bounding boxes meet ``window`` (a spatial-index query, not a geometric clip)."""
    xmin, ymin, xmax, ymax = window
    return frame.cx[xmin:xmax, ymin:ymax]
