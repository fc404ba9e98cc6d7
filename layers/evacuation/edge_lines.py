"""A network's edge lines kept as one coordinate array, made into shapely lines only where asked.

A shapely line costs about 250 bytes however short it is; the vertices of a two-point edge, 32. A
country's ten million edges are 2.5 GB of line objects against 0.4 GB of coordinates, and a run
only needs lines for the edges it writes (the routes) or samples on a wet raster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely


@dataclass(frozen=True)
class EdgeLines:
    """Vertices of every edge, edge after edge: edge ``i`` runs through ``xy[start[i]:start[i + 1]]``."""

    xy: np.ndarray  # (vertices, 2) float64
    start: np.ndarray  # (edges + 1,) int64

    @classmethod
    def from_geoms(cls, geoms) -> EdgeLines:
        """The vertices of shapely lines (one edge per line, in order)."""
        geoms = np.asarray(geoms, dtype=object)
        xy, owner = shapely.get_coordinates(geoms, return_index=True)
        return cls(xy, _starts(np.bincount(owner, minlength=len(geoms))))

    @classmethod
    def from_sorted(cls, xy: np.ndarray, owner: np.ndarray, n: int) -> EdgeLines:
        """Vertices ``xy`` already grouped by edge, ``owner`` (ascending) naming each one's edge."""
        return cls(xy, _starts(np.bincount(owner, minlength=n)))

    def __len__(self) -> int:
        return len(self.start) - 1

    def counts(self) -> np.ndarray:
        """Vertices per edge."""
        return np.diff(self.start)

    def geoms(self, ids: np.ndarray | None = None) -> np.ndarray:
        """Shapely lines of the edges ``ids`` (default all), in that order."""
        if ids is None:
            counts, first = self.counts(), self.start[:-1]
        else:
            ids = np.asarray(ids, dtype=np.int64)
            counts, first = self.start[ids + 1] - self.start[ids], self.start[ids]
        if len(counts) == 0:
            return np.array([], dtype=object)
        return shapely.linestrings(self.xy[_ranges(first, counts)], indices=np.repeat(np.arange(len(counts)), counts))

    def take(self, ids: np.ndarray) -> EdgeLines:
        """The lines of the edges ``ids`` only, as their own :class:`EdgeLines`."""
        ids = np.asarray(ids, dtype=np.int64)
        counts = self.start[ids + 1] - self.start[ids]
        return EdgeLines(self.xy[_ranges(self.start[ids], counts)], _starts(counts))

    def bounds(self) -> np.ndarray:
        """``(minx, miny, maxx, maxy)`` of every edge (NaN for an edge without vertices)."""
        out = np.full((len(self), 4), np.nan)
        has = self.counts() > 0
        if has.any():
            first = self.start[:-1][has]
            for k, (col, ufunc) in enumerate(((0, np.minimum), (1, np.minimum), (0, np.maximum), (1, np.maximum))):
                out[has, k] = ufunc.reduceat(self.xy[:, col], first)
        return out

    def lengths(self) -> np.ndarray:
        """Length of every edge, summed segment by segment as GEOS does (``shapely.length``)."""
        d = np.diff(self.xy, axis=0)
        seg = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
        out = np.zeros(len(self))
        owner = np.repeat(np.arange(len(self)), self.counts())
        same = owner[1:] == owner[:-1]  # segments inside an edge, not from one edge's end to the next's start
        np.add.at(out, owner[1:][same], seg[same])
        return out


def _starts(counts: np.ndarray) -> np.ndarray:
    start = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return start


def _ranges(first: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(f, f + c) for f, c in zip(first, counts)])`` without a Python loop."""
    total = int(counts.sum())
    offset = np.repeat(first - (np.cumsum(counts) - counts), counts)
    return offset + np.arange(total, dtype=np.int64)
