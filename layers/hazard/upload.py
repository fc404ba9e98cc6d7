"""Checking an uploaded hazard scenario at once, before any build: file type, CRS, extent, classes, size.

:func:`check_upload` takes the saved upload (a GeoTIFF, or zone polygons as
GeoJSON, GeoPackage or a zipped Shapefile) and the form fields, and raises one
typed error whose message starts with the form field to fix (``file:``,
``classes:``, ``field:``...). What passes is a :class:`CheckedUpload`: the kind
of hazard, its extent, how much of the area it covers, the value range and the
cells (or zones) per class. :func:`store_upload` then writes it into the area
folder (``scenarios/<id>.tif`` or ``scenarios/<id>.gpkg``), where every worker
sees it.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from layers.errors import (
    GeoappError,
    InvalidInputError,
    MissingCRSError,
    OutsideExtentError,
    TooLargeError,
    UnreadableFileError,
    WrongFileTypeError,
)
from layers.hazard.classes import DEFAULT_FLOOD_CLASSES, ClassScheme, parse_classes, parse_displacement

if TYPE_CHECKING:
    import geopandas as gpd

    from layers.area import Area

# Size caps (the service may lower or raise them): the file as sent, and the cells of a raster.
MAX_BYTES = 200 * 1024 * 1024
MAX_PIXELS = 50_000_000
STRIP_CELLS = 4_000_000  # cells read at a time when checking a raster's values
RASTER_SUFFIXES = (".tif", ".tiff")
VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip")
ACCEPTED = "a GeoTIFF (.tif) of depths, or zone polygons as GeoJSON, GeoPackage or a zipped Shapefile (.zip)"
DEFAULT_KIND = "flood"
DEFAULT_CLASSES = DEFAULT_FLOOD_CLASSES
ZONES_LAYER = "hazard"
ZONES_FIELD = "value"


@dataclass
class CheckedUpload:
    """A valid upload: ``kind`` raster or vector, its data and what the checks found."""

    path: Path  # the file to store: the raster as sent, or the zones read from it
    kind: str
    classes: ClassScheme
    units: str
    hazard_kind: str
    displacement: dict[str, float]
    crs: str
    bounds_wgs84: tuple[float, float, float, float]
    overlap_share: float  # share of the area's extent the hazard covers
    value_range: tuple[float, float] | None
    per_class: dict[str, int]  # cells (raster) or zones (vector) per class
    field: str | None = None
    zones: gpd.GeoDataFrame | None = dc_field(default=None, repr=False)
    classes_spec: str = ""  # the spec as the user wrote it (bounds not rounded to the raster's precision)

    def summary(self) -> dict:
        """What the page shows back after an upload (JSON-ready)."""
        return {
            "type": self.kind,
            "crs": self.crs,
            "bounds_wgs84": [round(v, 6) for v in self.bounds_wgs84],
            "area_covered_share": round(self.overlap_share, 4),
            "value_range": None if self.value_range is None else [round(v, 4) for v in self.value_range],
            "per_class": self.per_class,
            "unit": "cells" if self.kind == "raster" else "zones",
        }


def check_upload(
    path: Path,
    *,
    filename: str,
    area: Area,
    classes: str | None = None,
    field: str | None = None,
    units: str | None = None,
    displacement: str | None = None,
    kind: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    workdir: Path | None = None,
) -> CheckedUpload:
    """Validate an uploaded hazard file against ``area``; raise a typed error naming the field to fix.

    ``filename`` is the name the user sent (its suffix decides the reader); ``workdir``
    receives extracted zip members (default: beside ``path``).
    """
    path = Path(path)
    size = path.stat().st_size if path.exists() else 0
    if size == 0:
        raise InvalidInputError(f"file: no file was sent (or it is empty); upload {ACCEPTED}")
    if size > max_bytes:
        raise TooLargeError(
            f"file: {filename} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB "
            "(crop it to the area or compress it, e.g. `gdal_translate -co COMPRESS=DEFLATE`)"
        )
    suffix = Path(filename).suffix.lower()
    if suffix not in RASTER_SUFFIXES + VECTOR_SUFFIXES:
        raise WrongFileTypeError(f"file: {filename!r} is not {ACCEPTED}")
    hazard_kind = _short("kind", kind, DEFAULT_KIND)
    units = _short("units", units, _default_units(hazard_kind))
    scheme = _classes(classes, hazard_kind, units)
    rates = _displacement(displacement, scheme)
    if suffix in RASTER_SUFFIXES:
        if field and field.strip():
            raise InvalidInputError("field: a raster has no attribute fields; leave 'field' empty for a GeoTIFF")
        checked = _check_raster(path, filename, area, scheme, units, hazard_kind, rates, max_pixels)
    else:
        checked = _check_zones(path, filename, area, scheme, units, hazard_kind, rates, field, workdir or path.parent)
    checked.classes_spec = (classes or "").strip()
    return checked


def store_upload(checked: CheckedUpload, area_root: Path, scenario_id: str) -> Path:
    """Write the checked upload to ``<area_root>/scenarios/<id>.tif|.gpkg``; returns its path relative to the area."""
    import pyogrio

    from layers.hazard.uploaded import FILES_DIR

    folder = Path(area_root) / FILES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".tif" if checked.kind == "raster" else ".gpkg"
    out = folder / f"{scenario_id}{suffix}"
    # Written under a temporary name first: a worker never reads half a file.
    tmp = folder / f".{scenario_id}.tmp{suffix}"
    if checked.kind == "raster":
        shutil.copyfile(checked.path, tmp)
    else:
        assert checked.zones is not None
        pyogrio.write_dataframe(checked.zones, tmp, layer=ZONES_LAYER)
    tmp.replace(out)
    return out.relative_to(area_root)


# -- fields ---------------------------------------------------------------------------------------------


def _kind(hazard_kind: str):
    """The hazard kind (layers.hazard.kinds), or None where kinds are not installed (floods only)."""
    try:
        from layers.hazard.kinds import get_kind
    except ImportError:
        return None
    try:
        return get_kind(hazard_kind)
    except GeoappError as exc:
        raise InvalidInputError(f"kind: {exc}") from None


def _default_units(hazard_kind: str) -> str:
    kind = _kind(hazard_kind)
    return kind.units if kind is not None else "m"


def _classes(spec: str | None, hazard_kind: str, units: str) -> ClassScheme:
    """The spec given, else the kind's default classes (the flood classes without kinds)."""
    given = spec if spec and spec.strip() else None
    kind = _kind(hazard_kind)
    try:
        if kind is not None:
            return kind.scheme(given, units=units)
        return parse_classes(given or DEFAULT_FLOOD_CLASSES)
    except GeoappError as exc:
        raise InvalidInputError(f"classes: {exc}") from None


def _displacement(spec: str | None, scheme: ClassScheme) -> dict[str, float]:
    try:
        return parse_displacement(spec or None, scheme)
    except GeoappError as exc:
        raise InvalidInputError(f"displacement: {exc}") from None


def _short(name: str, value: str | None, default: str) -> str:
    text = (value or "").strip() or default
    if len(text) > 40 or not text.isprintable():
        raise InvalidInputError(f"{name}: {text[:40]!r}... must be a short word such as '{default}'")
    return text


# -- rasters --------------------------------------------------------------------------------------------


def _check_raster(
    path: Path,
    filename: str,
    area: Area,
    scheme: ClassScheme,
    units: str,
    hazard_kind: str,
    rates: dict[str, float],
    max_pixels: int,
) -> CheckedUpload:
    import rasterio
    from pyproj import CRS
    from rasterio.windows import Window

    from layers.hazard.sources import _at_precision, grid_bounds

    if scheme.kind == "text":
        raise InvalidInputError(
            f"classes: '{scheme.spec()}' are text values, but a raster holds numbers; "
            "give numeric ranges such as 'low:0.1-0.7,medium:0.7-1.5,high:1.5-'"
        )
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError:
        raise UnreadableFileError(
            f"file: {filename} is not a GeoTIFF GDAL can read (truncated, or another format renamed .tif?)"
        ) from None
    with src:
        if src.crs is None:
            raise MissingCRSError(
                f"file: {filename} has no coordinate reference system; add one, "
                f"e.g. `gdal_edit.py -a_srs EPSG:4326 {filename}`, and upload it again"
            )
        if src.transform.b != 0 or src.transform.d != 0:
            raise InvalidInputError(f"file: {filename} is rotated; warp it north-up first (`gdalwarp in.tif out.tif`)")
        pixels = src.width * src.height
        if pixels > max_pixels:
            raise TooLargeError(
                f"file: {filename} has {src.width} x {src.height} = {pixels:,} cells; the limit is {max_pixels:,} "
                "(crop it to the area with `gdalwarp -te ...` or use coarser cells)"
            )
        crs = CRS.from_user_input(src.crs)
        bounds = grid_bounds(src.transform, src.height, src.width)
        wgs84, share = _overlap(bounds, crs, area, filename)
        scheme = _at_precision(scheme, np.dtype(src.dtypes[0]))
        # Read in strips of rows: a big grid never sits in memory whole (a web worker checks it).
        rows = max(1, STRIP_CELLS // max(src.width, 1))
        lo, hi, counts = math.inf, -math.inf, np.zeros(len(scheme.names), dtype=np.int64)
        for top in range(0, src.height, rows):
            strip = src.read(1, window=Window(0, top, src.width, min(rows, src.height - top)), masked=True)
            values = np.ma.filled(strip.astype(np.float64), np.nan)
            finite = values[np.isfinite(values)]
            if finite.size:
                lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
                counts += np.array(list(_count(scheme, scheme.classify(finite)).values()), dtype=np.int64)
    if lo > hi:
        raise InvalidInputError(f"file: every cell of {filename} is nodata; it holds no hazard values")
    value_range = (lo, hi)
    per_class = {name: int(n) for name, n in zip(scheme.names, counts, strict=True)}
    _check_reaches(scheme, per_class, value_range, units, "cell")
    return CheckedUpload(
        path, "raster", scheme, units, hazard_kind, rates, crs.to_string(), wgs84, share, value_range, per_class
    )


# -- vector zones ---------------------------------------------------------------------------------------


def _check_zones(
    path: Path,
    filename: str,
    area: Area,
    scheme: ClassScheme,
    units: str,
    hazard_kind: str,
    rates: dict[str, float],
    field: str | None,
    workdir: Path,
) -> CheckedUpload:
    import geopandas as gpd
    import pandas as pd

    from layers.io.vectors import column, read_vector

    suffix = Path(filename).suffix.lower()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        source = path
        if suffix == ".zip":
            from layers.reports.archives import extract_dataset

            source = extract_dataset(path, Path(tmp), name=filename)
        elif suffix != path.suffix.lower():  # GDAL chooses its driver by the suffix
            source = Path(tmp) / f"upload{suffix}"
            shutil.copyfile(path, source)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # an empty layer is an error below
                zones = read_vector(source, what="hazard")
        except GeoappError as exc:
            raise type(exc)(f"file: {_named(str(exc), source, filename)}") from None
    if zones.empty:
        raise InvalidInputError(f"file: {filename} holds no zone polygons")
    fields = [c for c in zones.columns if c != zones.geometry.name]
    if not field or not field.strip():
        raise InvalidInputError(
            f"field: zone polygons need 'field', the attribute holding each zone's depth or class; "
            f"{filename} has {fields}"
        )
    values = column(zones, field.strip())
    if values is None:
        raise InvalidInputError(f"field: {filename} has no attribute '{field}'; its attributes are {fields}")
    numeric = scheme.kind == "numeric"
    if numeric:
        parsed = pd.to_numeric(values, errors="coerce")
        if parsed.isna().sum() > values.isna().sum():
            example = values[parsed.isna() & values.notna()].iloc[0]
            raise InvalidInputError(
                f"classes: '{scheme.spec()}' are numeric but '{field}' holds text (e.g. {example!r}); "
                f"give text classes such as 'wet:yes' or choose a numeric field"
            )
        values = parsed
    bounds = tuple(float(b) for b in zones.total_bounds)
    wgs84, share = _overlap(bounds, zones.crs, area, filename)
    cls = scheme.classify(values.to_numpy())
    per_class = _count(scheme, cls)
    finite = values.to_numpy(np.float64)[np.isfinite(values.to_numpy(np.float64))] if numeric else np.array([])
    value_range = (float(finite.min()), float(finite.max())) if finite.size else None
    _check_reaches(scheme, per_class, value_range, units, "zone", sample=None if numeric else values)
    out = gpd.GeoDataFrame({ZONES_FIELD: values.to_numpy()}, geometry=zones.geometry.to_numpy(), crs=zones.crs)
    return CheckedUpload(
        path,
        "vector",
        scheme,
        units,
        hazard_kind,
        rates,
        zones.crs.to_string(),
        wgs84,
        share,
        value_range,
        per_class,
        field=ZONES_FIELD,
        zones=out,
    )


def _named(message: str, source: Path, filename: str) -> str:
    """A reader's message with the temporary path replaced by the name the user sent."""
    return message.replace(str(source), filename)


# -- shared checks --------------------------------------------------------------------------------------


def _count(scheme: ClassScheme, cls: np.ndarray) -> dict[str, int]:
    counts = np.bincount(cls[cls >= 0].astype(np.int64), minlength=len(scheme.names))
    return {name: int(n) for name, n in zip(scheme.names, counts, strict=True)}


def _check_reaches(
    scheme: ClassScheme,
    per_class: dict[str, int],
    value_range: tuple[float, float] | None,
    units: str,
    what: str,
    sample=None,
) -> None:
    """No value in any class is a mistake (wrong units, wrong spec): say what the data holds."""
    if any(per_class.values()):
        return
    if scheme.kind == "numeric" and value_range is not None:
        lo, hi = value_range
        first, last = scheme.classes[0], scheme.classes[-1]
        raise InvalidInputError(
            f"classes: no {what} falls in any class of '{scheme.spec()}': the values run from {lo:g} to {hi:g} "
            f"{units}, the classes from {first.lower:g} to {last.upper:g}; check the units (m, not cm?) "
            "or set bounds that fit the data"
        )
    seen = sorted({str(v).strip().lower() for v in (sample if sample is not None else []) if v is not None})[:8]
    raise InvalidInputError(
        f"classes: no {what} has a value of '{scheme.spec()}'; the values found are {seen}; "
        "name them in the class spec, e.g. 'wet:yes|y'"
    )


def _overlap(bounds: tuple, crs, area: Area, filename: str) -> tuple[tuple[float, float, float, float], float]:
    """The upload's extent in lon/lat and the share of the area's extent it covers; OutsideExtentError at 0."""
    import shapely
    from pyproj import CRS
    from rasterio.warp import transform_bounds

    crs = CRS.from_user_input(crs)
    try:
        in_area = transform_bounds(crs, area.crs, *bounds, densify_pts=21)
        wgs84 = transform_bounds(crs, "EPSG:4326", *bounds, densify_pts=21)
    except Exception:  # PROJ cannot place it (e.g. bounds beyond the CRS's domain)
        raise OutsideExtentError(
            f"file: the extent of {filename} {tuple(round(b, 3) for b in bounds)} cannot be placed in "
            f"{crs.to_string()}; check that the file carries the right CRS"
        ) from None
    extent = area_extent(area)
    upload = shapely.box(*in_area)
    if not all(math.isfinite(v) for v in in_area):
        share = 0.0
    else:
        share = upload.intersection(extent).area / extent.area if extent.area else 0.0
    if share <= 0:
        ax, ay = _lonlat(area, extent.centroid)
        ux, uy = (wgs84[0] + wgs84[2]) / 2, (wgs84[1] + wgs84[3]) / 2
        km = _km(ax, ay, ux, uy)
        raise OutsideExtentError(
            f"file: {filename} does not overlap the area '{area.name}': it covers lon {wgs84[0]:.4f} to "
            f"{wgs84[2]:.4f}, lat {wgs84[1]:.4f} to {wgs84[3]:.4f}, about {km:,.0f} km {_direction(ax, ay, ux, uy)} "
            f"of the area (centred on lon {ax:.4f}, lat {ay:.4f}); check its CRS "
            f"({crs.to_string()}) and that it is the right place"
        )
    return (float(wgs84[0]), float(wgs84[1]), float(wgs84[2]), float(wgs84[3])), float(share)


def area_extent(area: Area):
    """The rectangle of the area's buildings (or boundaries) in its working CRS."""
    import shapely

    try:
        raw = area._raw_buildings_extent().to_crs(area.crs)
        return shapely.box(*raw.total_bounds)
    except GeoappError:
        if not area.boundaries:
            raise
        return shapely.box(*area.boundary_layer().total_bounds)


def _lonlat(area: Area, point) -> tuple[float, float]:
    from pyproj import Transformer

    x, y = Transformer.from_crs(area.crs, "EPSG:4326", always_xy=True).transform(point.x, point.y)
    return float(x), float(y)


def _km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    from pyproj import Geod

    _, _, metres = Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    return float(metres) / 1000


def _direction(lon1: float, lat1: float, lon2: float, lat2: float) -> str:
    from pyproj import Geod

    azimuth, _, _ = Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    names = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")
    return names[round((azimuth % 360) / 45) % 8]


def add_scenario(
    area: Area,
    path: Path,
    *,
    filename: str,
    title: str | None,
    added_by: str | None = None,
    classes: str | None = None,
    field: str | None = None,
    units: str | None = None,
    displacement: str | None = None,
    kind: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> tuple[dict, CheckedUpload]:
    """Check an upload, store it in the area folder and list it in ``scenarios.toml``: ``(entry, checks)``.

    The title is checked first, then the file; nothing is stored unless every check passes.
    """
    from layers.hazard import uploaded

    title = uploaded.check_title(title)
    checked = check_upload(
        path,
        filename=filename,
        area=area,
        classes=classes,
        field=field,
        units=units,
        displacement=displacement,
        kind=kind,
        max_bytes=max_bytes,
        max_pixels=max_pixels,
    )
    taken = {h.id for h in area.hazards} | {str(e.get("id")) for e in uploaded.read_entries(area.root)}
    scenario_id = uploaded.new_id(title, taken)
    stored = store_upload(checked, area.root, scenario_id)
    entry: dict = {
        "id": scenario_id,
        "title": title,
        "file": stored.as_posix(),
        "units": checked.units,
        "kind": checked.hazard_kind,
    }
    if checked.classes_spec:
        entry["classes"] = checked.classes_spec
    if checked.field:
        entry["field"] = checked.field
    if displacement and displacement.strip():
        entry["displacement"] = ",".join(f"{k}:{v:g}" for k, v in checked.displacement.items() if v)
    if added_by:
        entry["added_by"] = added_by
    try:
        return uploaded.add_entry(area.root, entry), checked
    except BaseException:
        (area.root / stored).unlink(missing_ok=True)
        raise
