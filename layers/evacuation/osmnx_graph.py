"""An osmnx graph as geoapp's routable network (``network_from_osmnx``), via the same road lines."""

from __future__ import annotations

import networkx as nx

from layers.evacuation.network import Network, network_from_roads
from layers.io.graphml import roads_from_osmnx


def network_from_osmnx(graph: nx.MultiDiGraph, *, mode: str = "walk", crs=None) -> Network:
    """The walk or drive :class:`Network` of an osmnx graph (projected to ``crs``, which must be metric).

    The graph's streets become road lines, one per street, and the network is built from them as from
    any road layer: the same topology, lengths and one-way rules as the same roads given as lines.
    """
    roads = roads_from_osmnx(graph, crs=crs)
    return network_from_roads(roads, mode=mode, source="osmnx graph")


def roads_to_graphml(roads, out, *, mode: str = "walk") -> Network:
    """Write the walk or drive network of road lines as a GraphML osmnx loads; returns the network written."""
    from layers.evacuation.network import require_edges
    from layers.io.graphml import network_to_graphml

    network = require_edges(network_from_roads(roads, mode=mode), "roads")
    network_to_graphml(network, out)
    return network
