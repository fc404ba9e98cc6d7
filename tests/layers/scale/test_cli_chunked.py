"""The command line: ``--chunk-rows`` gives the same JSON and layers as the in-memory run; ``--scheduler``."""

from __future__ import annotations

import json

import pyogrio
import pytest
from click.testing import CliRunner

from tests.helpers import SAMPLE_AREA

pytestmark = pytest.mark.slow  # worker processes / whole CLI runs: a few seconds each on an idle machine


def test_cli_chunk_rows_gives_the_same_json(city, monkeypatch):
    from geoapp.cli import main
    from layers.distributed import scheduler_address

    args = ["exposure", "--hazard", str(SAMPLE_AREA / "flood_current.tif"), "--buildings", str(city), "--json"]
    whole = CliRunner().invoke(main, args)
    assert whole.exit_code == 0, whole.output
    chunked = CliRunner().invoke(main, [*args, "--chunk-rows", "5000"])
    assert chunked.exit_code == 0, chunked.output
    assert json.loads(chunked.output) == json.loads(whole.output)
    bad = CliRunner().invoke(main, [*args, "--scheduler", "tcp://127.0.0.1:1"])
    assert bad.exit_code == 1
    assert "error: cannot reach the Dask scheduler" in bad.output
    monkeypatch.setenv("GEOAPP_DASK_SCHEDULER", "tcp://10.0.0.1:8786")
    assert scheduler_address(None) == "tcp://10.0.0.1:8786"
    assert scheduler_address("tcp://a:1") == "tcp://a:1"


def test_cli_precarity_chunk_rows_writes_the_same_layers(city, tmp_path):
    from geoapp.cli import main

    args = ["precarity", "--buildings", str(city), "--roads", str(SAMPLE_AREA / "roads.gpkg"), "--json"]
    whole = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a.gpkg")])
    chunked = CliRunner().invoke(main, [*args, "--chunk-rows", "6000", "--out", str(tmp_path / "b.gpkg")])
    assert whole.exit_code == 0, whole.output
    assert chunked.exit_code == 0, chunked.output
    assert json.loads(chunked.output) == json.loads(whole.output)
    a = pyogrio.read_dataframe(tmp_path / "a.gpkg", layer="precarity_cells")
    b = pyogrio.read_dataframe(tmp_path / "b.gpkg", layer="precarity_cells")
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
