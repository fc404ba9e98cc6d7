"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from tests.helpers import SAMPLE_AREA, SHARED_DATA

# The app, client, storage and user fixtures, for every folder that tests the web layer.
pytest_plugins = ["tests.web_fixtures"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data in ../shared/data; tests that need it skip cleanly when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the checkout")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_area_dir() -> Path:
    return SAMPLE_AREA


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
