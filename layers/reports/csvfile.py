"""CSV and other delimited text uploads, read in batches of raw rows under canonical names."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from layers.errors import InvalidInputError
from layers.reports.columns import frame_from_rows


def csv_batches(path: Path, name: str, batch_rows: int) -> Iterator[tuple[pd.DataFrame, str | None]]:
    raw = path.open("rb")
    head = raw.read(65536)
    raw.seek(0)
    encoding = "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the buffer's end
            encoding = "cp1252"
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    sample = head.decode("utf-8", errors="replace").splitlines()[0] if head else ""
    delimiter = max([",", ";", "\t"], key=sample.count)
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInputError(f"{name} has no header row") from None
    except csv.Error as exc:
        raise InvalidInputError(f"{name}: the header row cannot be read as CSV ({exc})") from exc
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        dups = sorted({h for h in header if header.count(h) > 1})
        raise InvalidInputError(f"{name}: column name(s) {dups} appear more than once in the header")
    width = len(header)
    with text:
        buf: list[list[str]] = []
        bad: list[dict] = []
        rownums: list[int] = []
        rowno = 0
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                rowno += 1
                raise InvalidInputError(f"{name}: record {rowno} cannot be read as CSV ({exc})") from exc
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            rowno += 1
            if len(rec) != width:
                bad.append({"row": rowno, "error": f"has {len(rec)} fields but the header has {width}"})
                continue
            buf.append(rec)
            rownums.append(rowno)
            if len(buf) >= batch_rows:
                yield frame_from_rows(header, buf, rownums, bad)
                buf, rownums, bad = [], [], []
        if buf or bad:
            yield frame_from_rows(header, buf, rownums, bad)
