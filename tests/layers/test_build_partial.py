"""build_area(only=[...]): rerun some steps over the current build, keep the rest; leftovers of killed builds."""

from __future__ import annotations

import json
import os
import time
import warnings

import pandas as pd
import pyogrio
import pytest

from layers.area import load_area
from layers.build import build_area
from layers.errors import InvalidInputError, NotFoundError
from layers.publish.geopackage import read_metadata
from tests.service.test_build_faults import tiny_area


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tiny_area(tmp_path_factory.mktemp("partial") / "tiny")
    out = folder / "build" / "area.gpkg"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_area(load_area(folder), out, progress=False)
    return folder, out


def _frame(path, layer) -> pd.DataFrame:
    gdf = pyogrio.read_dataframe(path, layer=layer)
    return pd.DataFrame(gdf.drop(columns="geometry")).assign(wkb=gdf.geometry.to_wkb())


def test_rerunning_one_step_gives_the_full_builds_layers_and_keeps_the_others(tiny, tmp_path):
    folder, full = tiny
    out = tmp_path / "area.gpkg"
    out.write_bytes(full.read_bytes())
    before = read_metadata(full)
    made = json.loads(before["step_layers"])
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_area(load_area(folder), out, progress=False, only=["evacuation"], on_step=lambda f, s: seen.append(s))
    assert seen == ["evacuation", "write"]
    after = read_metadata(out)
    assert json.loads(after["step_layers"]) == made
    assert after["skipped_steps"] == before["skipped_steps"]
    assert {k: v for k, v in after.items() if k.startswith("exposure_summary")} == {
        k: v for k, v in before.items() if k.startswith("exposure_summary")
    }
    assert sorted(n for n, _ in pyogrio.list_layers(out)) == sorted(n for n, _ in pyogrio.list_layers(full))
    # Same inputs: the rerun step, reading the other layers back from the file, makes what the full build made.
    for name in [*made["evacuation"], *made["inputs"], *made["exposure"]]:
        pd.testing.assert_frame_equal(_frame(out, name), _frame(full, name), check_dtype=False, obj=name)


def test_bad_partial_rebuilds_are_clear_errors(tiny, tmp_path):
    folder, _ = tiny
    with pytest.raises(InvalidInputError, match="unknown build step"):
        build_area(load_area(folder), tmp_path / "a.gpkg", progress=False, only=["evacuaton"])
    with pytest.raises(NotFoundError, match="no current build"):
        build_area(load_area(folder), tmp_path / "a.gpkg", progress=False, only=["evacuation"])


def test_leftovers_of_killed_builds_are_removed_and_fresh_ones_kept(tmp_path):
    from layers.build import LEFTOVER_S, _remove_leftovers

    out = tmp_path / "area.gpkg"
    old = tmp_path / ".area.abc123.tmp.gpkg"
    journal = tmp_path / ".area.abc123.tmp.gpkg-journal"
    live = tmp_path / ".area.def456.tmp.gpkg"
    other = tmp_path / ".other.abc123.tmp.gpkg"
    for f in (old, journal, live, other):
        f.write_bytes(b"x")
    past = time.time() - LEFTOVER_S - 60
    for f in (old, journal, other):
        os.utime(f, (past, past))
    _remove_leftovers(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])
