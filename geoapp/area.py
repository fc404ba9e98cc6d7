"""The areas the app serves: the configured default area plus areas an admin added, and which one a request names.

The default area is config ``AREA`` (its build: ``BUILD``, else ``<AREA>/build/area.gpkg``).
Added areas are folders under ``AREAS_DIR`` (default ``<instance>/areas``), one per
area, named by their URL name; a folder is the whole registry entry, so workers on
other machines that share the folder see a new area at once.

Every page and API is served under ``/a/<area>/...`` as well as at its unprefixed
path (the default area). :class:`AreaPrefix` moves ``/a/<area>`` from the path
into the WSGI ``SCRIPT_NAME``, so the views and ``url_for`` are the same for
every area and the links a page makes keep its area. :func:`current_area` and
:func:`build_path` answer for the request's area (or the one :func:`using`
names, in a background job).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

from flask import Flask, current_app, g, has_app_context, has_request_context, request

from layers.area import Area, load_area
from layers.errors import AreaConfigError, ConflictError, InvalidInputError, NotFoundError, TooLargeError

ENVIRON_KEY = "geoapp.area"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_UPLOAD_MAX_BYTES = 2 * 1024**3  # an area's files once unzipped


class AreaPrefix:
    """WSGI middleware: ``/a/<name>/rest`` is served as ``/rest`` with ``/a/<name>`` in ``SCRIPT_NAME``."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/a/"):
            name, _, rest = path[3:].partition("/")
            if name:
                environ[ENVIRON_KEY] = name
                environ["SCRIPT_NAME"] = f"{environ.get('SCRIPT_NAME', '').rstrip('/')}/a/{name}"
                environ["PATH_INFO"] = f"/{rest}"
        return self.wsgi_app(environ, start_response)


def init_app(app: Flask) -> None:
    app.config.setdefault("AREAS_DIR", None)
    app.config.setdefault("AREA_UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES)
    app.extensions["geoapp.area"] = None  # the default area, parsed on first use
    app.extensions["geoapp.areas"] = {}  # added areas: name -> (area.toml mtime, Area)
    app.wsgi_app = AreaPrefix(app.wsgi_app)  # type: ignore[method-assign]

    @app.before_request
    def _area_of_request() -> None:
        name = request.environ.get(ENVIRON_KEY)
        if name is not None:
            _check_known(name)  # 404 for an unknown area, before any view runs
        g.geoapp_area = name  # set even when None: an app context may outlive one request (tests, CLI)


# -- the registry -----------------------------------------------------------------------------


def areas_dir() -> Path:
    configured = current_app.config.get("AREAS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "areas"


def default_area() -> Area:
    """The configured area (config ``AREA``), parsed on first use."""
    area = current_app.extensions.get("geoapp.area")
    if area is None or area.is_stale():  # re-read when area.toml or scenarios.toml changed (any worker)
        area = load_area(current_app.config["AREA"])
        current_app.extensions["geoapp.area"] = area
    return area


def default_name() -> str:
    return slug(default_area().name)


def slug(text: str) -> str:
    """A URL name from an area's name: lower case, other characters as ``-``."""
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")[:63] or "area"


def added_names() -> list[str]:
    """The areas added under ``AREAS_DIR``, sorted (read from the folder each time: other workers may add one)."""
    folder = areas_dir()
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if NAME.match(p.name) and (p / "area.toml").is_file())


def area_names() -> list[str]:
    """Every area's URL name, the default first."""
    first = default_name()
    return [first, *(n for n in added_names() if n != first)]


def _check_known(name: str) -> None:
    if name != default_name() and not (NAME.match(name) and (areas_dir() / name / "area.toml").is_file()):
        raise NotFoundError(f"no area '{name[:60]}'; areas are {', '.join(area_names())} (see GET /api/areas)")


def get_area(name: str) -> Area:
    """An area by URL name, parsed once per version of its ``area.toml``."""
    if name == default_name():
        return default_area()
    _check_known(name)
    toml = areas_dir() / name / "area.toml"
    mtime = toml.stat().st_mtime_ns
    cache = current_app.extensions["geoapp.areas"]
    if name not in cache or cache[name][0] != mtime or cache[name][1].is_stale():
        try:
            cache[name] = (mtime, load_area(toml))
        except AreaConfigError as exc:  # the folder's path on this server is not the caller's business
            folder = str(toml.parent)
            raise AreaConfigError(str(exc).replace(str(toml.parent.resolve()), name).replace(folder, name)) from None
    return cache[name][1]


# -- the request's area -----------------------------------------------------------------------


def current_name() -> str:
    """The URL name of the area this request (or job, see :func:`using`) is for."""
    name = g.get("geoapp_area") if has_app_context() else None
    return name or default_name()


def current_area() -> Area:
    """The request's area: ``/a/<name>/...``, else the default area."""
    return get_area(current_name())


def is_default() -> bool:
    return current_name() == default_name()


def build_path() -> Path:
    """The GeoPackage that `geoapp build` wrote for the request's area."""
    return build_path_of(current_name())


def build_path_of(name: str) -> Path:
    """An area's built GeoPackage: config ``BUILD`` for the default area, else ``<area>/build/area.gpkg``."""
    configured = current_app.config.get("BUILD")
    if configured and name == default_name():
        return Path(configured)
    return get_area(name).default_build_path


@contextlib.contextmanager
def using(name: str) -> Iterator[None]:
    """Serve ``name`` inside this app context (a background job carries its request's area)."""
    previous = g.get("geoapp_area")
    g.geoapp_area = name
    try:
        yield
    finally:
        g.geoapp_area = previous


def request_area_name() -> str | None:
    """The area named in the URL, if any (None for the unprefixed paths)."""
    return request.environ.get(ENVIRON_KEY) if has_request_context() else None


# -- adding an area ---------------------------------------------------------------------------


def add_area(source: str | Path, name: str | None = None) -> str:
    """Install an area folder or a zip of one under ``AREAS_DIR``; return its URL name.

    The folder is copied (or the zip unpacked) beside its final place, validated
    with :func:`layers.area.load_area` (every file it names must be inside it),
    then renamed into place in one step, so no worker ever sees half an area.
    """
    source = Path(source)
    if not source.exists():
        raise InvalidInputError(f"{source} does not exist; give an area folder (with an area.toml) or a zip of one")
    folder = areas_dir()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".new-{uuid.uuid4().hex[:12]}"
    try:
        if source.is_dir():
            shutil.copytree(source, tmp, symlinks=False)
            root = tmp
        else:
            root = unzip_area(source, tmp, max_bytes=int(current_app.config["AREA_UPLOAD_MAX_BYTES"]))
        area = _validate(root)
        name = name or slug(area.name)
        if not NAME.match(name):
            raise InvalidInputError(
                f"area name {name!r} must be 1 to 63 lower-case letters, digits, '-' or '_' (e.g. 'dar-es-salaam')"
            )
        final = folder / name
        if name == default_name() or final.exists():
            raise ConflictError(f"an area named '{name}' already exists; choose another name (--name / name=)")
        try:
            os.rename(root, final)  # atomic on one file system; fails if another worker took the name first
        except OSError:
            raise ConflictError(f"an area named '{name}' already exists; choose another name") from None
        return name
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def unzip_area(path: Path, out: Path, *, max_bytes: int) -> Path:
    """Unpack a zip of an area folder into ``out``; the folder holding ``area.toml`` (top level or one folder down)."""
    if not zipfile.is_zipfile(path):
        raise InvalidInputError("the upload is not a zip file; zip the area folder (with its area.toml) and send that")
    with zipfile.ZipFile(path) as zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        total = sum(m.file_size for m in members)
        if total > max_bytes:
            raise TooLargeError(
                f"the zip unpacks to {total:,} bytes; the limit is {max_bytes:,} (AREA_UPLOAD_MAX_BYTES)"
            )
        for m in members:
            parts = Path(m.filename).parts
            if m.filename.startswith(("/", "\\")) or ".." in parts or ":" in m.filename:
                raise InvalidInputError(f"zip member '{m.filename}' points outside the area folder; remove it")
            if stat.S_ISLNK(m.external_attr >> 16):
                raise InvalidInputError(f"zip member '{m.filename}' is a symbolic link; zip the files themselves")
        tomls = [
            m.filename for m in members if Path(m.filename).name == "area.toml" and len(Path(m.filename).parts) <= 2
        ]
        if len(tomls) != 1:
            found = f"found {len(tomls)}" if tomls else "found none"
            raise InvalidInputError(
                f"the zip must hold one area.toml, at its top level or in one folder ({found}); zip one area folder"
            )
        out.mkdir(parents=True)
        zf.extractall(out, members)
    return out / Path(tomls[0]).parent


def _validate(root: Path) -> Area:
    try:
        area = load_area(root)
    except AreaConfigError as exc:  # say "area.toml", not the temporary folder on this server
        raise AreaConfigError(str(exc).replace(str(root.resolve()), "<area>").replace(str(root), "<area>")) from None
    inside = root.resolve()
    refs = [h.path for h in area.hazards] + [b.path for b in area.boundaries]
    refs += [area.population.path] if area.population else []
    refs += [p for p in (area.buildings_path, area.roads_path, area.facilities_path, area.osm_path) if p]
    for ref in refs:
        if not Path(ref).resolve().is_relative_to(inside):
            raise AreaConfigError(f"'{ref.name}' is outside the area folder; an area may only use its own files")
    return area
