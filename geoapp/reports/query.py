"""Stored field reports as data frames, with the same privacy rules as ``GET /api/reports``.

Other parts of the app (exports, OGC API, the map, analyses) read reports only
through :func:`reports_geodataframe` / :func:`iter_report_frames`, so what an
anonymous caller can see is decided in one place.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Generator

import geopandas as gpd
import pandas as pd
from flask import current_app
from sqlalchemy import func, inspect, or_, select, text
from sqlalchemy.orm import Session

from geoapp import db
from geoapp.models import Report, ReportImport, User
from layers.errors import ForbiddenError, InvalidInputError
from layers.reports.config import STATUSES, ReportConfig
from layers.reports.layer import (
    in_box,
    padded_box,
    prepared_extent,
    public_layer,
    shelter_facilities,
    to_geodataframe,
    units_with_points,
)
from layers.reports.privacy import apply_privacy

LEVELS = ("public", "planner", "moderator")
_COLUMNS = [
    Report.id,
    Report.category,
    Report.description,
    Report.severity,
    Report.observed_at,
    Report.lon,
    Report.lat,
    Report.accuracy_m,
    Report.altitude_m,
    Report.geometry_wkt,
    Report.attributes,
    Report.source,
    Report.status,
    Report.reporter_name,
    Report.reporter_contact,
    Report.outside_area,
    Report.created_at,
    Report.updated_at,
    Report.created_by,
    Report.original,
    Report.photo_type.is_not(None).label("has_photo"),
]
_NAMES: list[str] = [str(getattr(c, "key", None) or getattr(c, "name", "")) for c in _COLUMNS]
# What the public and planners are ever shown: fetching less is most of the speed of a large listing.
_PUBLIC = {
    "id",
    "category",
    "description",
    "severity",
    "observed_at",
    "lon",
    "lat",
    "geometry_wkt",
    "attributes",
    "source",
    "status",
    "has_photo",
}
_EXTENTS: dict[str, object] = {}
_EXTENT_LOCK = threading.Lock()


def _has_geom() -> bool:
    """Whether the reports table has the PostGIS ``geom`` column (added by the migration when PostGIS is there)."""
    key = "geoapp.reports_geom"
    if key not in current_app.extensions:
        engine = db.engine()
        has = engine.dialect.name == "postgresql" and any(
            c["name"] == "geom" for c in inspect(engine).get_columns("reports")
        )
        current_app.extensions[key] = has
    return current_app.extensions[key]


def visible():
    """Rows of imports still running (or failed) are nobody's to see: a file shows all at once or not at all."""
    done = select(ReportImport.id).where(ReportImport.status == "done")
    return or_(Report.import_id.is_(None), Report.import_id.in_(done))


def viewer_level(viewer: User | str | None) -> str:
    """``public`` (anonymous, volunteers), ``planner`` (exact, published) or ``moderator`` (everything)."""
    if viewer is None:
        return "public"
    if isinstance(viewer, str):
        if viewer not in LEVELS:
            raise InvalidInputError(f"viewer must be one of {LEVELS}, not {viewer!r}")
        return viewer
    from geoapp.auth import can

    return "moderator" if can(viewer, "view_all") else "planner" if can(viewer, "view_exact") else "public"


def report_config() -> ReportConfig:
    """The area's ``[reports]`` settings (defaults when the area has none)."""
    cfg = current_app.extensions.get("geoapp.reportconfig")
    if cfg is None:
        from geoapp.area import current_area

        area = current_area()
        cfg = ReportConfig.from_section(area.reports, path=str(getattr(area, "root", "")))  # type: ignore[arg-type]
        current_app.extensions["geoapp.reportconfig"] = cfg
    return cfg


def working_crs():
    from geoapp.area import current_area

    return current_area().crs


def reports_extent():
    """The area's boundaries grown by 500 m, in lon/lat (None when the check is off); cached per area."""
    if not current_app.config.get("REPORTS_CHECK_EXTENT", True):
        return None
    from geoapp.area import current_area

    area = current_area()
    if not area.boundaries:
        return None  # nothing to check against: every report is kept
    key = str(area.root)
    if key not in _EXTENTS:
        with _EXTENT_LOCK:  # computed once, not by every request of the first burst
            if key not in _EXTENTS:
                _EXTENTS[key] = prepared_extent(area.boundary_layer())
    return _EXTENTS[key]


def parse_filters(
    *, level: str, status=None, category=None, bbox=None
) -> tuple[list[str], list[str] | None, tuple | None]:
    """Validate filters from a query string or a caller: lists of statuses and categories, a bbox tuple."""
    statuses = _split(status)
    if statuses is None:
        statuses = list(STATUSES) if level == "moderator" else ["published"]
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise InvalidInputError(f"status must be among {', '.join(STATUSES)}; got {', '.join(bad)}")
    if level != "moderator" and set(statuses) - {"published"}:
        raise ForbiddenError("only moderators and admins can see reports that are not published")
    categories = _split(category)
    if categories:
        known = report_config().names
        unknown = [c for c in categories if c not in known]
        if unknown:
            raise InvalidInputError(f"unknown category {', '.join(unknown)}; expected one of {', '.join(known)}")
    box = None
    if bbox is not None and bbox != "":
        parts = bbox.split(",") if isinstance(bbox, str) else list(bbox)
        try:
            box = tuple(float(p) for p in parts)
        except (TypeError, ValueError):
            box = ()
        if len(box) != 4 or not all(map(math.isfinite, box)):
            raise InvalidInputError("bbox must be 'min_lon,min_lat,max_lon,max_lat' (4 numbers)")
        if box[0] > box[2] or box[1] > box[3] or abs(box[1]) > 90 or abs(box[3]) > 90:
            raise InvalidInputError(
                "bbox must be 'min_lon,min_lat,max_lon,max_lat' with min ≤ max and latitudes in -90..90"
            )
    return statuses, categories, box


def _split(value) -> list[str] | None:
    if value is None or value == "":
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(i).strip() for i in items if str(i).strip()]


def iter_report_frames(
    *,
    level: str = "public",
    status=None,
    category=None,
    bbox=None,
    limit: int | None = None,
    offset: int = 0,
    chunk: int = 5000,
    ids: list[str] | None = None,
) -> Generator[pd.DataFrame, None, None]:
    """Matching reports in chunks, privacy applied for ``level``, oldest first (``ids``: only these)."""
    statuses, categories, box = parse_filters(level=level, status=status, category=category, bbox=bbox)
    cfg = report_config()
    exact = level in ("planner", "moderator")
    crs = None if exact else working_crs()
    cols = [c for c, n in zip(_COLUMNS, _NAMES, strict=True) if level == "moderator" or n in _PUBLIC]
    names = [n for n in _NAMES if level == "moderator" or n in _PUBLIC]
    q = select(*cols).where(Report.status.in_(statuses), visible()).order_by(Report.created_at, Report.id)
    if categories:
        q = q.where(Report.category.in_(categories))
    if ids is not None:
        q = q.where(Report.id.in_(ids))
    if box:
        # Blurred points may move up to half a cell (diagonal): search a little wider, then test the blurred points.
        pad_m = 0.0 if exact else max((c.blur_m for c in cfg.categories.values()), default=0.0)
        x0, y0, x1, y1 = padded_box(box, pad_m)
        if _has_geom():  # PostGIS: the GiST index, and polygons that cross the box count
            q = q.where(
                text("reports.geom && ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, 4326)").bindparams(
                    bx0=x0, by0=y0, bx1=x1, by1=y1
                )
            )
        else:
            q = q.where(Report.lon >= x0, Report.lon <= x1, Report.lat >= y0, Report.lat <= y1)
    python_paging = bool(box) and not exact
    if not python_paging:
        if offset:
            q = q.offset(offset)
        if limit is not None:
            q = q.limit(limit)
    skip, left = (offset, limit) if python_paging else (0, None)
    with Session(db.engine()) as s:
        result = s.execute(q.execution_options(yield_per=chunk))
        for rows in result.partitions(chunk):
            frame = pd.DataFrame.from_records(rows, columns=names)
            frame = apply_privacy(frame, config=cfg, crs=crs, exact=exact, personal=level == "moderator")
            if python_paging and box:
                frame = frame[in_box(frame, box)]
                if skip:
                    dropped = min(skip, len(frame))
                    frame, skip = frame.iloc[dropped:], skip - dropped
                if left is not None:
                    frame = frame.iloc[:left]
                    left -= len(frame)
            if len(frame):
                yield frame.reset_index(drop=True)
            if left is not None and left <= 0:
                return


def reports_geodataframe(*, viewer=None, status=None, bbox=None, category=None, limit=None) -> gpd.GeoDataFrame:
    """Stored reports as seen by ``viewer`` (a User, a level name, or None = anonymous), in EPSG:4326.

    Same rules as ``GET /api/reports``: the public sees published reports only,
    blurred, without personal fields; ``attributes`` stays a dict column.
    Needs an app context.
    """
    level = viewer_level(viewer)
    frames = list(iter_report_frames(level=level, status=status, bbox=bbox, category=category, limit=limit))
    if not frames:
        frame = apply_privacy(
            pd.DataFrame(columns=_NAMES), config=report_config(), exact=level != "public", personal=level == "moderator"
        )
        return to_geodataframe(frame)
    return to_geodataframe(pd.concat(frames, ignore_index=True))


def shelter_sites(*, crs=None) -> gpd.GeoDataFrame:
    """Published ``shelter_site`` reports as facility points (schema of ``layers.io.schema.FACILITY_COLUMNS``).

    ``facility_id`` is ``report:<uuid>``, ``category`` "shelter", ``capacity`` from
    the report's ``capacity`` attribute when numeric; in ``crs`` (default the
    area's working CRS). For the evacuation analysis.
    """
    gdf = reports_geodataframe(viewer="planner", category="shelter_site")
    return shelter_facilities(gdf, crs=crs if crs is not None else working_crs())


def flood_observations(scenario: str | None = None) -> gpd.GeoDataFrame:
    """Published ``flooding_observed`` reports compared with a hazard scenario (default: the first), for planners.

    Exact points (planner view, no personal fields) with ``observed_depth_m``,
    ``model_value``, ``model_class`` and ``wet_report_dry_model``; EPSG:4326.
    """
    from geoapp.area import current_area
    from layers.reports.observations import compare_with_hazard

    spec = current_area().hazard(scenario)
    gdf = reports_geodataframe(viewer="planner", category="flooding_observed")
    gdf["observed_depth_m"] = [a.get("depth_m") if isinstance(a, dict) else None for a in gdf["attributes"]]
    out = compare_with_hazard(gdf, spec.path, classes=spec.classes, field=spec.field, layer=spec.layer)
    out["scenario"] = spec.id
    return out


def field_reports_layer(*, crs=None) -> gpd.GeoDataFrame:
    """Published reports as a build/export layer: the public view (blurred, nothing personal).

    ``name`` and ``capacity`` come out of the public attributes (shelter sites,
    community boundaries), ``attributes`` becomes JSON text so GIS files can hold
    it; in ``crs`` (default the area's working CRS). Pass it to
    ``layers.build.build_area(..., inputs={"field_reports": ...})``.
    """
    return public_layer(reports_geodataframe(viewer=None), crs=crs if crs is not None else working_crs())


def participation_counts(units: gpd.GeoDataFrame | None = None) -> dict:
    """Participation figures counted in the database (nothing is loaded per report but published points).

    Returns ``{"reports_received", "published", "pending", "rejected", "contributors"}``
    (contributors: distinct signed-in submitters) and, with ``units`` (a boundary
    layer), ``"neighbourhoods_mapped"`` (units holding a published report) and
    ``"neighbourhoods_total"``: the shape of ``layers.publish.dashboard.participation``.
    """
    with Session(db.engine()) as s:
        by_status = dict(s.execute(select(Report.status, func.count()).where(visible()).group_by(Report.status)).all())
        contributors = s.scalar(select(func.count(func.distinct(Report.created_by))).where(visible()))
        out = {
            "reports_received": int(sum(by_status.values())),
            "published": int(by_status.get("published", 0)),
            "pending": int(by_status.get("pending", 0)),
            "rejected": int(by_status.get("rejected", 0)),
            "contributors": int(contributors or 0),
        }
        if units is not None:
            points = (
                select(Report.lon, Report.lat)
                .where(Report.status == "published", visible())
                .group_by(Report.lon, Report.lat)
                .execution_options(yield_per=100_000)
            )
            mapped: set[int] = set()
            for part in s.execute(points).partitions():
                mapped |= units_with_points(units, [p[0] for p in part], [p[1] for p in part])
                if len(mapped) == len(units):
                    break  # every unit is mapped: the rest cannot change the figure
            out["neighbourhoods_mapped"] = len(mapped)
            out["neighbourhoods_total"] = int(len(units))
    return out
