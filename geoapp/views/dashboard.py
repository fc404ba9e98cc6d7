"""The dashboard `/dashboard`: headline figures per scenario, neighbourhood ranking (CSV), participation."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request

from layers.publish.dashboard import BuiltLayers, dashboard
from layers.publish.export import neutralise_formulas

from .. import access
from ..area import build_path, current_area
from ..errors import APIError
from ..filestamp import file_stamp
from .scenarios import built_view

bp = Blueprint("dashboard", __name__)

RANKING_ROWS_SHOWN = 100


def _built() -> BuiltLayers:
    """The build's layers the caller may see, re-read when the file changes (one cache entry per area)."""
    path = build_path()
    stamp = file_stamp(path)  # a swapped-in build is a new file: re-read it, in every process
    per_area = current_app.extensions.setdefault("geoapp.dashboard", {})
    cached = per_area.get(str(path))
    if cached is None or cached[0] != stamp:
        cached = (stamp, BuiltLayers(path))
        per_area[str(path)] = cached
    return access.built_view(cached[1])


def _count_reports():
    """Participation counted in the database (no report is loaded); None when reports are not set up here."""
    if "geoapp.db" not in current_app.extensions:
        return None
    from geoapp.reports.query import participation_counts

    return participation_counts


def _choice():
    """The area as built, and the boundary set and scenario asked for (None: the first), checked."""
    area = built_view(current_area())  # a scenario added from the web shows once built
    boundary = request.args.get("boundary") or None
    scenario = request.args.get("scenario") or None
    if boundary is not None and boundary not in [b.id for b in area.boundaries]:
        raise APIError(404, "not_found", f"no boundary set '{boundary}'; sets are {[b.id for b in area.boundaries]}")
    if scenario is not None:
        area.hazard(scenario)  # NotFoundError -> 404
    return area, boundary, scenario


def _figures() -> dict:
    area, boundary, scenario = _choice()
    figures = dashboard(area, _built(), boundary=boundary, ranking_scenario=scenario, count_reports=_count_reports())
    if "layer_updated" in figures:  # names only the layers this caller may see
        figures["layer_updated"] = {n: t for n, t in figures["layer_updated"].items() if access.visible(n)}
    return figures


@bp.get("/dashboard")
def index() -> str:
    figures = _figures()
    area = built_view(current_area())
    return render_template("dashboard.html", title=area.title, area=area, d=figures, shown=RANKING_ROWS_SHOWN)


@bp.get("/dashboard/neighbourhoods.csv")
def ranking_csv() -> Response:
    figures = _figures()
    buf = io.StringIO()
    neutralise_formulas(figures["ranking"]).to_csv(buf, index=False, float_format="%.1f")
    name = f"{current_area().name}-{figures['boundary']}-{figures['ranking_scenario']}-ranking.csv"
    resp = Response(buf.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


ATLAS_PAGES_MAX = 30  # a web request renders at most this many neighbourhood pages; the CLI has no cap


@bp.get("/dashboard/report.pdf")
def report_pdf() -> Response:
    """The printed impact report of the chosen scenario (``?atlas=1`` adds the neighbourhood pages)."""
    import tempfile

    from layers.publish.impact_report import impact_report

    from ..i18n import current_language

    area, boundary, scenario = _choice()  # impact_report computes the dashboard's figures itself
    if not build_path().exists():
        raise APIError(409, "not_built", f"area '{area.name}' has no build yet: run `geoapp build` first")
    atlas = request.args.get("atlas", "") in ("1", "true", "yes")
    lang = current_language()
    with tempfile.TemporaryDirectory(prefix="geoapp-report-") as tmp:
        out = Path(tmp) / "report.pdf"
        result = impact_report(
            area,
            _built(),  # the layers this caller may see
            out,
            scenario=scenario,
            boundary=boundary,
            lang=lang,
            atlas=atlas,
            atlas_limit=ATLAS_PAGES_MAX,
        )
        data = out.read_bytes()
    name = f"{area.name}-{result['figures']['scenario']}-{'atlas' if atlas else 'report'}-{lang}.pdf"
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp
