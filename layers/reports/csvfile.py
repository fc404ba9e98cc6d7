"""CSV and other delimited text uploads, read in batches of raw rows under canonical names.

Encodings: a UTF-16 file (with a byte-order mark, or ASCII text with every other
byte zero, as Excel's "Unicode text" writes) is read as UTF-16; anything else line
by line as UTF-8, a line that is not UTF-8 as Windows-1252 (Latin-1 for the five
bytes Windows-1252 leaves undefined), so a file edited in two programs is not
garbled. The import summary says which rows were read that way, once.

Rows shorter than the header (ODK Central leaves out empty trailing cells) are
read with those cells empty and said once in the summary; a row that then fails
also says it was short. Rows longer than the header fail on their own.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from layers.errors import InvalidInputError
from layers.reports.columns import check_column_count, frame_from_rows

_HEAD_BYTES = 65536
_LISTED_ROWS = 5  # rows named in a note before "and N more"


def utf16_encoding(head: bytes) -> str | None:
    """``"utf-16"`` (BOM), ``"utf-16-le"``/``"utf-16-be"`` (BOM-less text with every other byte zero) or None."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    pairs = head[: len(head) // 2 * 2][:4096]
    if len(pairs) < 8:
        return None
    even, odd = pairs[0::2], pairs[1::2]
    # ASCII-range UTF-16 text: the high byte of (nearly) every character is zero; UTF-8 text has no NUL at all.
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


class _Lines:
    """The lines of a byte stream as text: UTF-8, or Windows-1252 for a line that is not valid UTF-8."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.fallbacks = 0  # lines read as Windows-1252 so far
        self.utf8 = 0  # lines with non-ASCII UTF-8 so far

    def __iter__(self) -> Iterator[str]:
        first = True
        for line in self.raw:
            if first:
                line = line.removeprefix(codecs.BOM_UTF8)
                first = False
            if line.isascii():
                yield line.decode("ascii")
                continue
            try:
                text = line.decode("utf-8")
                self.utf8 += 1
            except UnicodeDecodeError:
                self.fallbacks += 1
                try:
                    text = line.decode("cp1252")
                except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d: undefined in Windows-1252
                    text = line.decode("latin-1")
            yield text


def _open_text(raw: BinaryIO, head: bytes) -> tuple[Iterable[str], _Lines | None, str | None]:
    """Text lines of the file, the per-line decoder (None for UTF-16) and a note on the encoding."""
    utf16 = utf16_encoding(head)
    if utf16:
        return io.TextIOWrapper(raw, encoding=utf16, errors="replace", newline=""), None, "the file was read as UTF-16"
    lines = _Lines(raw)
    return lines, lines, None


def _first_line(head: bytes) -> str:
    enc = utf16_encoding(head)
    text = head.decode(enc, errors="replace") if enc else head.decode("utf-8", errors="replace")
    return text.lstrip("\ufeff").splitlines()[0] if text else ""


def _rows_note(rows: list[int], total: int) -> str:
    listed = ", ".join(str(r) for r in rows[:_LISTED_ROWS])
    return f"{listed} and {total - _LISTED_ROWS} more" if total > _LISTED_ROWS else listed


def csv_batches(path: Path, name: str, batch_rows: int) -> Iterator[tuple[pd.DataFrame, str | None]]:
    """Batches of a delimited text file (``,``, ``;`` or tab, from the header line); notes come with the last one."""
    with path.open("rb") as raw:
        head = raw.read(_HEAD_BYTES)
        raw.seek(0)
        delimiter = max([",", ";", "\t"], key=_first_line(head).count)
        text, lines, note = _open_text(raw, head)
        reader = csv.reader(text, delimiter=delimiter)
        header = _header(reader, name)
        yield from _record_batches(reader, header, lines, name, batch_rows, [note] if note else [])


def _header(reader, name: str) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInputError(f"{name} has no header row") from None
    except csv.Error as exc:
        raise InvalidInputError(f"{name}: the header row cannot be read as CSV ({exc})") from exc
    check_column_count(len(header), name)
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        dups = sorted({h for h in header if header.count(h) > 1})
        raise InvalidInputError(f"{name}: column name(s) {dups} appear more than once in the header")
    return header


def _record_batches(
    reader, header: list[str], lines: _Lines | None, name: str, batch_rows: int, notes: list[str]
) -> Iterator[tuple[pd.DataFrame, str | None]]:
    """Records in batches: short ones padded (and remembered), long ones failed, non-UTF-8 ones remembered."""
    width = len(header)
    buf: list[list[str]] = []
    bad: list[dict] = []
    rownums: list[int] = []
    short: dict[int, str] = {}
    short_total = 0
    recoded: list[int] = []
    rowno = 0
    before = 0
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InvalidInputError(f"{name}: record {rowno + 1} cannot be read as CSV ({exc})") from exc
        if lines is not None and lines.fallbacks != before:
            before = lines.fallbacks
            recoded.append(rowno + 1)
        if not rec or (len(rec) == 1 and not rec[0].strip()):
            continue
        rowno += 1
        if len(rec) > width:
            bad.append({"row": rowno, "error": f"has {len(rec)} fields but the header has {width}"})
            continue
        if len(rec) < width:
            short[rowno] = f"has {len(rec)} fields but the header has {width}: the last {width - len(rec)} were empty"
            short_total += 1
            rec += [""] * (width - len(rec))
        buf.append(rec)
        rownums.append(rowno)
        if len(buf) >= batch_rows:
            yield frame_from_rows(header, buf, rownums, bad, row_context=short)
            buf, rownums, bad, short = [], [], [], {}
    if short_total:
        notes.append(
            f"{short_total} row(s) have fewer fields than the header ({width}); "
            "their missing trailing cells were read as empty"
        )
    if recoded and lines is not None:
        notes.append(
            f"{name} is not UTF-8: it was read as Windows-1252"
            if not lines.utf8
            else f"row(s) {_rows_note(recoded, len(recoded))} are not UTF-8 and were read as Windows-1252; "
            "check their accented letters"
        )
    if buf or bad or notes:
        yield frame_from_rows(header, buf, rownums, bad, row_context=short, notes=notes)
