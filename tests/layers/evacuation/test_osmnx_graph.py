"""osmnx graphs as networks: a graph osmnx built from Kibera's OSM file routes exactly as the same roads given
as lines, and the GraphML geoapp writes is what osmnx loads."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from rasterio.transform import from_origin

from geoapp.cli import main
from layers.area import load_area
from layers.evacuation.files import evacuation_from_files
from layers.evacuation.network import network_from_roads
from layers.evacuation.osmnx_graph import network_from_osmnx
from layers.io.graphml import network_to_graphml, roads_from_osmnx
from layers.io.osm import buildings_from_osm
from tests.helpers import SAMPLE_AREA, write_raster

ox = pytest.importorskip("osmnx")
NAIROBI_UTM = "EPSG:32737"


@pytest.fixture(scope="module")
def kibera(shared_data, tmp_path_factory):
    """osmnx's own graph of Kibera (projected), saved by osmnx; the same edges as road lines; buildings; a flood."""
    tmp = tmp_path_factory.mktemp("kibera")
    osm = shared_data / "kibera" / "kibera_map_2012.osm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # osmnx warns about the file's age and its own settings
        graph = ox.project_graph(ox.graph_from_xml(osm, simplify=True, retain_all=True), to_crs=NAIROBI_UTM)
    ox.save_graphml(graph, tmp / "kibera.graphml")
    # the same streets as lines, one line per street as in a road export: osmnx's own undirected graph
    edges = ox.graph_to_gdfs(ox.convert.to_undirected(graph), nodes=False).reset_index()
    first = lambda v: v[0] if isinstance(v, list) else v  # noqa: E731  (osmnx lists merged ways' values)
    lines = gpd.GeoDataFrame(
        {
            "highway": edges["highway"].map(first),
            "oneway": edges["oneway"].astype(bool),
            "name": edges["name"].map(first) if "name" in edges else None,
        },
        geometry=edges.geometry.to_numpy(),
        crs=edges.crs,
    )
    lines.to_file(tmp / "lines.gpkg", layer="roads")
    buildings = buildings_from_osm(osm, crs=NAIROBI_UTM)
    buildings.to_file(tmp / "buildings.gpkg", layer="buildings")
    west, south, east, north = lines.total_bounds
    cols, rows = int((east - west) // 20) + 1, int((north - south) // 20) + 1
    depth = np.zeros((rows, cols))
    depth[:, cols // 2 - 4 : cols // 2 + 4] = 1.2  # a flooded north-south strip closes the roads crossing it
    write_raster(tmp / "flood.tif", depth, transform=from_origin(west, north, 20, 20), crs=NAIROBI_UTM)
    shelters = shared_data / "kibera" / "education.shp"
    return {"dir": tmp, "graph": graph, "shelters": shelters}


def _evacuate(k, roads: str) -> pd.DataFrame:
    layers, _ = evacuation_from_files(
        roads=roads,
        hazard=str(k["dir"] / "flood.tif"),
        buildings=str(k["dir"] / "buildings.gpkg"),
        shelters=str(k["shelters"]),
        progress=False,
    )
    return layers["evacuation_buildings"].set_index("building_id").sort_index()


def test_an_osmnx_graph_routes_as_the_same_roads_given_as_lines(kibera):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # buildings far from any road, as in the real file
        by_lines = _evacuate(kibera, str(kibera["dir"] / "lines.gpkg"))
        by_graph = _evacuate(kibera, str(kibera["dir"] / "kibera.graphml"))
    n = len(gpd.read_file(kibera["dir"] / "buildings.gpkg"))
    assert len(by_graph) == len(by_lines) == n > 100
    assert by_lines["reachable"].sum() > n / 2  # a real test: most buildings do reach a school
    assert (by_graph["reachable"] == by_lines["reachable"]).all()
    ok = by_lines["reachable"].astype(bool)
    np.testing.assert_allclose(by_graph.loc[ok, "distance_m"], by_lines.loc[ok, "distance_m"], rtol=1e-9)
    np.testing.assert_allclose(by_graph.loc[ok, "time_s"], by_lines.loc[ok, "time_s"], rtol=1e-9)
    assert (by_graph.loc[ok, "shelter_id"] == by_lines.loc[ok, "shelter_id"]).all()


def test_network_from_osmnx_has_one_edge_per_street(kibera):
    graph = kibera["graph"]
    # osmnx stores each two-way street twice; the road lines keep it once: the same streets as osmnx's own
    # undirected graph (which keeps a few merged two-way edges twice), each street exactly once
    undirected = ox.graph_to_gdfs(ox.convert.to_undirected(graph), nodes=False)
    roads = roads_from_osmnx(graph)
    lines = shapely.to_wkb(shapely.normalize(roads.geometry.to_numpy()))
    assert len(set(lines)) == len(lines)
    assert set(lines) == set(shapely.to_wkb(shapely.normalize(undirected.geometry.to_numpy())))
    edges = ox.graph_to_gdfs(graph, nodes=False)
    drive = network_from_osmnx(graph, mode="drive")
    assert drive.edges["oneway"].sum() == int(edges["oneway"].astype(bool).sum())


def test_osmnx_loads_the_graphml_geoapp_writes(tmp_path):
    area = load_area(SAMPLE_AREA)
    roads = area.roads()
    box = shapely.box(*roads.total_bounds).centroid.buffer(1500, cap_style="square")
    for mode in ("walk", "drive"):
        net = network_from_roads(roads[roads.intersects(box)], mode=mode)
        path = network_to_graphml(net, tmp_path / f"{mode}.graphml")
        graph = ox.load_graphml(path)
        assert graph.graph["crs"] == "EPSG:32748"
        assert graph.number_of_nodes() == net.n_nodes
        expected = net.n_edges + int(net.two_way().sum())  # both ways, as osmnx stores two-way streets
        assert graph.number_of_edges() == expected
        edges = ox.graph_to_gdfs(graph, nodes=False)
        assert edges["length"].sum() == pytest.approx(
            net.edges["length_m"].sum() + net.edges.loc[net.two_way(), "length_m"].sum()
        )
        np.testing.assert_allclose(edges.geometry.length, edges["length"], rtol=1e-9)
        # and back: the same network
        again = network_from_osmnx(graph, mode=mode)
        assert (again.n_nodes, again.n_edges) == (net.n_nodes, net.n_edges)
        assert again.edges["length_m"].sum() == pytest.approx(net.edges["length_m"].sum(), rel=1e-12)


def test_roads_from_osmnx_refuses_a_graph_without_crs():
    import networkx as nx

    from layers.errors import InvalidInputError

    graph = nx.MultiDiGraph()
    graph.add_edge(1, 2)
    with pytest.raises(InvalidInputError, match="no 'crs'"):
        roads_from_osmnx(graph)


def test_cli_exports_and_reads_a_graphml(tmp_path, kibera):
    out = tmp_path / "walk.graphml"
    result = CliRunner().invoke(main, ["export", str(SAMPLE_AREA), "--format", "graphml", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "walk network" in result.output
    assert ox.load_graphml(out).number_of_nodes() > 30_000
    both = ["evacuate", "--roads", str(kibera["dir"] / "lines.gpkg"), "--graphml", str(out), "--hazard", "x.tif"]
    result = CliRunner().invoke(main, both)
    assert result.exit_code == 2
    broken = tmp_path / "broken.graphml"
    broken.write_text("<graphml><graph>")
    result = CliRunner().invoke(
        main,
        ["evacuate", "--json", "--graphml", str(broken), "--hazard", str(kibera["dir"] / "flood.tif")]
        + ["--buildings", str(kibera["dir"] / "buildings.gpkg"), "--shelters", str(kibera["shelters"])],
    )
    assert result.exit_code == 1
    assert result.output.startswith("error:")
    assert "osmnx" in result.output
    assert "Traceback" not in result.output
    assert gpd.read_file(kibera["dir"] / "lines.gpkg").crs.to_epsg() == 32737
