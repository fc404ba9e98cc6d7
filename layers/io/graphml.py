"""Road networks as osmnx graphs and GraphML: read one as road lines, write geoapp's network as one.

osmnx graphs are directed: a two-way street is two edges, ``u → v`` and
``v → u``, and osmnx marks the second with ``reversed``. Turned into road
lines, each street appears once, one-way streets keep their direction, and
the lines are the edges' own geometries (straight when osmnx has none), so a
network built from an osmnx graph routes exactly as the same roads given as
lines. A GraphML written here keeps the network's projected CRS and node
coordinates, so ``osmnx.load_graphml`` loads it as it was.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from layers.errors import InvalidInputError, UnreadableFileError
from layers.io.vectors import roads_from_frame


def is_graphml(path: str | Path) -> bool:
    return Path(str(path)).suffix.lower() == ".graphml"


def roads_from_graphml(path: str | Path, *, crs=None) -> gpd.GeoDataFrame:
    """Road lines (the road schema) from a GraphML file osmnx wrote or loads."""
    import osmnx as ox

    path = Path(path)
    if not path.exists():
        raise InvalidInputError(f"{path} does not exist")
    try:
        graph = ox.load_graphml(path)
    except (nx.NetworkXError, KeyError, ValueError, SyntaxError) as exc:  # SyntaxError: ElementTree ParseError
        raise UnreadableFileError(f"{path} is not a GraphML road graph osmnx can load ({exc})") from exc
    return roads_from_osmnx(graph, crs=crs, source=str(path))


def roads_from_osmnx(graph: nx.MultiDiGraph, *, crs=None, source: str = "osmnx graph") -> gpd.GeoDataFrame:
    """One road line per street of an osmnx graph: ``road_class`` from ``highway``, ``oneway``, ``name``."""
    import osmnx as ox

    if graph.number_of_edges() == 0:
        raise InvalidInputError(f"{source}: the graph has no edges")
    if "crs" not in graph.graph:
        raise InvalidInputError(f"{source}: the graph has no 'crs' attribute (osmnx graphs carry one)")
    edges = ox.graph_to_gdfs(graph, nodes=False, fill_edge_geometry=True).reset_index()
    oneway = edges["oneway"].map(_truthy).to_numpy() if "oneway" in edges else np.zeros(len(edges), bool)
    # osmnx's second edge of a two-way street is the same street drawn backwards. Its ``reversed``
    # flag cannot tell which (simplified edges merging ways of both directions carry [False, True]),
    # so the pair is found from the geometry: same two ends, same line once normalised.
    edges = edges.loc[~(_reverse_duplicates(edges) & ~oneway)]
    frame = pd.DataFrame(
        {
            "highway": edges["highway"].map(_first) if "highway" in edges else None,
            "oneway": edges["oneway"].map(_truthy) if "oneway" in edges else False,
            "name": edges["name"].map(_first) if "name" in edges else None,
            "osm_id": edges["osmid"].map(_first) if "osmid" in edges else None,
        }
    )
    raw = gpd.GeoDataFrame(frame, geometry=edges.geometry.to_numpy(), crs=edges.crs)
    return roads_from_frame(raw, crs=crs, source=source)


def _first(value):
    """osmnx keeps a list where a simplified edge merged ways with different values: take the first."""
    if isinstance(value, list):
        return value[0] if value else None
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def _truthy(value) -> bool:
    value = _first(value)
    return str(value).strip().lower() in ("true", "1", "yes")


def _reverse_duplicates(edges: gpd.GeoDataFrame) -> np.ndarray:
    """Edges repeating an earlier one backwards (ends swapped, the same line reversed): the second of each pair."""
    u, v = edges["u"].to_numpy(), edges["v"].to_numpy()
    keys = pd.DataFrame(
        {
            "a": np.minimum(u, v),
            "b": np.maximum(u, v),
            "line": shapely.to_wkb(shapely.normalize(edges.geometry.to_numpy())),
        }
    )
    return keys.duplicated(keep="first").to_numpy()


def network_to_graphml(network, path: str | Path) -> Path:
    """Write ``network`` (a :class:`~layers.evacuation.network.Network`) as a GraphML that osmnx loads.

    The file is what ``osmnx.save_graphml`` writes (every attribute a string, which
    ``osmnx.load_graphml`` types back by name), built with vectorised string operations:
    networkx's writer takes minutes on a city. Nodes carry ``x``/``y`` in the network's CRS;
    each edge carries ``osmid`` (the road id), ``length``, ``highway``, ``oneway``, ``name``,
    ``reversed`` and its ``geometry``. Edges that may be travelled both ways are written both
    ways, the second ``reversed``, as osmnx does (a walk network is two-way everywhere, as
    osmnx's walk graphs are).
    """
    e = network.edges
    two_way = network.two_way()
    crs = network.crs.to_string() if network.crs is not None else "EPSG:4326"
    oneway = e["oneway"].to_numpy(dtype=bool) & (network.mode == "drive")
    forward = pd.DataFrame(
        {
            "u": e["u"].to_numpy(),
            "v": e["v"].to_numpy(),
            "osmid": e["road_id"].to_numpy(),
            "length": e["length_m"].to_numpy(),
            "highway": e["road_class"].astype("string").fillna("unclassified").to_numpy(),
            "oneway": oneway,
            "name": e["name"].where(e["name"].map(lambda n: isinstance(n, str)), "").to_numpy(),
            "reversed": False,
            "geometry": shapely.to_wkt(e.geometry.to_numpy(), rounding_precision=-1),
        }
    )
    backward = forward[two_way].assign(
        u=forward["v"][two_way],
        v=forward["u"][two_way],
        reversed=True,
        geometry=shapely.to_wkt(shapely.reverse(e.geometry.to_numpy()[two_way]), rounding_precision=-1),
    )
    edges = pd.concat([forward, backward], ignore_index=True)
    attrs = ["osmid", "length", "highway", "oneway", "name", "reversed", "geometry"]
    keys = [("d0", "graph", "crs"), ("d1", "node", "x"), ("d2", "node", "y")]
    keys += [(f"d{3 + i}", "edge", a) for i, a in enumerate(attrs)]
    head = ['<?xml version="1.0" encoding="utf-8"?>', '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">']
    head += [f'<key id="{k}" for="{f}" attr.name="{a}" attr.type="string" />' for k, f, a in keys]
    head += ['<graph edgedefault="directed">', f'<data key="d0">{_xml(pd.Series([crs]))[0]}</data>']
    xy = network.nodes_xy
    nodes = (
        '<node id="'
        + pd.Series(np.arange(network.n_nodes)).astype(str)
        + '"><data key="d1">'
        + pd.Series(xy[:, 0]).map(repr)
        + '</data><data key="d2">'
        + pd.Series(xy[:, 1]).map(repr)
        + "</data></node>"
    )
    text = {
        "osmid": edges["osmid"].astype("int64").astype(str),
        "length": edges["length"].map(repr),
        "highway": _xml(edges["highway"].astype(str)),
        "oneway": edges["oneway"].map(str),
        "name": _xml(edges["name"].astype(str)),
        "reversed": edges["reversed"].map(str),
        "geometry": pd.Series(edges["geometry"]),
    }
    body = '<edge source="' + edges["u"].astype(str) + '" target="' + edges["v"].astype(str) + '">'
    for i, a in enumerate(attrs):
        body = body + f'<data key="d{3 + i}">' + text[a] + "</data>"
    body = body + "</edge>"
    path = Path(path)
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(head) + "\n")
        out.write("\n".join(nodes) + "\n")
        out.write("\n".join(body) + "\n")
        out.write("</graph>\n</graphml>\n")
    return path


def _xml(text: pd.Series) -> pd.Series:
    """XML-escaped text (``&``, ``<``, ``>``, ``"``)."""
    return (
        text.str.replace("&", "&amp;", regex=False)
        .str.replace("<", "&lt;", regex=False)
        .str.replace(">", "&gt;", regex=False)
        .str.replace('"', "&quot;", regex=False)
    )
