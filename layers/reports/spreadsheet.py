"""Excel workbooks (XLSX): the first sheet read in batches of raw rows under canonical names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pandas as pd

from layers.errors import InvalidInputError
from layers.reports.columns import frame_from_rows


def xlsx_batches(path: Path, name: str, batch_rows: int) -> Iterator[tuple[pd.DataFrame, str | None]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise InvalidInputError(f"{name} cannot be read as an Excel workbook: {exc}") from exc
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if not header:
            raise InvalidInputError(f"{name}: the first sheet has no header row")
        header = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        buf, nums, rowno = [], [], 0
        for rec in it:
            if rec is None or all(v is None or v == "" for v in rec):
                continue
            rowno += 1
            buf.append([_cell_text(v) for v in rec[: len(header)]] + [""] * (len(header) - len(rec)))
            nums.append(rowno)
            if len(buf) >= batch_rows:
                yield frame_from_rows(header, buf, nums, [])
                buf, nums = [], []
        if buf:
            yield frame_from_rows(header, buf, nums, [])
    finally:
        wb.close()


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)
