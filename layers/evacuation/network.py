"""Walk and drive networks built from road lines (OSM files or exports).

Road exports (HOT exports, the Jakarta shapefile) hold whole lines that are
*not* split at junctions, and GDAL's OSM driver returns whole ways. Topology
is rebuilt from **shared vertices**: a vertex becomes a network node when it is
the end of a line or when two or more lines (or one line twice) pass through
exactly the same coordinate (to ``precision_m``). Lines that merely cross
(bridges, flyovers) do not meet. Each line is cut at its nodes into edges.

A :class:`Network` keeps its edges as a GeoDataFrame (``edge_id, u, v,
length_m, road_class, oneway, road_id, name, geometry``; geometry runs from
``u`` to ``v``) and node coordinates as an array; routing code turns per-edge
costs into a sparse matrix with :meth:`Network.matrix`.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from layers.errors import EmptyLayerError, InvalidInputError
from layers.evacuation.edge_lines import EdgeLines
from layers.evacuation.snap import Snap, edge_pieces, snap_to_edges
from layers.io.crs import working_crs

# OSM highway values a pedestrian may not (or cannot yet) use.
WALK_EXCLUDED = frozenset(
    {"motorway", "motorway_link", "construction", "proposed", "abandoned", "raceway", "bus_guideway", "escape"}
)
# OSM highway values a car or ambulance cannot use.
DRIVE_EXCLUDED = frozenset(
    {
        "footway",
        "path",
        "pedestrian",
        "steps",
        "cycleway",
        "bridleway",
        "corridor",
        "elevator",
        "platform",
        "construction",
        "proposed",
        "abandoned",
        "raceway",
        "bus_guideway",
        "escape",
        "via_ferrata",
    }
)
# Typical urban emergency-vehicle speeds (km/h) by OSM highway value; others get DEFAULT_DRIVE_KPH.
DRIVE_SPEED_KPH = {
    "motorway": 60.0,
    "motorway_link": 40.0,
    "trunk": 50.0,
    "trunk_link": 35.0,
    "primary": 40.0,
    "primary_link": 30.0,
    "secondary": 35.0,
    "secondary_link": 25.0,
    "tertiary": 30.0,
    "tertiary_link": 25.0,
    "unclassified": 25.0,
    "residential": 20.0,
    "road": 20.0,
    "living_street": 10.0,
    "service": 10.0,
    "track": 10.0,
}
DEFAULT_DRIVE_KPH = 15.0
MODES = ("walk", "drive")


class Network:
    """A routable network: edges between integer nodes ``0..n_nodes-1``, in a metric CRS.

    Edges are kept as a table of attributes (:attr:`table`) and their lines as coordinates
    (:attr:`lines`, :class:`~layers.evacuation.edge_lines.EdgeLines`); :attr:`edges`, the GeoDataFrame
    of both, is made on first use. Routing a country touches only the table and the coordinates.
    Give either ``edges`` (a GeoDataFrame) or ``table`` and ``lines``.
    """

    def __init__(
        self,
        edges: gpd.GeoDataFrame | None = None,
        nodes_xy: np.ndarray | None = None,
        mode: str = "walk",
        crs: CRS | None = None,
        *,
        table: pd.DataFrame | None = None,
        lines: EdgeLines | None = None,
    ) -> None:
        if (edges is None) == (table is None or lines is None):
            raise TypeError("Network takes edges, or table and lines")
        self._edges = edges
        self._table = table
        self._lines = lines
        self.nodes_xy = np.zeros((0, 2)) if nodes_xy is None else nodes_xy
        self.mode = mode
        self.crs = crs
        self._piece_cache: dict | None = None

    def __repr__(self) -> str:
        return f"Network(mode={self.mode!r}, nodes={self.n_nodes}, edges={self.n_edges}, crs={self.crs!r})"

    @property
    def table(self) -> pd.DataFrame:
        """Edge attributes (``edge_id, u, v, length_m, road_class, oneway, road_id, name``), no geometry."""
        if self._table is None:
            assert self._edges is not None
            self._table = pd.DataFrame(self._edges.drop(columns=self._edges.geometry.name))
        return self._table

    @property
    def lines(self) -> EdgeLines:
        """Every edge's vertices, from ``u`` to ``v``."""
        if self._lines is None:
            assert self._edges is not None
            self._lines = EdgeLines.from_geoms(self._edges.geometry.to_numpy())
        return self._lines

    @property
    def edges(self) -> gpd.GeoDataFrame:
        """The edges as a GeoDataFrame (table and lines; made once, on first use)."""
        if self._edges is None:
            self._edges = gpd.GeoDataFrame(self.table, geometry=self.lines.geoms(), crs=self.crs)
        return self._edges

    def edge_lines(self, ids: np.ndarray | None = None) -> np.ndarray:
        """Shapely lines of the edges ``ids`` (default all): made from the coordinates unless :attr:`edges`
        already holds them."""
        if self._edges is not None:
            geoms = self._edges.geometry.to_numpy()
            return geoms if ids is None else geoms[np.asarray(ids, dtype=np.int64)]
        return self.lines.geoms(ids)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes_xy)

    @property
    def n_edges(self) -> int:
        return len(self._table) if self._table is not None else len(self.edges)

    def nodes(self) -> gpd.GeoDataFrame:
        """Nodes as points (``node_id``) in the network CRS."""
        return gpd.GeoDataFrame(
            {"node_id": np.arange(self.n_nodes)}, geometry=shapely.points(self.nodes_xy), crs=self.crs
        )

    def two_way(self) -> np.ndarray:
        """Whether each edge may be travelled against its geometry (always, when walking)."""
        if self.mode == "walk":
            return np.ones(self.n_edges, dtype=bool)
        return ~self.table["oneway"].to_numpy(dtype=bool)

    def arcs(self, cost: np.ndarray, *, reverse: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Directed arcs ``(tail, head, cost, edge index)`` of the usable edges (finite ``cost``).

        ``reverse`` flips every arc (for searches from the destinations back to the origins).
        """
        cost = np.asarray(cost, dtype=np.float64)
        if cost.shape != (self.n_edges,):
            raise InvalidInputError(f"edge cost has {cost.shape} values, the network has {self.n_edges} edges")
        u = self.table["u"].to_numpy(np.int64)
        v = self.table["v"].to_numpy(np.int64)
        back = self.two_way()
        ids = np.arange(self.n_edges)
        tail = np.concatenate([u, v[back]])
        head = np.concatenate([v, u[back]])
        w = np.concatenate([cost, cost[back]])
        edge = np.concatenate([ids, ids[back]])
        ok = np.isfinite(w) & (tail != head)
        tail, head, w, edge = tail[ok], head[ok], w[ok], edge[ok]
        return (head, tail, w, edge) if reverse else (tail, head, w, edge)

    def matrix(self, cost: np.ndarray, *, reverse: bool = False) -> sparse.csr_matrix:
        """Sparse adjacency matrix of :meth:`arcs` (parallel arcs keep the cheapest)."""
        tail, head, w, _ = self.arcs(cost, reverse=reverse)
        return arcs_matrix(tail, head, w, self.n_nodes)[0]

    def components(self) -> np.ndarray:
        """Weakly connected component label of every node."""
        m = self.matrix(self.table["length_m"].to_numpy())
        return connected_components(m, directed=True, connection="weak")[1]

    def snap(self, geoms, *, max_distance_m: float, usable: np.ndarray | None = None) -> Snap:
        """Nearest edge (among ``usable`` ones, default all) of every geometry within ``max_distance_m``
        (:func:`layers.evacuation.snap.snap_to_edges`)."""
        return snap_to_edges(self, geoms, max_distance_m=max_distance_m, usable=usable)

    def pieces(self) -> dict[str, np.ndarray]:
        """Pieces of every edge for nearest-edge search, built once (:func:`~layers.evacuation.snap.edge_pieces`)."""
        if self._piece_cache is None:
            self._piece_cache = edge_pieces(self.lines)
        return self._piece_cache

    def drop_pieces(self) -> None:
        """Forget the pieces and their KD-tree (:meth:`pieces`; rebuilt when next needed): a city's take
        hundreds of MB that a one-off run need not keep while it routes."""
        self._piece_cache = None


def arcs_matrix(tail: np.ndarray, head: np.ndarray, w: np.ndarray, n: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    """CSR matrix of the finite arcs keeping the cheapest of parallel arcs, and which input arc each entry is.

    Entries are in (tail, head) order, so ``searchsorted(tail * n + head)`` finds an arc.
    Zero costs become 1e-9 (scipy.sparse would drop an explicit zero).
    """
    finite = np.flatnonzero(np.isfinite(w))
    key = tail[finite].astype(np.int64) * n + head[finite]
    order = finite[np.argsort(key, kind="stable")]
    key = tail[order].astype(np.int64) * n + head[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    if len(first) < len(order):  # parallel arcs: keep the cheapest of each group
        cheapest = np.minimum.reduceat(w[order], first)
        pos = np.arange(len(order))
        hit = w[order] == np.repeat(cheapest, np.diff(np.r_[first, len(order)]))
        pick = np.minimum.reduceat(np.where(hit, pos, len(order)), first)
        order = order[pick]
    else:
        order = order[first]
    t, h, c = tail[order], head[order], np.maximum(w[order], 1e-9)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(t, minlength=n), out=indptr[1:])
    return sparse.csr_matrix((c, h, indptr), shape=(n, n)), order


def network_from_roads(
    roads: gpd.GeoDataFrame, *, mode: str = "walk", precision_m: float = 0.01, source: str = "roads"
) -> Network:
    """Build a walk or drive network from road lines in a metric CRS.

    Parameters
    ----------
    roads
        Lines with ``road_class`` (OSM highway value) and ``oneway`` (bool, True = one way in the
        direction of the geometry); ``road_id`` and ``name`` are carried when present.
    mode
        ``"walk"`` (every edge both ways, footways and paths included, motorways excluded) or
        ``"drive"`` (one-way streets respected, footways and paths excluded).
    precision_m
        Vertices closer than this (on a grid) are the same node.
    source
        The layer's name in error messages.

    A layer with no usable line gives a network without edges (:func:`require_edges` turns that
    into an error where routing needs one).
    """
    lines = _usable_lines(roads, mode, source)
    coords, line_of, vid = _vertices(lines.geometry.to_numpy(), precision_m)
    if len(coords) == 0:
        empty = gpd.GeoDataFrame(
            {c: pd.Series(dtype=t) for c, t in EDGE_DTYPES.items()}, geometry=gpd.GeoSeries([]), crs=roads.crs
        )
        return Network(edges=empty, nodes_xy=np.zeros((0, 2)), mode=mode, crs=roads.crs)
    cut = _cut_at_nodes(coords, line_of, vid)
    del coords, line_of, vid
    # The attributes each edge takes from its line (not the lines' geometry), text kept as Arrow strings:
    # a country's edges are never millions of Python string objects.
    src = pd.DataFrame(lines[[c for c in ("road_class", "oneway", "road_id", "name") if c in lines]]).iloc[cut.line]
    n_pieces = len(cut.line)
    cols = {
        "edge_id": np.arange(n_pieces, dtype=np.int64),
        "u": cut.u,
        "v": cut.v,
        "length_m": cut.lines.lengths(),
        "road_class": src["road_class"].astype("string").str.lower().astype("str").array,
        "oneway": (
            src["oneway"].fillna(False).astype(bool).to_numpy() if "oneway" in src else np.zeros(n_pieces, bool)
        ),
        "road_id": src["road_id"].to_numpy() if "road_id" in src else np.arange(n_pieces) + 1,
        "name": src["name"].to_numpy() if "name" in src else np.full(n_pieces, None, dtype=object),
    }
    # Lines stay coordinates (Network.lines) until something asks for shapely lines.
    return Network(table=pd.DataFrame(cols), lines=cut.lines, nodes_xy=cut.nodes_xy, mode=mode, crs=roads.crs)


def require_edges(network: Network, source: str = "roads") -> Network:
    """``network`` itself, or :class:`~layers.errors.EmptyLayerError` naming ``source`` when it has no edge."""
    if network.n_edges == 0:
        usable = "walked" if network.mode == "walk" else "driven"
        raise EmptyLayerError(f"{source}: no road line that can be {usable} (the layer is empty or has no such road)")
    return network


# Column types of an edge table (an empty network keeps them).
EDGE_DTYPES = {
    "edge_id": "int64",
    "u": "int64",
    "v": "int64",
    "length_m": "float64",
    "road_class": "string",
    "oneway": "bool",
    "road_id": "int64",
    "name": "object",
}


def _usable_lines(roads: gpd.GeoDataFrame, mode: str, source: str) -> gpd.GeoDataFrame:
    """Single lines of the road classes ``mode`` may use, after checking mode, CRS and columns."""
    if mode not in MODES:
        raise InvalidInputError(f"network mode '{mode}' is not one of {', '.join(MODES)}")
    if roads.crs is not None and not roads.crs.is_projected:
        raise InvalidInputError(
            f"{source} are in {roads.crs.name}, a geographic CRS; reproject them to the area's metric CRS first"
        )
    if "road_class" not in roads.columns:
        raise InvalidInputError(f"{source} have no 'road_class' column (columns: {', '.join(map(str, roads.columns))})")
    excluded = WALK_EXCLUDED if mode == "walk" else DRIVE_EXCLUDED
    road_class = roads["road_class"].astype("string").str.lower().fillna("")
    lines = roads.loc[~road_class.isin(excluded).to_numpy() & ~roads.geometry.is_empty & roads.geometry.notna()]
    lines = lines.explode(index_parts=False)
    return lines[shapely.get_type_id(lines.geometry.to_numpy()) == 1]


def _vertices(geoms: np.ndarray, precision_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices ``(xy, line index, vertex id)``: one id per distinct coordinate, repeats inside a line dropped."""
    coords, line_of = shapely.get_coordinates(geoms, return_index=True)
    key = np.round(coords[:, 0] / precision_m) + 1j * np.round(coords[:, 1] / precision_m)
    vid = pd.factorize(key)[0]
    repeat = np.zeros(len(vid), dtype=bool)
    repeat[1:] = (line_of[1:] == line_of[:-1]) & (vid[1:] == vid[:-1])
    return coords[~repeat], line_of[~repeat], vid[~repeat]


class _Cut(NamedTuple):
    """Lines cut at their nodes: one row per edge."""

    lines: EdgeLines
    line: np.ndarray  # index of the line each edge comes from
    u: np.ndarray
    v: np.ndarray
    nodes_xy: np.ndarray


def _cut_at_nodes(coords: np.ndarray, line_of: np.ndarray, vid: np.ndarray) -> _Cut:
    """Cut every line at its nodes: line ends, and vertices used more than once (shared by lines, or a
    line meeting itself)."""
    first = np.r_[True, line_of[1:] != line_of[:-1]]
    last = np.r_[line_of[1:] != line_of[:-1], True]
    is_node = np.bincount(vid, minlength=vid.max() + 1) >= 2
    is_node[vid[first]] = True
    is_node[vid[last]] = True

    # Segments (vertex i -> i+1 on the same line); an edge starts at each segment leaving a node.
    seg = np.flatnonzero(~last)
    starts_edge = is_node[vid[seg]]
    piece = np.cumsum(starts_edge) - 1
    n_pieces = int(piece[-1]) + 1 if len(piece) else 0
    piece_last_seg = np.r_[np.flatnonzero(piece[1:] != piece[:-1]), len(seg) - 1] if len(seg) else np.array([], int)
    piece_first_seg = np.flatnonzero(starts_edge)
    # Edge geometries: every segment start, then the end of the piece's last segment.
    total = len(seg) + n_pieces
    pts = np.empty((total, 2))
    owner = np.empty(total, dtype=np.int64)
    pos_seg = np.arange(len(seg)) + piece
    pos_end = piece_last_seg + np.arange(n_pieces) + 1
    pts[pos_seg] = coords[seg]
    owner[pos_seg] = piece
    pts[pos_end] = coords[seg[piece_last_seg] + 1]
    owner[pos_end] = np.arange(n_pieces)
    lines = EdgeLines.from_sorted(pts, owner, n_pieces)

    node_vids = np.flatnonzero(is_node)
    node_index = np.full(len(is_node), -1, dtype=np.int64)
    node_index[node_vids] = np.arange(len(node_vids))
    vid_xy = np.zeros((len(is_node), 2))
    vid_xy[vid] = coords
    u = node_index[vid[seg[piece_first_seg]]]
    v = node_index[vid[seg[piece_last_seg] + 1]]
    return _Cut(lines, line_of[seg[piece_first_seg]], u, v, vid_xy[node_vids])


def walk_network_from_osm(path: str | Path, *, crs=None) -> Network:
    """Walk network (footways and paths included) from an OSM file (.osm, .osm.bz2, .pbf)."""
    return network_from_roads(_osm_roads(path, crs=crs), mode="walk")


def drive_network_from_osm(path: str | Path, *, crs=None) -> Network:
    """Drive network (one-way streets respected) from an OSM file."""
    return network_from_roads(_osm_roads(path, crs=crs), mode="drive")


def _osm_roads(path: str | Path, *, crs=None) -> gpd.GeoDataFrame:
    from layers.io.osm import roads_from_osm

    roads = roads_from_osm(path, crs=crs)
    if crs is None and roads.crs is not None and not roads.crs.is_projected:
        roads = roads.to_crs(working_crs(roads))
    return roads


def drive_time_s(network: Network, *, speed_kph: float | None = None) -> np.ndarray:
    """Drive time (s) of every edge: ``DRIVE_SPEED_KPH`` by road class, or one ``speed_kph`` for all."""
    if speed_kph is not None:
        if not speed_kph > 0:
            raise InvalidInputError(f"drive speed {speed_kph} km/h must be positive")
        kph = np.full(network.n_edges, float(speed_kph))
    else:
        kph = network.table["road_class"].map(DRIVE_SPEED_KPH).fillna(DEFAULT_DRIVE_KPH).to_numpy(np.float64)
    return network.table["length_m"].to_numpy(np.float64) / (kph / 3.6)
