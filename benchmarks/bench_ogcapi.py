"""OGC API – Features as GIS clients use it: GDAL 3.6's OAPIF client (Debian's ogr2ogr) and QGIS's OAPIF provider.

A real server (waitress, in a thread of this process) serves the Jakarta build. The user
jobs, each timed whole:

* ``ogr2ogr`` copies the three largest collections into a GeoPackage, pages of the
  API's shared ``limit`` (``components/parameters/limit``, what QGIS and GDAL >= 3.7 read;
  GDAL 3.6 is given it as ``-oo PAGE_SIZE``) vs the same server at the old page sizes
  (``--peer-pages``, default 100 = the old server default, and GDAL 3.6's own default 10);
* QGIS (PyQGIS headless, ``/usr/bin/python3``, when installed) loads the buildings with its
  defaults: the API as it is vs the API announcing the old default of 100.

The copies must agree with the build (same feature count per layer). Prints seconds, item
requests, the ratio to the peer and peak memory (this process, and the GDAL/QGIS children).

Run: ``.venv/bin/python benchmarks/bench_ogcapi.py [--build area.gpkg] [--peer-pages 100,10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import pyogrio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geoapp import create_app  # noqa: E402
from geoapp.ogcapi import core, openapi  # noqa: E402

OGR2OGR = shutil.which("ogr2ogr", path="/usr/bin") or "ogr2ogr"
QGIS_PYTHON = "/usr/bin/python3"
CHECKS = ROOT / "tests" / "qgis" / "qgis_checks.py"


def build(path: Path) -> Path:
    from layers.area import load_area
    from layers.build import build_area

    if not path.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            build_area(load_area(ROOT / "data" / "jakarta"), path, progress=False)
    return path


class Server:
    """The app under waitress on a free loopback port, counting item requests per collection."""

    def __init__(self, gpkg: Path, tmp: Path):
        from waitress import create_server

        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench",
                "BUILD": str(gpkg),
                "DATABASE_URL": f"sqlite:///{tmp / 'reports.db'}",
                "ANON_RATE_LIMIT": "1000000/hour",
            }
        )
        self.items = 0
        inner = app.wsgi_app

        def counting(environ, start_response):
            if environ.get("PATH_INFO", "").endswith("/items"):
                self.items += 1
            return inner(environ, start_response)

        app.wsgi_app = counting
        self.server = create_server(app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}/ogcapi"
        threading.Thread(target=self.server.run, daemon=True).start()

    def close(self) -> None:
        self.server.close()


def set_default_limit(limit: int) -> None:
    """What the API announces and serves when a client sends no limit (the peer: the old 100)."""
    openapi._PARAMS["limit"]["schema"]["default"] = limit
    core.DEFAULT_LIMIT = limit


def ogr2ogr(server: Server, layers: list[str], page: int, out: Path) -> tuple[float, int]:
    out.unlink(missing_ok=True)
    before = server.items
    started = time.perf_counter()
    for name in layers:  # one run per layer, as a user would; the first creates the GeoPackage
        mode = ["-update"] if out.exists() else []
        cmd = [OGR2OGR, *mode, "-f", "GPKG", str(out), f"OAPIF:{server.url}", name, "-oo", f"PAGE_SIZE={page}"]
        subprocess.run(cmd, check=True, capture_output=True, timeout=3600)
    return time.perf_counter() - started, server.items - before


def qgis_load(server: Server, collection: str) -> dict | None:
    if subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode != 0:
        return None
    job = {"oapif": {"url": server.url, "collection": collection}}
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    before = server.items
    run = subprocess.run(
        [QGIS_PYTHON, str(CHECKS), json.dumps(job)], capture_output=True, text=True, env=env, timeout=900, check=True
    )
    seen = json.loads(run.stdout.strip().splitlines()[-1])["oapif"]
    return {"seconds": seen["seconds"], "count": seen["count"], "requests": server.items - before}


def server_page(gpkg: Path, layer: str, limit: int = 10_000) -> None:
    """Server-only seconds per 10,000-feature page (no HTTP): cached texts (first page pays the layer's encoding)
    vs the uncached path (read the page from the GeoPackage, reproject, encode), in CRS84."""
    from pyproj import CRS

    from layers.publish import feature_pages, features

    crs = CRS.from_user_input("OGC:CRS84")
    n = pyogrio.read_info(gpkg, layer=layer)["features"]
    offsets = list(range(0, n, limit))
    feature_pages.clear()
    started = time.perf_counter()
    feature_pages.select_texts(gpkg, layer, crs=crs, offset=0, limit=limit)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for off in offsets:
        feature_pages.select_texts(gpkg, layer, crs=crs, offset=off, limit=limit)
    warm = (time.perf_counter() - started) / len(offsets)
    started = time.perf_counter()
    for off in offsets:
        page, _ = features.select_features(gpkg, layer, offset=off, limit=limit)
        features.features_geojson_texts(page, crs=crs)
    uncached = (time.perf_counter() - started) / len(offsets)
    feature_pages.clear()
    print(
        f"server only, {layer} in CRS84, s per {limit:,}-feature page: cached {warm:.3f} "
        f"(first page, encoding all {n:,}: {first:.2f}) vs uncached {uncached:.3f}; "
        f"ratio {warm / uncached:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, help="a built GeoPackage (default: build the Jakarta sample)")
    parser.add_argument("--peer-pages", default="100,10", help="old page sizes to compare with")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-ogcapi-"))
    try:
        gpkg = build(args.build or tmp / "area.gpkg")
        counts = {
            name: pyogrio.read_info(gpkg, layer=name)["features"]
            for name, geom in pyogrio.list_layers(gpkg)
            if geom and name not in ("layer_styles", "geoapp_metadata")
        }
        largest = sorted(counts, key=counts.get, reverse=True)[:3]
        total = sum(counts[n] for n in largest)
        print(f"three largest collections: {', '.join(f'{n} ({counts[n]:,})' for n in largest)}; {total:,} features")
        server_page(gpkg, largest[0])
        server = Server(gpkg, tmp)
        limit = openapi._PARAMS["limit"]["schema"]["default"]
        # warm the server (layer facts, pygeofilter's grammar) so neither run pays for it
        subprocess.run([OGR2OGR, "-f", "GPKG", str(tmp / "w.gpkg"), f"OAPIF:{server.url}", "isochrones"], check=True)

        out = tmp / "copy.gpkg"
        ours, requests = ogr2ogr(server, largest, limit, out)
        for name in largest:
            assert pyogrio.read_info(out, layer=name)["features"] == counts[name], name
        print(f"ogr2ogr (GDAL 3.6 OAPIF), pages of the shared limit {limit:,}: {ours:.1f} s, {requests} item requests")
        for page in [int(p) for p in args.peer_pages.split(",") if p]:
            peer, peer_requests = ogr2ogr(server, largest, page, out)
            for name in largest:
                assert pyogrio.read_info(out, layer=name)["features"] == counts[name], name
            print(
                f"  peer, pages of {page}: {peer:.1f} s, {peer_requests} item requests; "
                f"ours / peer = {ours / peer:.3f} ({peer / ours:.0f}x faster)"
            )

        new = qgis_load(server, "buildings")
        if new is None:
            print("QGIS: PyQGIS not installed (apt-get install qgis python3-qgis); skipped")
        else:
            set_default_limit(100)
            old = qgis_load(server, "buildings")
            set_default_limit(limit)
            assert old is not None
            assert new["count"] == old["count"] == counts["buildings"]
            print(
                f"QGIS 3.22 OAPIF, {counts['buildings']:,} buildings with its defaults: {new['seconds']:.1f} s in "
                f"{new['requests']} item requests (API default {limit:,}) vs {old['seconds']:.1f} s in "
                f"{old['requests']} (old default 100); ratio {new['seconds'] / old['seconds']:.2f}"
            )
        server.close()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory: server process {own:.0f} MB, largest client (ogr2ogr / QGIS) {children:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
