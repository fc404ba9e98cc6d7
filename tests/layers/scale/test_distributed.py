"""Exposure and precarity on a Dask cluster (two worker processes) equal the single-process run."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import SAMPLE_AREA

pytestmark = pytest.mark.slow  # worker processes / whole CLI runs: a few seconds each on an idle machine

CRS = "EPSG:32748"
CLASSES = "low:0.1-0.7,medium:0.7-1.5,high:1.5-"


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=50) as c:
        yield c


def test_exposure_on_two_workers_equals_single_process(cluster, city):
    from layers.hazard.chunked import exposure_chunked_from_files
    from layers.hazard.exposure import exposure_from_files

    kw = {
        "hazard": str(SAMPLE_AREA / "flood_current.tif"),
        "classes": CLASSES,
        "buildings": str(city),
        "boundaries": str(SAMPLE_AREA / "kelurahan.gpkg"),
        "boundary_name": "KEL_NAME2",
    }
    single = exposure_from_files(**kw)
    on_cluster = exposure_chunked_from_files(chunk_rows=4_000, scheduler=cluster.scheduler_address, **kw)
    assert on_cluster.summary() == single.summary()
    assert on_cluster.buildings["building_id"].tolist() == single.buildings["building_id"].tolist()
    np.testing.assert_array_equal(on_cluster.buildings["depth_max_m"], single.buildings["depth_max_m"])
    assert on_cluster.areas.drop(columns="geometry", errors="ignore").equals(
        single.areas.drop(columns="geometry", errors="ignore")
    )


def test_precarity_on_two_workers_equals_single_process(cluster, city):
    from layers.precarity.chunked import precarity_chunked_from_files
    from layers.precarity.inputs import precarity_from_files

    kw = {"roads": str(SAMPLE_AREA / "roads.gpkg"), "hazard": str(SAMPLE_AREA / "flood_current.tif")}
    single = precarity_from_files(str(city), classes=CLASSES, **kw)
    on_cluster = precarity_chunked_from_files(
        str(city), chunk_rows=4_000, scheduler=cluster.scheduler_address, classes=CLASSES, **kw
    )
    assert on_cluster.summary() == single.summary()
    a, b = single.cells, on_cluster.cells
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))


def test_exposure_on_the_cluster_writes_the_buildings_layer(cluster, city, tmp_path):
    """With --out the workers send footprints back and the layer holds every building, as in one process."""
    import pyogrio
    import shapely

    from layers.hazard.chunked import exposure_chunked_from_files

    kw = {"hazard": str(SAMPLE_AREA / "flood_current.tif"), "classes": CLASSES, "buildings": str(city)}
    single = exposure_chunked_from_files(chunk_rows=4_000, out=tmp_path / "one.gpkg", **kw)
    on_cluster = exposure_chunked_from_files(
        chunk_rows=4_000, scheduler=cluster.scheduler_address, out=tmp_path / "cluster.gpkg", **kw
    )
    assert on_cluster.summary() == single.summary()
    a, b = (
        pyogrio.read_dataframe(tmp_path / f, layer="exposure_buildings").sort_values("building_id")
        for f in ("one.gpkg", "cluster.gpkg")
    )
    assert len(a) == len(b) == 2 * 7_689
    assert a["building_id"].tolist() == b["building_id"].tolist()
    assert a["hazard_class"].fillna("").tolist() == b["hazard_class"].fillna("").tolist()
    assert shapely.equals(a.geometry.to_numpy(), b.geometry.to_numpy()).all()
