"""One table from core error classes to HTTP statuses, and JSON error bodies.

``STATUS_BY_ERROR`` is the only place a status is chosen for an error the core
raises: 400 invalid input, 403 forbidden, 404 not found, 409 conflict, 413 too
large, 422 outside the extent, 429 too many requests. Every error body is
``{"error": {"code", "message"}}``. Statuses are decided by class, never by
matching message text, and a user never sees a traceback: unexpected errors
are logged and answered with a generic 500 body.
"""

from __future__ import annotations

import math

from flask import Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from layers.errors import (
    ConflictError,
    ForbiddenError,
    GeoappError,
    InvalidInputError,
    NotFoundError,
    OutsideExtentError,
    TooLargeError,
)


class TooManyRequestsError(GeoappError):
    """A client over a rate limit (logins, anonymous reports, jobs): ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, *, retry_after_s: float = 60):
        super().__init__(message)
        self.retry_after_s = retry_after_s


# Most specific first: the first matching class wins.
STATUS_BY_ERROR: list[tuple[type[Exception], int, str]] = [
    (TooLargeError, 413, "too_large"),
    (OutsideExtentError, 422, "outside_extent"),
    (NotFoundError, 404, "not_found"),
    (ForbiddenError, 403, "forbidden"),
    (ConflictError, 409, "conflict"),
    (InvalidInputError, 400, "invalid_input"),
    (TooManyRequestsError, 429, "too_many_requests"),
]


class APIError(Exception):
    """An error raised by a view with an explicit status and code."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


def status_for(exc: Exception) -> tuple[int, str]:
    for cls, status, code in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal_error"


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with a body nested too deep to decode (``[[[[...``) read as bad JSON (a 400, or None for
    ``get_json(silent=True)``) rather than a RecursionError and a 500."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON body is nested too deeply") from None


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)

    @app.errorhandler(APIError)
    def _api_error(exc: APIError):
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(GeoappError)
    def _core_error(exc: GeoappError):
        status, code = status_for(exc)
        body, status = error_response(status, code, str(exc))
        if isinstance(exc, TooManyRequestsError):
            body.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
        return body, status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if _wants_html():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
        return error_response(500, "internal_error", "Something went wrong on the server; it has been logged.")


def _wants_html() -> bool:
    """Browser pages get HTML error pages; API paths always get JSON."""
    path = request.path
    if path.startswith(("/api", "/ogcapi")):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"
