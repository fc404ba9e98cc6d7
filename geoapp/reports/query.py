"""Stored field reports as data frames, with the same privacy rules as ``GET /api/reports``.

Other parts of the app (exports, OGC API, the map, analyses) read reports only
through :func:`reports_geodataframe` / :func:`iter_report_frames`, so what an
anonymous caller can see is decided in one place.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from flask import current_app
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from geoapp import db
from geoapp.errors import APIError
from geoapp.models import Report, User
from layers.errors import InvalidInputError
from layers.reports.config import STATUSES, ReportConfig
from layers.reports.parse import area_extent
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
_NAMES = [c.key if hasattr(c, "key") else c.name for c in _COLUMNS]
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
        cfg = ReportConfig.from_section(area.reports, path=str(getattr(area, "root", "")))
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
                extent = area_extent(area.boundary_layer())
                shapely.prepare(extent)
                _EXTENTS[key] = extent
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
        raise APIError(403, "forbidden", "only moderators and admins can see reports that are not published")
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
) -> Iterator[pd.DataFrame]:
    """Matching reports in chunks, privacy applied for ``level``, oldest first (``ids``: only these)."""
    statuses, categories, box = parse_filters(level=level, status=status, category=category, bbox=bbox)
    cfg = report_config()
    exact = level in ("planner", "moderator")
    crs = None if exact else working_crs()
    cols = [c for c, n in zip(_COLUMNS, _NAMES, strict=True) if level == "moderator" or n in _PUBLIC]
    names = [n for n in _NAMES if level == "moderator" or n in _PUBLIC]
    q = select(*cols).where(Report.status.in_(statuses)).order_by(Report.created_at, Report.id)
    if categories:
        q = q.where(Report.category.in_(categories))
    if ids is not None:
        q = q.where(Report.id.in_(ids))
    if box:
        # Blurred points may move up to half a cell (diagonal): search a little wider, then test the blurred points.
        pad_m = 0.0 if exact else max((c.blur_m for c in cfg.categories.values()), default=0.0)
        dlat = pad_m / 111_000.0
        dlon = dlat / max(math.cos(math.radians(max(abs(box[1]), abs(box[3])))), 0.01)
        x0, y0, x1, y1 = box[0] - dlon, box[1] - dlat, box[2] + dlon, box[3] + dlat
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
            if python_paging:
                inside = (
                    (frame["lon"] >= box[0])
                    & (frame["lon"] <= box[2])
                    & (frame["lat"] >= box[1])
                    & (frame["lat"] <= box[3])
                )
                inside |= frame["geometry_wkt"].notna()  # polygons are never blurred: the database test stands
                frame = frame[inside.to_numpy()]
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


def to_geodataframe(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Points from lon/lat, polygons from ``geometry_wkt``; EPSG:4326."""
    geom = shapely.points(frame["lon"].to_numpy(dtype="float64"), frame["lat"].to_numpy(dtype="float64"))
    if "geometry_wkt" in frame and frame["geometry_wkt"].notna().any():
        has = frame["geometry_wkt"].notna().to_numpy()
        geom[has] = shapely.from_wkt(frame["geometry_wkt"].to_numpy()[has])
    return gpd.GeoDataFrame(frame.drop(columns=["geometry_wkt"], errors="ignore"), geometry=geom, crs="EPSG:4326")


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
    from layers.io.values import parse_capacity

    gdf = reports_geodataframe(viewer="planner", category="shelter_site")
    attrs = gdf["attributes"] if len(gdf) else pd.Series([], dtype=object)
    out = gpd.GeoDataFrame(
        {
            "facility_id": "report:" + gdf["id"].astype(str),
            "category": "shelter",
            "name": [a.get("name") if isinstance(a, dict) else None for a in attrs],
            "capacity": parse_capacity([a.get("capacity") if isinstance(a, dict) else None for a in attrs]).to_numpy(),
            "building_id": pd.array([pd.NA] * len(gdf), dtype="Int64"),
            "source_type": "field_report",
        },
        geometry=gdf.geometry.to_numpy() if len(gdf) else np.array([], dtype=object),
        crs="EPSG:4326",
    )
    return out.to_crs(crs if crs is not None else working_crs())


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
    import json

    gdf = reports_geodataframe(viewer=None)
    attrs = gdf["attributes"].tolist() if len(gdf) else []
    gdf["name"] = pd.Series(
        [a.get("name") if isinstance(a, dict) else None for a in attrs], index=gdf.index, dtype=object
    )
    gdf["capacity"] = pd.Series(
        [a.get("capacity") if isinstance(a, dict) else None for a in attrs], index=gdf.index, dtype=object
    )
    gdf["attributes"] = [json.dumps(a, ensure_ascii=False) if a else None for a in attrs]
    return gdf.to_crs(crs if crs is not None else working_crs())
