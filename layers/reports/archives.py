"""Zip uploads checked before anything is extracted: bombs, escaping paths, symbolic links, members that lie."""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

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
            with open(_flat(dest, info), "wb") as dst:
                _copy_member(z, info, name, dst)
    return _flat(dest, dataset)


# An XML document type can declare entities: external ones (XXE) read files or URLs, internal ones can
# expand exponentially. Office files never carry one, so any is refused before a parser sees it.
_DTD_MARKS = tuple(m.encode(enc) for m in ("<!DOCTYPE", "<!ENTITY") for enc in ("ascii", "utf-16-le", "utf-16-be"))
_XML_SUFFIXES = (".xml", ".rels", ".vml")


def check_members(path: Path, *, name: str) -> None:
    """Read every member once (an XLSX before openpyxl opens it): refuse lying sizes and XML DTDs/entities."""
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if not info.is_dir():
                _copy_member(z, info, name, None, xml=info.filename.lower().endswith(_XML_SUFFIXES))


def _copy_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, dst: BinaryIO | None, *, xml=False) -> None:
    """Stream one member (into ``dst`` if given), checking it is exactly the size and checksum the archive says."""
    member = info.filename
    lie = f"{name}: member {member!r} is not what the archive says it is (size or checksum differ); refusing it"
    written = 0
    tail = b""
    try:
        with z.open(info) as src:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > info.file_size or written > ZIP_MAX_TOTAL:
                    raise TooLargeError(lie)
                if xml:
                    window = tail + chunk
                    if any(mark in window for mark in _DTD_MARKS):
                        raise InvalidInputError(
                            f"{name}: member {member!r} declares an XML document type or entities, which "
                            "spreadsheets never do; refusing it (save the file again from a spreadsheet program)"
                        )
                    tail = window[-32:]
                if dst is not None:
                    dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:  # CRC mismatch, truncated or corrupt stream
        raise InvalidInputError(lie) from exc
    except (RuntimeError, NotImplementedError) as exc:  # zipfile: encrypted or unsupported compression
        raise InvalidInputError(f"{name}: member {member!r} is encrypted or compressed in an unsupported way") from exc
    if written != info.file_size:
        raise InvalidInputError(lie)


def _flat(dest: Path, info: zipfile.ZipInfo) -> Path:
    """Where a member is extracted: flat in ``dest``, never a path taken from the archive."""
    return dest / Path(info.filename.replace("\\", "/")).name
