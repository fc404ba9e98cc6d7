"""Excel workbooks (XLSX): the first sheet read in batches of raw rows under canonical names.

The workbook is opened from a file object, so its name needs no ``.xlsx`` suffix (web
uploads are saved without one). Every member is checked first (:func:`check_members`):
no lying sizes, no XML entities.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd

from layers.errors import GeoappError, InvalidInputError
from layers.reports.archives import check_members
from layers.reports.columns import check_column_count, frame_from_rows


def xlsx_batches(path: Path, name: str, batch_rows: int) -> Iterator[tuple[pd.DataFrame, str | None]]:
    """Batches of the first sheet; a header cell left empty is named ``column_<n>``."""
    import openpyxl

    check_members(path, name=name)
    with path.open("rb") as f:
        try:
            wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken workbook
            raise InvalidInputError(f"{name} cannot be read as an Excel workbook: {exc}") from exc
        try:
            yield from _sheet_batches(wb, name, batch_rows)
        except GeoappError:
            raise
        except Exception as exc:  # the read-only reader parses lazily: a broken sheet fails mid-way
            raise InvalidInputError(f"{name} cannot be read as an Excel workbook: {exc}") from exc
        finally:
            wb.close()


def _sheet_batches(wb, name: str, batch_rows: int) -> Iterator[tuple[pd.DataFrame, str | None]]:
    ws = wb.worksheets[0]
    ws.reset_dimensions()  # rows as wide as their cells, not as the (possibly huge) declared sheet size
    it = ws.iter_rows(values_only=True)
    first = next(it, None)
    cells = list(first or ())
    while cells and cells[-1] in (None, ""):  # formatted but empty columns at the right
        cells.pop()
    if not cells:
        raise InvalidInputError(f"{name}: the first sheet has no header row")
    check_column_count(len(cells), name)
    header = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(cells)]
    width = len(header)
    buf, nums, rowno = [], [], 0
    for rec in it:
        if rec is None or all(v is None or v == "" for v in rec):
            continue
        rowno += 1
        buf.append([_cell_text(v) for v in rec[:width]] + [""] * (width - len(rec)))
        nums.append(rowno)
        if len(buf) >= batch_rows:
            yield frame_from_rows(header, buf, nums, [])
            buf, nums = [], []
    if buf:
        yield frame_from_rows(header, buf, nums, [])


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)
