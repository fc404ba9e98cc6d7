"""Robustness fixtures: bad files built once per run, a small built corner of Jakarta, an app serving it."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.helpers import bearer, collection, feature
from tests.robustness.badfiles import BadFiles, write_area


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory) -> BadFiles:
    return BadFiles(tmp_path_factory.mktemp("bad_inputs"))


@pytest.fixture(scope="session")
def corner_area(tmp_path_factory) -> Path:
    return write_area(tmp_path_factory.mktemp("corner") / "area")


@pytest.fixture(scope="session")
def corner_build(corner_area) -> Path:
    from layers.area import load_area
    from layers.build import build_area

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_area(load_area(corner_area), corner_area / "build" / "area.gpkg", progress=False)


def count_reports(app) -> int:
    from geoapp.models import Report

    with Session(app.extensions["geoapp.db"]) as s:
        return s.scalar(select(func.count()).select_from(Report))


class Served:
    """An app on the built corner with three published reports, and tokens for each role."""

    def __init__(self, app, tokens: dict[str, str], report_ids: list[str]):
        self.app, self.tokens, self.report_ids = app, tokens, report_ids
        self.client = app.test_client()

    def count(self) -> int:
        return count_reports(self.app)


@pytest.fixture(scope="module")
def served(corner_area, corner_build, tmp_path_factory) -> Served:
    from geoapp import create_app
    from geoapp.auth import create_user

    tmp = tmp_path_factory.mktemp("served")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "robust",
            "AREA": str(corner_area),
            "BUILD": str(corner_build),
            "DATABASE_URL": f"sqlite:///{tmp / 'reports.db'}",
            "ANON_RATE_LIMIT": "1000000/hour",
            "EXPORT_DIR": str(tmp / "exports"),
        }
    )
    tokens = {}
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
        for role, trusted in (("volunteer", False), ("trusted", True), ("moderator", False)):
            _, tokens[role] = create_user(s, f"rb-{role}", "volunteer" if role == "trusted" else role, trusted=trusted)
    feats = [feature(coords=(106.81 + i * 0.002, -6.205), description=f"seed {i}") for i in range(3)]
    resp = app.test_client().post("/api/reports", json=collection(*feats), headers=bearer(tokens["trusted"]))
    assert resp.status_code in (200, 201), resp.data
    assert count_reports(app) == 3
    return Served(app, tokens, [f["properties"]["id"] for f in feats])
