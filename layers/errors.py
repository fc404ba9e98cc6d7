"""Error classes of the geoprocessing core.

Each subclasses the built-in it resembles, so callers that do not know geoapp
can still catch ``ValueError`` or ``LookupError``. The web layer maps these
classes (never their message text) to HTTP statuses.
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


class TooLargeError(InvalidInputError):
    """Input over a configured size limit (HTTP 413)."""


class OutsideExtentError(InvalidInputError):
    """Input that does not overlap the area or the hazard (HTTP 422)."""
