"""Exports: ``layers.publish.export.export_layers`` vs GDAL's own ``ogr2ogr`` on the same layers, per format.

Input: the Jakarta sample's built input layers (buildings 7,689, roads 18,574,
facilities 1,243, RW 2,685 and kelurahan 261 polygons), written to a
GeoPackage; ``--scale K`` repeats the buildings K times (shifted east) to make
big layers, ``--full`` is ``--scale 13`` (100k buildings).

For each format, ours writes every layer the way the app does (styles,
descriptions, metadata, RFC 7946, neutralised CSV, KML styled by class, zips);
the peer is one ``ogr2ogr`` run per layer with the matching driver options
(no styles, no metadata, no zip). Answers must agree: the same feature count
per layer and the same ids in the same order (FlatGeobuf: same set).
Also times the OGC API items endpoint paging through buildings (10,000 per
page) with the Flask test client.

Run: ``.venv/bin/python benchmarks/bench_export.py`` (a minute or two) or ``--full``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pandas as pd
import pyogrio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layers.publish.export import FORMATS, export_layers, write_geopackage  # noqa: E402

PEER_OPTIONS = {
    "gpkg": ["-f", "GPKG"],
    "shp": ["-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8"],
    "geojson": ["-f", "GeoJSON", "-lco", "RFC7946=YES", "-lco", "COORDINATE_PRECISION=7"],
    "csv": ["-f", "CSV", "-t_srs", "EPSG:4326", "-lco", "GEOMETRY=AS_WKT"],
    "kml": ["-f", "KML", "-t_srs", "EPSG:4326"],  # Debian GDAL 3.6 LIBKML took over 8 min on these layers
    "gpx": ["-f", "GPX", "-t_srs", "EPSG:4326", "-dsco", "GPX_USE_EXTENSIONS=YES"],
    "fgb": ["-f", "FlatGeobuf", "-lco", "SPATIAL_INDEX=YES"],
}
ID = {
    "buildings": "building_id",
    "roads": "road_id",
    "facilities": "facility_id",
    "boundaries_rw": "area_id",
    "boundaries_kelurahan": "area_id",
}


def source_layers(scale: int) -> dict:
    from layers.area import load_area
    from layers.build import inputs_step

    area = load_area(ROOT / "data" / "jakarta")
    layers = inputs_step(area, {})
    if scale > 1:
        b = layers["buildings"]
        width = b.total_bounds[2] - b.total_bounds[0] + 100
        copies = []
        for k in range(scale):
            c = b.copy()
            c["building_id"] = c["building_id"] + k * 10**10
            c["geometry"] = c.geometry.translate(xoff=k * width)
            copies.append(c)
        layers["buildings"] = pd.concat(copies, ignore_index=True).set_crs(b.crs, allow_override=True)
    return layers


def ours(fmt: str, layers: dict, out: Path) -> Path:
    if fmt == "gpx":
        layers = {"facilities": layers["facilities"]}
    single = not FORMATS[fmt].multi_layer and len(layers) > 1
    return export_layers(layers, out / f"ours{'.zip' if single else FORMATS[fmt].suffix}", format=fmt)


def peer(fmt: str, src: Path, names: list[str], out: Path) -> Path:
    if fmt == "gpx":
        names = ["facilities"]
    target = out / "peer"
    if fmt in ("gpkg", "kml"):
        target = out / f"peer{FORMATS[fmt].suffix}"  # one run writes every layer
        subprocess.run(["ogr2ogr", *PEER_OPTIONS[fmt], str(target), str(src), *names], check=True, capture_output=True)
        return target
    target.mkdir()
    for name in names:
        suffix = ".shp" if fmt == "shp" else FORMATS[fmt].suffix
        subprocess.run(
            ["ogr2ogr", *PEER_OPTIONS[fmt], str(target / f"{name}{suffix}"), str(src), name],
            check=True,
            capture_output=True,
        )
    return target


def read_ours(fmt: str, path: Path, name: str):
    if fmt in ("gpkg", "kml"):
        return pyogrio.read_dataframe(path, layer=name, read_geometry=False)
    if fmt == "gpx":
        return pyogrio.read_dataframe(path, layer="waypoints", read_geometry=False)
    inner = {"shp": f"{name}.shp"}.get(fmt, f"{name}{FORMATS[fmt].suffix}")
    return pyogrio.read_dataframe(f"/vsizip/{path}/{inner}", read_geometry=False)


def read_peer(fmt: str, path: Path, name: str):
    if fmt in ("gpkg", "kml"):
        return pyogrio.read_dataframe(path, layer=name, read_geometry=False)
    if fmt == "gpx":
        return pyogrio.read_dataframe(path / "facilities.gpx", layer="waypoints", read_geometry=False)
    suffix = ".shp" if fmt == "shp" else FORMATS[fmt].suffix
    return pyogrio.read_dataframe(path / f"{name}{suffix}", read_geometry=False)


def ids(df, name: str, fmt: str) -> list:
    col = ID[name]
    if fmt == "shp":
        col = col[:10]
    if fmt == "gpx":
        col = "ogr_" + col
    return [str(v).split(".")[0] for v in df[col].tolist()]


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*")) if path.is_dir() else path.stat().st_size


def bench_ogcapi(src: Path) -> tuple[int, float]:
    from geoapp import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "b", "BUILD": str(src), "DATABASE_URL": f"sqlite:///{tmp}/r.db"}
        )
        client = app.test_client()
        url, n, t0 = "/ogcapi/collections/buildings/items?limit=10000", 0, time.perf_counter()
        while url:
            doc = client.get(url).get_json()
            n += doc["numberReturned"]
            nxt = [
                link["href"]
                for link in doc["links"]
                if link["rel"] == "next" and link["type"] == "application/geo+json"
            ]
            url = nxt[0].replace("http://localhost", "") if nxt else None
        return n, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=1, help="repeat the buildings this many times")
    parser.add_argument("--full", action="store_true", help="--scale 13 (about 100k buildings)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated formats")
    args = parser.parse_args()
    if not shutil.which("ogr2ogr"):
        sys.exit("ogr2ogr (gdal-bin) is needed as the peer")
    scale = 13 if args.full else args.scale
    layers = source_layers(scale)
    counts = {n: len(g) for n, g in layers.items()}
    print(
        f"layers: {counts} ({sum(counts.values()):,} features); ogr2ogr: "
        f"{subprocess.run(['ogr2ogr', '--version'], capture_output=True, text=True).stdout.strip()}"
    )
    print(f"{'format':8} {'ours s':>8} {'ogr2ogr s':>10} {'ratio':>6} {'ours MB':>8} {'peer MB':>8}  agree")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        tmp = Path(tmp)
        src = write_geopackage(layers, tmp / "src.gpkg", styles=False)
        for fmt in args.formats.split(","):
            work = tmp / fmt
            work.mkdir()
            t0 = time.perf_counter()
            mine = ours(fmt, layers, work)
            t_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            theirs = peer(fmt, src, list(layers), work)
            t_peer = time.perf_counter() - t0
            names = ["facilities"] if fmt == "gpx" else list(layers)
            agree = True
            for name in names:
                a, b = ids(read_ours(fmt, mine, name), name, fmt), ids(read_peer(fmt, theirs, name), name, fmt)
                same = sorted(a) == sorted(b) if fmt == "fgb" else a == b
                agree &= same and len(a) == counts[name]
            print(
                f"{fmt:8} {t_ours:8.2f} {t_peer:10.2f} {t_ours / t_peer:6.2f} {size(mine) / 1e6:8.1f} "
                f"{size(theirs) / 1e6:8.1f}  {'yes' if agree else 'NO'}"
            )
            if not agree:
                sys.exit(f"{fmt}: our export and ogr2ogr's disagree")
            if fmt == "shp":
                assert zipfile.ZipFile(mine).testzip() is None
        n, t = bench_ogcapi(src)
        print(f"OGC API items: {n:,} buildings in pages of 10,000 in {t:.2f} s ({n / t:,.0f} features/s)")


if __name__ == "__main__":
    main()
