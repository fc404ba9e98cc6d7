"""Error classes of the geoprocessing core.

Each subclasses the built-in it resembles (as rasterio's errors do), so callers
that do not know geoapp can still catch ``ValueError`` or ``LookupError``. The
web layer maps these classes (never their message text) to HTTP statuses, and
the core itself decides by class or by the attributes an error carries
(``AreaConfigError.key``, ``AmbiguousLayerError.layers``), never by message.

::

    GeoappError
    ├── InvalidInputError (ValueError)          input the user can fix (400)
    │   ├── AreaConfigError                     a key of an area.toml
    │   ├── TooLargeError                       over a size limit (413)
    │   ├── OutsideExtentError                  no overlap with the area or hazard (422)
    │   ├── UnreadableFileError                 not a GIS file GDAL reads (truncated, corrupt)
    │   ├── WrongFileTypeError (+ TypeError)    a raster where a vector is expected, or the reverse
    │   ├── MissingCRSError                     a file without a coordinate reference system
    │   ├── AmbiguousLayerError                 a multi-layer file and no layer named
    │   └── EmptyLayerError                     a layer with no features where some are needed
    └── NotFoundError (LookupError)             a named thing that does not exist (404)
        └── MissingInputError                   an input a step needs is absent from the area
"""

from __future__ import annotations


class GeoappError(Exception):
    """Base class of every error the core raises on purpose."""


class InvalidInputError(GeoappError, ValueError):
    """Input the user can fix: a bad file, field, value or option (HTTP 400)."""


class AreaConfigError(InvalidInputError):
    """A problem in an ``area.toml``: names the key and the file."""

    def __init__(self, message: str, *, key: str | None = None, path: str | None = None):
        where = ", ".join(p for p in (f"key '{key}'" if key else "", f"in {path}" if path else "") if p)
        super().__init__(f"{message} ({where})" if where else message)
        self.key = key
        self.path = path


class NotFoundError(GeoappError, LookupError):
    """A named layer, scenario, feature or file that does not exist (HTTP 404)."""


class MissingInputError(NotFoundError):
    """An input a build step or analysis needs is not part of the area (e.g. no roads for evacuation).

    ``input`` names it ("roads"); the build runner skips the step and records why.
    """

    def __init__(self, message: str, *, input: str | None = None):  # noqa: A002 - the natural name
        super().__init__(message)
        self.input = input


class ForbiddenError(GeoappError, PermissionError):
    """An action or a view the caller's role does not allow (HTTP 403)."""


class ConflictError(GeoappError, RuntimeError):
    """A change based on a state that has changed since (e.g. a review of a report already decided) (HTTP 409)."""


class TooLargeError(InvalidInputError):
    """Input over a configured size limit (HTTP 413)."""


class OutsideExtentError(InvalidInputError):
    """Input that does not overlap the area or the hazard (HTTP 422)."""


class UnreadableFileError(InvalidInputError):
    """A file GDAL cannot read as a GIS layer: truncated, corrupt or of an unknown format."""


class WrongFileTypeError(InvalidInputError, TypeError):
    """A file of the wrong kind: a raster given where a vector layer is expected, or the reverse."""


class MissingCRSError(InvalidInputError):
    """A file without a coordinate reference system (e.g. a shapefile without its .prj)."""


class AmbiguousLayerError(InvalidInputError):
    """A file with several layers and none named: ``layers`` lists ``(name, geometry type)`` pairs."""

    def __init__(self, message: str, *, layers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.layers = layers or []


class EmptyLayerError(InvalidInputError):
    """A layer with no features where an analysis needs some."""
