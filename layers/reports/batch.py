"""A batch of raw report rows under validation: cleaned text per column and the errors collected per row.

Every validation stage (:mod:`layers.reports.location`, :mod:`layers.reports.fields`,
:mod:`layers.reports.ids`) reads columns through one :class:`RawBatch` and adds
its messages with :meth:`RawBatch.add`; a row fails when any stage added one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import pandas as pd

Message: TypeAlias = "str | pd.Series | Callable[[], str | pd.Series]"


class RawBatch:
    """Raw rows (canonical column names, text values) and the error text of each row, in the order found.

    Row errors found while reading the file (``raw.attrs["row_errors"]``, e.g. a CSV
    record with too many fields) start the message of their row; those of rows not
    in the frame are kept in :attr:`carried` and returned with the others.
    ``raw.attrs["row_context"]`` ({row: text}) is added to a row's message only if
    it fails; ``raw.attrs["notes"]`` are file-level notes for the summary.
    """

    def __init__(self, raw: pd.DataFrame) -> None:
        pre_errors = list(raw.attrs.get("row_errors", []))
        self.notes: list[str] = list(raw.attrs.get("notes", []))
        self.context: dict[int, str] = dict(raw.attrs.get("row_context", {}))
        self.raw = raw.reset_index(drop=True)
        self.n = n = len(self.raw)
        self.rows = self.raw["row"].to_numpy() if "row" in self.raw else np.arange(1, n + 1)
        self.errs = pd.Series([""] * n, dtype=object)
        in_frame = set(self.rows.tolist())
        for e in pre_errors:
            if e["row"] in in_frame:
                self.add(self.rows == e["row"], e["error"])
        self.carried = [e for e in pre_errors if e["row"] not in in_frame]
        self._text: dict[str, pd.Series] = {}
        self.empty_text = pd.Series([None] * n, index=self.raw.index, dtype=object)
        self.empty_num = pd.Series(np.nan, index=self.raw.index, dtype="float64")

    def __contains__(self, col: str) -> bool:
        return col in self.raw

    def add(self, mask, msg: Message) -> None:
        """Append ``msg`` (text, per-row Series, or a callable building either) to the rows in ``mask``."""
        m = mask.to_numpy(dtype=bool, na_value=False) if isinstance(mask, pd.Series) else np.asarray(mask, dtype=bool)
        if not m.any():
            return
        if callable(msg):  # messages are built only when some row fails
            msg = msg()
        text = msg[m] if isinstance(msg, pd.Series) else msg
        cur = self.errs[m]
        self.errs[m] = cur.where(cur == "", cur + "; ") + text

    def text(self, col: str) -> pd.Series:
        """Stripped text, None for blanks (object dtype: far cheaper than pandas strings on 1-row payloads)."""
        if col not in self.raw:
            return self.empty_text
        if col not in self._text:
            self._text[col] = pd.Series([_clean(v) for v in self.raw[col].tolist()], index=self.raw.index, dtype=object)
        return self._text[col]

    def number(self, col: str, label: str) -> pd.Series:
        """A column as float64 (a decimal comma is accepted); text that is not a number fails its row."""
        if col not in self.raw:
            return self.empty_num
        s = self.text(col)
        v = pd.to_numeric(s.str.replace(",", ".", regex=False), errors="coerce").astype("float64")
        self.add(s.notna() & v.isna(), lambda: f"{label} " + quote(s) + " is not a number")
        return v

    def failed(self) -> tuple[np.ndarray, list[dict]]:
        """The mask of failed rows and every error (those carried from the reader included), by row."""
        bad = (self.errs != "").to_numpy()
        errors = [{"row": int(r), "error": e} for r, e in zip(self.rows[bad], self.errs[bad], strict=True)]
        if self.context:
            for e in errors:
                if e["row"] in self.context:
                    e["error"] += f" (the row {self.context[e['row']]})"
        if self.carried:
            errors = sorted(errors + self.carried, key=lambda e: e["row"])
        return bad, errors


def _clean(v) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    v = str(v).strip()
    return v or None


def quote(s: pd.Series) -> pd.Series:
    """Values for messages: quoted and cut to 60 characters."""
    s = s.astype("string").fillna("")
    return "'" + s.where(s.str.len() <= 60, s.str.slice(0, 57) + "...") + "'"


_BLANK = re.compile(r"[\s\-]+")


def snake(text: str) -> str:
    """``"Blocked drain"`` → ``"Blocked_drain"``: blanks and dashes as underscores."""
    return _BLANK.sub("_", text)
