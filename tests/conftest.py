"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_AREA = ROOT / "data" / "jakarta"
SHARED_DATA = ROOT.parent / "shared" / "data"
# Debian's chromium as root, with no background traffic to hosts this machine cannot reach.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data in ../shared/data; tests that need it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_area_dir() -> Path:
    return SAMPLE_AREA


def require(env_flag: str, what: str) -> None:
    """Skip locally when a system part is missing, but fail in CI where it must be there."""
    if os.environ.get(env_flag):
        pytest.fail(f"{what} is required in this run ({env_flag} is set) but is not available")
    pytest.skip(f"{what} is not available")


@pytest.fixture(scope="session")
def built_area(tmp_path_factory) -> Path:
    """The Jakarta sample built once per test run (shared by xdist workers through a file lock).

    Returns the path of the built GeoPackage. Tests must not modify it.
    """
    import fcntl

    from layers.area import load_area
    from layers.build import build_area

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the directory all workers of this run share
    out = shared / "jakarta_build" / "area.gpkg"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.exists():
            # The real sample has known data warnings (e.g. buildings far from any road);
            # tests that check them call the analyses directly.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                build_area(load_area(SAMPLE_AREA), out, progress=False)
    return out


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
