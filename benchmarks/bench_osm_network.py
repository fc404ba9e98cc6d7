"""OSM file to a routable walk network: geoapp's parser against osmnx's, on real files, in one run.

The design names osmnx for OSM network parsing and simplification; this decides whether geoapp
should use it. Both jobs start from the same OSM XML file and end with a routable walk network:

* geoapp: ``walk_network_from_osm`` (GDAL's OSM driver, then shared-vertex topology in numpy);
* osmnx: ``graph_from_xml(simplify=True, retain_all=True)``, projected to the same UTM zone, then
  ``network_from_osmnx`` (the network the analyses use).

Each runs in its own process, measured by the OS (wall, CPU, peak RSS; ``benchmarks/measure.py``).
Files: Kibera 2012 (2.5 MB, ../shared/data/kibera) and, with ``--big``, the same file tiled 3 × 3
times with shifted ids and coordinates (a 22 MB city).

Run: ``.venv/bin/python benchmarks/bench_osm_network.py [--big]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import load_average, measured  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KIBERA = ROOT.parent / "shared" / "data" / "kibera" / "kibera_map_2012.osm"

OURS = """
import sys
from layers.evacuation.network import walk_network_from_osm
net = walk_network_from_osm(sys.argv[1])
print(net.n_nodes, net.n_edges)
"""

OSMNX = """
import sys, warnings
warnings.simplefilter("ignore")
import osmnx as ox
from layers.evacuation.osmnx_graph import network_from_osmnx
from layers.io.crs import working_crs
g = ox.graph_from_xml(sys.argv[1], simplify=True, retain_all=True)
nodes = ox.graph_to_gdfs(g, edges=False)
g = ox.project_graph(g, to_crs=working_crs(nodes))
net = network_from_osmnx(g, mode="walk")
print(net.n_nodes, net.n_edges)
"""


def tiled(src: Path, out: Path, n: int) -> Path:
    """``src`` repeated n × n times, each copy's ids offset and its coordinates shifted by its own extent."""
    import re

    text = src.read_text(encoding="utf-8")
    head, body = text.split("<node", 1)
    body = "<node" + body.rsplit("</osm>", 1)[0]
    lat = [float(v) for v in re.findall(r'lat="([-0-9.]+)"', body)]
    lon = [float(v) for v in re.findall(r'lon="([-0-9.]+)"', body)]
    dlat, dlon = max(lat) - min(lat), max(lon) - min(lon)
    parts = [head]
    for i in range(n):
        for j in range(n):
            k = i * n + j
            part = re.sub(r'(id|ref)="(\d+)"', lambda m, k=k: f'{m.group(1)}="{int(m.group(2)) + k * 10**10}"', body)
            part = re.sub(r'lat="([-0-9.]+)"', lambda m, i=i: f'lat="{float(m.group(1)) + i * dlat:.7f}"', part)
            part = re.sub(r'lon="([-0-9.]+)"', lambda m, j=j: f'lon="{float(m.group(1)) + j * dlon:.7f}"', part)
            parts.append(part)
    out.write_text("".join(parts) + "</osm>\n", encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big", action="store_true", help="also a 3 x 3 tiling of the file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = [("Kibera 2012", KIBERA)]
        if args.big:
            files.append(("Kibera 3x3", tiled(KIBERA, Path(tmp) / "kibera3x3.osm", 3)))
        print(f"load average {load_average()}")
        for name, path in files:
            ours = measured([sys.executable, "-c", OURS, str(path)])
            peer = measured([sys.executable, "-c", OSMNX, str(path)])
            print(
                f"{name} ({path.stat().st_size / 1e6:.1f} MB): geoapp {ours['wall_s']:.2f} s, "
                f"{ours['peak_mb']:.0f} MB peak; osmnx {peer['wall_s']:.2f} s, {peer['peak_mb']:.0f} MB peak; "
                f"osmnx / geoapp = {peer['wall_s'] / ours['wall_s']:.1f}x the time"
            )


if __name__ == "__main__":
    main()
