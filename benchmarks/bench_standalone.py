"""The standalone HTML map (`geoapp export --format html`): ours against the same map built with folium.

The design names folium for web maps, so the standalone export was measured against a folium
build of the same content before choosing: buildings coloured by hazard class, facilities
(clustered with folium's FastMarkerCluster plugin), the RW boundaries and the hazard overlay,
all inline so the file works offline. Both files are opened from disk in Debian's chromium with
the network cut (folium's CDN scripts are served from the vendored Leaflet; its plugin's
MarkerCluster script from a local copy when one is installed, else the clusters are skipped).
The clock runs from navigation until the map has drawn its data. Ours is measured twice: with
the peer's layers only (the like-for-like row) and as exported (every layer, every scenario).
Printed: file size, time to first render (median of runs), the build time of each file, and the
ratios.

Run: ``.venv/bin/python benchmarks/bench_standalone.py [--runs 3]`` (builds the sample when
``data/jakarta/build/area.gpkg`` is absent).
"""

from __future__ import annotations

import argparse
import base64
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_map import CHROMIUM_ARGS  # noqa: E402

VENDOR = ROOT / "layers" / "publish" / "assets" / "vendor" / "leaflet"


SAME_AS_PEER = ("roads", "precarity_cells", "unreachable", "evacuation_routes", "shelters")


def ours(area, built: Path, out: Path, *, skip: tuple[str, ...] = SAME_AS_PEER) -> float:
    """The export, by default with only the peer's layers (buildings, facilities, boundaries, hazard)."""
    from layers.publish.standalone import standalone_map

    t0 = time.perf_counter()
    standalone_map(area, out, built=built, skip=skip)
    return time.perf_counter() - t0


def peer(area, built: Path, out: Path) -> float:
    import folium
    import geopandas as gpd
    from folium.plugins import FastMarkerCluster

    from layers.publish.render import hazard_overlay
    from layers.publish.styles import class_colours

    t0 = time.perf_counter()
    m = folium.Map(tiles=None, prefer_canvas=True)
    spec = area.hazard()
    ov = hazard_overlay(spec.path, spec.classes)
    w, s, e, n = ov.bounds
    png = "data:image/png;base64," + base64.b64encode(ov.png).decode()
    folium.raster_layers.ImageOverlay(png, bounds=[[s, w], [n, e]], opacity=0.8, name="hazard").add_to(m)
    exp = gpd.read_file(built, layer="exposure_buildings", engine="pyogrio")
    exp = exp[exp["scenario"] == spec.id].to_crs(4326)[["building_id", "hazard_class", "geometry"]]
    colours = class_colours(spec.classes.names)
    folium.GeoJson(
        exp,
        name="buildings",
        style_function=lambda f: {
            "fillColor": colours.get(f["properties"]["hazard_class"], "#d9d9d9"),
            "color": "#555",
            "weight": 0.3,
            "fillOpacity": 0.8,
        },
    ).add_to(m)
    fac = area.facilities().to_crs(4326)
    FastMarkerCluster(list(zip(fac.geometry.y, fac.geometry.x, strict=True)), name="facilities").add_to(m)
    folium.GeoJson(area.boundary_layer("rw").to_crs(4326)[["name", "geometry"]], name="rw").add_to(m)
    folium.LayerControl().add_to(m)
    m.fit_bounds([[s, w], [n, e]])
    m.save(str(out))
    return time.perf_counter() - t0


def first_render(path: Path, runs: int, ready: str) -> float:
    from playwright.sync_api import sync_playwright

    def route(r):
        u = r.request.url
        if u.startswith(("file://", "data:")):
            return r.continue_()
        if u.endswith("leaflet.js"):
            return r.fulfill(body=(VENDOR / "leaflet.js").read_bytes(), content_type="application/javascript")
        if u.endswith("leaflet.css"):
            return r.fulfill(body=(VENDOR / "leaflet.css").read_bytes(), content_type="text/css")
        return r.fulfill(body=b"", content_type="text/plain")

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.route("**/*", route)
            page = context.new_page()
            t0 = time.perf_counter()
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function(ready, timeout=120_000)
            times.append(time.perf_counter() - t0)
            context.close()
        browser.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from layers.area import load_area
    from layers.build import build_area

    area = load_area(ROOT / "data" / "jakarta")
    built = area.default_build_path
    if not built.exists():
        build_area(area, built, progress=False)
    tmp = Path(tempfile.mkdtemp(prefix="bench-standalone-"))
    ours_html, peer_html, full_html = tmp / "ours.html", tmp / "folium.html", tmp / "full.html"
    ours_build, peer_build = ours(area, built, ours_html), peer(area, built, peer_html)
    full_build = ours(area, built, full_html, skip=("roads",))
    ready = "document.body.getAttribute('data-map-ready') === '1'"
    ours_s, full_s = first_render(ours_html, args.runs, ready), first_render(full_html, args.runs, ready)
    drawn = "document.querySelectorAll('.leaflet-overlay-pane canvas, .leaflet-overlay-pane svg').length > 0"
    peer_s = first_render(peer_html, args.runs, drawn)
    ours_mb, peer_mb = ours_html.stat().st_size / 1e6, peer_html.stat().st_size / 1e6
    print(f"{'':24}{'file':>10}{'first render':>15}{'written in':>12}")
    print(f"{'geoapp, same layers':24}{ours_mb:>7.2f} MB{ours_s:>13.2f} s{ours_build:>10.2f} s")
    print(f"{'folium (same layers)':24}{peer_mb:>7.2f} MB{peer_s:>13.2f} s{peer_build:>10.2f} s")
    print(f"folium / geoapp: {peer_mb / ours_mb:.1f}x the size, {peer_s / ours_s:.1f}x the time to first render")
    full_mb = full_html.stat().st_size / 1e6
    row = f"{'geoapp, full export':24}{full_mb:>7.2f} MB{full_s:>13.2f} s{full_build:>10.2f} s"
    print(f"{row}  (every layer, both scenarios)")
    print("(folium's file leaves Leaflet, jQuery, Bootstrap and the cluster plugin on CDNs; ours inlines all it needs)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
