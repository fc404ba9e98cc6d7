"""Zip uploads checked before anything is extracted: bombs, escaping paths, symbolic links, members that lie."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from layers.errors import InvalidInputError, TooLargeError

# Zip limits: declared uncompressed total, per-member compression ratio, member count.
ZIP_MAX_TOTAL = 512 * 1024 * 1024
ZIP_MAX_RATIO = 200
ZIP_MAX_MEMBERS = 2000


def check_zip(path: Path, *, name: str | None = None) -> list[zipfile.ZipInfo]:
    """Refuse zip bombs and members whose paths escape the archive; return the members."""
    name = name or path.name
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except zipfile.BadZipFile as exc:
        raise InvalidInputError(f"{name} is not a readable zip archive: {exc}") from exc
    if len(infos) > ZIP_MAX_MEMBERS:
        raise TooLargeError(f"{name} holds {len(infos)} files; the limit is {ZIP_MAX_MEMBERS}")
    total = 0
    for info in infos:
        member = info.filename
        parts = Path(member.replace("\\", "/")).parts
        if member.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", member):
            raise InvalidInputError(f"{name}: member {member!r} points outside the archive; refusing to read it")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise InvalidInputError(f"{name}: member {member!r} is a symbolic link; refusing to read it")
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
            raise TooLargeError(
                f"{name}: member {member!r} expands {info.file_size // max(info.compress_size, 1)}× "
                f"(limit {ZIP_MAX_RATIO}×); this looks like a zip bomb"
            )
    if total > ZIP_MAX_TOTAL:
        raise TooLargeError(f"{name} expands to {total / 1e6:.0f} MB; the limit is {ZIP_MAX_TOTAL / 1e6:.0f} MB")
    return infos


def extract_dataset(path: Path, dest: Path, *, name: str | None = None) -> Path:
    """Extract the one dataset of a zip (a Shapefile with its sidecars, or one CSV/XLSX/GeoJSON/GPKG) safely."""
    name = name or path.name
    infos = [i for i in check_zip(path, name=name) if not i.is_dir() and not Path(i.filename).name.startswith(".")]
    infos = [i for i in infos if "__MACOSX" not in i.filename]
    shp = [i for i in infos if i.filename.lower().endswith(".shp")]
    data = [i for i in infos if Path(i.filename).suffix.lower() in (".csv", ".xlsx", ".geojson", ".json", ".gpkg")]
    if len(shp) > 1:
        raise InvalidInputError(f"{name} holds {len(shp)} Shapefiles; zip one layer per upload")
    if shp:
        stem = shp[0].filename[: -len(".shp")]
        members = [i for i in infos if i.filename.rsplit(".", 1)[0] == stem]
        if not any(i.filename.lower().endswith(".dbf") for i in members):
            raise InvalidInputError(f"{name}: the Shapefile {shp[0].filename} has no .dbf beside it")
    elif len(data) == 1:
        members = data
    else:
        raise InvalidInputError(
            f"{name} must hold one Shapefile (.shp, .shx, .dbf, .prj) or one CSV/XLSX/GeoJSON/GPKG file"
        )
    dataset = (shp or members)[0]
    with zipfile.ZipFile(path) as z:
        for info in members:
            target = _flat(dest, info)
            written = 0
            with z.open(info) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size or written > ZIP_MAX_TOTAL:
                        raise TooLargeError(f"{name}: member {info.filename!r} is larger than it claims")
                    dst.write(chunk)
    return _flat(dest, dataset)


def _flat(dest: Path, info: zipfile.ZipInfo) -> Path:
    """Where a member is extracted: flat in ``dest``, never a path taken from the archive."""
    return dest / Path(info.filename.replace("\\", "/")).name
