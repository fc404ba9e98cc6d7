"""Helpers shared by the tests: paths, skip-or-fail for system parts, a live server, small data writers.

Test modules import from here (never from another test module or a conftest).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_AREA = ROOT / "data" / "jakarta"
SHARED_DATA = ROOT.parent / "shared" / "data"
# Debian's chromium as root, with no background traffic to hosts this machine cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UTM = "EPSG:32748"
JAKARTA = (106.83, -6.2)


def require(env_flag: str, what: str) -> None:
    """Skip locally when a system part is missing, but fail in CI where it must be there."""
    if os.environ.get(env_flag):
        pytest.fail(f"{what} is required in this run ({env_flag} is set) but is not available")
    pytest.skip(f"{what} is not available")


@contextmanager
def live_server(app, **options) -> Iterator[str]:
    """Serve ``app`` from a thread on a free 127.0.0.1 port; yields its base URL, stops it afterwards."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def write_raster(path, values, *, transform=None, crs=UTM, nodata=-9999.0):
    """A float32 GeoTIFF of ``values`` (1 m cells from origin (0, rows) unless ``transform`` says otherwise)."""
    values = np.asarray(values, dtype=np.float32)
    transform = transform or from_origin(0, values.shape[0], 1, 1)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(values, 1)
    return path


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def feature(category="blocked_drain", coords=JAKARTA, **props) -> dict:
    """A GeoJSON point report with a fresh client id unless ``id`` is given."""
    props.setdefault("id", str(uuid.uuid4()))
    props["category"] = category
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(coords)}, "properties": props}


def collection(*feats) -> dict:
    return {"type": "FeatureCollection", "features": list(feats)}
