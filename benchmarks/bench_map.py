"""The risk map: first payload and time to interactive in headless Chromium, ours vs a folium map.

Ours is the `/` page served by the app: the page, Leaflet and the map script,
then small GeoJSON tiles of the view and the hazard overlay PNG. The peer is
the usual way to publish such a map: one folium page with the same default
layers (buildings, facilities, RW boundaries) embedded as GeoJSON and the
same hazard overlay. Both are opened in Debian's chromium with the network
cut (no background tiles); the clock runs from navigation until the map has
drawn its data (ours: ``body[data-map-ready]``; folium: the page's ``load``
event, when every embedded layer is drawn). Answers must agree: both pages
show all 7,689 buildings (ours counts features and cluster counts of the
tiles it loaded).

Then the big-layer case without a browser: 100,000 synthetic buildings and
50,000 reports as tiles, city-wide to street level: time and size per tile.

Run: ``.venv/bin/python benchmarks/bench_map.py`` (about a minute; builds the
sample first when ``data/jakarta/build/area.gpkg`` is absent) or ``--full``
(1,000,000 buildings and 500,000 reports for the big-layer case).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _serve(app):
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs) -> None:
            pass

    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def _measure(browser, url: str, ready: str | None, runs: int) -> tuple[float, int, object]:
    """Median seconds to ready and bytes received (first, cold-cache run) for ``url``."""
    times, first_bytes, page_out = [], None, None
    for i in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        received = []
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.loadingFinished", lambda e, got=received: got.append(e["encodedDataLength"]))
        t0 = time.perf_counter()
        page.goto(url, wait_until="load")
        if ready:
            page.wait_for_selector(ready, timeout=60_000)
        times.append(time.perf_counter() - t0)
        page.wait_for_timeout(300)
        if i == 0:
            first_bytes = sum(received)
        if i == runs - 1:
            page_out = page
        else:
            context.close()
    return statistics.median(times), first_bytes, page_out


def browser_case(built: Path, runs: int) -> dict:
    import folium
    from playwright.sync_api import sync_playwright

    from geoapp import create_app
    from layers.area import load_area
    from layers.publish.render import hazard_overlay

    area = load_area(ROOT / "data" / "jakarta")
    tmp = Path(tempfile.mkdtemp(prefix="bench-map-"))
    app = create_app(
        {"SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{tmp / 'r.db'}", "BUILD": str(built), "MAP_TILES": ""}
    )
    with app.test_request_context():
        app.test_client().get("/")  # warm: layers read once per process, as on a running server
    httpd = _serve(app)
    url = f"http://127.0.0.1:{httpd.server_port}/"

    # The peer: a folium page with the same default layers embedded.
    t0 = time.perf_counter()
    m = folium.Map(tiles=None, prefer_canvas=True)
    spec = area.hazard()
    ov = hazard_overlay(spec.path, spec.classes)
    w, s, e, n = ov.bounds
    (tmp / "hazard.png").write_bytes(ov.png)
    folium.raster_layers.ImageOverlay(str(tmp / "hazard.png"), bounds=[[s, w], [n, e]], opacity=0.8).add_to(m)
    buildings = area.buildings().to_crs(4326)
    for name, gdf in (
        ("buildings", buildings[["building_id", "building_type", "geometry"]]),
        ("facilities", area.facilities().to_crs(4326)[["facility_id", "category", "geometry"]]),
        ("rw", area.boundary_layer("rw").to_crs(4326)),
    ):
        folium.GeoJson(gdf, name=name).add_to(m)
    m.fit_bounds([[s, w], [n, e]])
    peer_html = tmp / "folium.html"
    m.save(str(peer_html))
    peer_build_s = time.perf_counter() - t0
    # folium loads Leaflet, jQuery and Bootstrap from CDNs: serve the vendored Leaflet instead, drop the rest.
    vendor = ROOT / "layers" / "publish" / "assets" / "vendor" / "leaflet"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)

        def route(r):
            u = r.request.url
            if u.startswith(("http://127.0.0.1", "file://")):
                return r.continue_()
            if u.endswith("leaflet.js"):
                return r.fulfill(body=(vendor / "leaflet.js").read_bytes(), content_type="application/javascript")
            if u.endswith("leaflet.css"):
                return r.fulfill(body=(vendor / "leaflet.css").read_bytes(), content_type="text/css")
            return r.fulfill(body=b"", content_type="text/plain")

        ours_s, ours_bytes, page = _measure(browser, url, "body[data-map-ready='1']", runs)
        shown = page.evaluate("""() => {
            const b = window.geoappMap.layers.buildings; let n = 0;
            Object.values(b.parts).forEach(part => part.eachLayer(l => {
                const p = l.feature && l.feature.properties; n += (p && p.cluster_count) ? p.cluster_count : 1; }));
            return n; }""")
        page.context.close()

        peer_url = peer_html.as_uri()
        times, sizes = [], []
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.route("**/*", route)
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(peer_url, wait_until="load")
            page.wait_for_function(
                "document.querySelectorAll('.leaflet-overlay-pane canvas, .leaflet-overlay-pane svg').length > 0"
            )
            times.append(time.perf_counter() - t0)
            peer_count = page.evaluate("""() => Object.keys(window)
                .filter(k => k.startsWith('geo_json_') && window[k] && window[k].getLayers)
                .map(k => window[k].getLayers())
                .filter(ls => ls.length && ls[0].feature.properties.building_id !== undefined)
                .reduce((n, ls) => n + ls.length, 0)""")
            context.close()
        sizes.append(peer_html.stat().st_size)
        browser.close()
    httpd.shutdown()
    return {
        "ours_s": ours_s,
        "ours_bytes": ours_bytes,
        "ours_buildings_shown": shown,
        "peer_s": statistics.median(times),
        "peer_bytes": sizes[0],
        "peer_buildings": peer_count,
        "peer_build_s": peer_build_s,
        "buildings": len(buildings),
    }


def big_layer_case(n_buildings: int, n_reports: int) -> dict:
    import geopandas as gpd
    import shapely

    from layers.publish.tiles import TileIndex, collection_json

    rng = np.random.default_rng(42)
    x = 106.70 + rng.random(n_buildings) * 0.27
    y = -6.37 + rng.random(n_buildings) * 0.29
    t0 = time.perf_counter()
    b = gpd.GeoDataFrame(
        {
            "building_id": np.arange(n_buildings),
            "hazard_class": rng.choice(np.array(["low", "medium", "high", None], dtype=object), n_buildings),
        },
        geometry=shapely.box(x, y, x + 0.00012, y + 0.0001),
        crs=4326,
    )
    bi = TileIndex(b, properties=["hazard_class"], id_column="building_id", group="hazard_class")
    r = gpd.GeoDataFrame(
        {"id": np.arange(n_reports), "category": rng.choice(["flooding_observed", "blocked_road"], n_reports)},
        geometry=shapely.points(106.70 + rng.random(n_reports) * 0.27, -6.37 + rng.random(n_reports) * 0.29),
        crs=4326,
    )
    ri = TileIndex(r, properties=["category"], id_column="id", group="category")
    index_s = time.perf_counter() - t0
    rows = []
    for z in (11, 13, 15, 17):  # server zoom = map zoom - 1 (512 px tiles)
        for name, index, cap in (("buildings", bi, 1500), ("reports", ri, 800)):
            tx, ty = _tile_of(106.83, -6.2, z)
            times, sizes, clustered = [], [], 0
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    t1 = time.perf_counter()
                    tile = index.tile(z, tx + dx, ty + dy, max_features=cap)
                    body = collection_json(tile)
                    times.append(time.perf_counter() - t1)
                    sizes.append(len(body))
                    clustered += tile["clustered"]
            rows.append(
                {
                    "layer": name,
                    "zoom": z + 1,
                    "median_ms": 1000 * statistics.median(times),
                    "max_ms": 1000 * max(times),
                    "max_kb": max(sizes) / 1000,
                    "clustered": f"{clustered}/9",
                }
            )
    # Naive peer: the whole layer as one GeoJSON document.
    t1 = time.perf_counter()
    whole = b.to_json()
    naive_s = time.perf_counter() - t1
    return {"index_s": index_s, "rows": rows, "naive_s": naive_s, "naive_mb": len(whole) / 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="1M buildings / 500k reports for the big-layer case")
    ap.add_argument("--runs", type=int, default=3, help="page loads per map (median time reported)")
    ap.add_argument("--build", type=Path, default=ROOT / "data" / "jakarta" / "build" / "area.gpkg")
    args = ap.parse_args()

    if not args.build.exists():
        from layers.area import load_area
        from layers.build import build_area

        print(f"building {args.build} ...", flush=True)
        build_area(load_area(ROOT / "data" / "jakarta"), args.build)
    res = browser_case(args.build, args.runs)
    print("\nJakarta sample in headless Chromium (no background tiles), median of", args.runs, "loads")
    print(f"{'':28}{'first payload':>16}{'time to interactive':>22}{'buildings shown':>18}")
    print(
        f"{'ours: / (tiles)':28}{res['ours_bytes'] / 1e6:>13.2f} MB{res['ours_s']:>20.2f} s"
        f"{res['ours_buildings_shown']:>18,}"
    )
    print(
        f"{'peer: folium, GeoJSON inline':28}{res['peer_bytes'] / 1e6:>13.2f} MB{res['peer_s']:>20.2f} s"
        f"{res['peer_buildings']:>18,}"
    )
    print(
        f"ratios ours/peer: payload {res['ours_bytes'] / res['peer_bytes']:.2f}, "
        f"time {res['ours_s'] / res['peer_s']:.2f}  (targets: < 2 MB, < 3 s)"
    )
    assert res["ours_buildings_shown"] == res["buildings"] == res["peer_buildings"], (
        "both maps must show every building"
    )

    n_b, n_r = (1_000_000, 500_000) if args.full else (100_000, 50_000)
    big = big_layer_case(n_b, n_r)
    print(f"\nBig layers: {n_b:,} buildings, {n_r:,} reports; tile index built in {big['index_s']:.2f} s")
    print(f"{'layer':<11}{'map zoom':>9}{'median ms':>11}{'max ms':>9}{'max kB':>9}{'clustered':>11}")
    for row in big["rows"]:
        print(
            f"{row['layer']:<11}{row['zoom']:>9}{row['median_ms']:>11.1f}{row['max_ms']:>9.1f}{row['max_kb']:>9.1f}{row['clustered']:>11}"
        )
    print(f"peer: the whole buildings layer as one GeoJSON: {big['naive_mb']:.1f} MB in {big['naive_s']:.2f} s")
    print(json.dumps({"jakarta": res, "big": {k: v for k, v in big.items() if k != "rows"}}, default=str))


if __name__ == "__main__":
    main()
