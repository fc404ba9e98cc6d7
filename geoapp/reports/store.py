"""Writing validated report records: idempotent by id, atomic per request or file, trusted users publish directly."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Boolean, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from geoapp import db
from geoapp.models import Report, Review, User, UTCDateTime, utcnow
from geoapp.reports.query import report_config, reports_extent
from layers.reports.parse import ParseResult, iter_report_batches

MAX_LISTED_ERRORS = 10_000


@dataclass
class StoreSummary:
    """Counts for ``{"accepted", "duplicates", "rejected"}`` answers."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    rejected_total: int = 0
    ids: list[str] = field(default_factory=list)

    def as_json(self, *, with_ids: bool = False) -> dict:
        out = {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}
        if self.rejected_total > len(self.rejected):
            out["rejected_total"] = self.rejected_total
        if with_ids:
            out["ids"] = self.ids
        return out


def initial_status(user: User | None) -> str:
    """Trusted volunteers, moderators and admins publish directly; everyone else waits for review."""
    if user is not None and (user.trusted or user.role in ("moderator", "admin")):
        return "published"
    return "pending"


def _rows(records: pd.DataFrame, *, user: User | None, status: str, photos: dict | None) -> list[dict]:
    """Column values for the insert, built column-wise; ``created_at`` steps by 1 µs to keep the batch's order."""
    n = len(records)
    now = pd.Timestamp(utcnow())
    at = (now + pd.to_timedelta(np.arange(n), unit="us")).to_pydatetime()
    obs = records["observed_at"]
    cols = {
        "id": records["id"].tolist(),
        "category": records["category"].tolist(),
        "description": _nullable(records["description"]),
        "severity": [None if pd.isna(v) else int(v) for v in records["severity"]],
        "observed_at": [t.to_pydatetime() if pd.notna(t) else None for t in obs],
        "lon": records["lon"].astype("float64").tolist(),
        "lat": records["lat"].astype("float64").tolist(),
        "accuracy_m": _nullable(records["accuracy_m"]),
        "altitude_m": _nullable(records["altitude_m"]),
        "geometry_wkt": _nullable(records["geometry_wkt"]),
        "attributes": [a or {} for a in records["attributes"]],
        "source": records["source"].tolist(),
        "reporter_name": _nullable(records["reporter_name"]),
        "reporter_contact": _nullable(records["reporter_contact"]),
        "outside_area": records["outside_area"].astype(bool).tolist(),
        "created_at": list(at),
        "updated_at": list(at),
    }
    uid = user.id if user is not None else None
    rows = [
        dict(zip(cols, values, strict=True), status=status, created_by=uid)
        for values in zip(*cols.values(), strict=True)
    ]
    if photos:
        for r in rows:
            if r["id"] in photos:
                r["photo"], r["photo_type"] = photos[r["id"]]
    return rows


def _nullable(s: pd.Series) -> list:
    return [None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v for v in s.tolist()]


def store_batch(
    s: Session, result: ParseResult, *, user: User | None, summary: StoreSummary, photos: dict | None = None
) -> None:
    """Insert a validated batch (inside the caller's transaction); already stored ids count as duplicates."""
    summary.duplicates += result.duplicates
    summary.rejected_total += len(result.errors)
    room = MAX_LISTED_ERRORS - len(summary.rejected)
    summary.rejected.extend(result.errors[: max(room, 0)])
    if result.records.empty:
        return
    status = initial_status(user)
    rows = _rows(result.records, user=user, status=status, photos=photos)
    table = Report.__table__
    all_ids = [r["id"] for r in rows]
    if s.get_bind().dialect.name == "postgresql":
        # The server says which rows went in (race-safe with concurrent writers).
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
        inserted = [
            i for start in range(0, len(rows), 5000) for i in s.execute(stmt, rows[start : start + 5000]).scalars()
        ]
    else:
        # SQLite: one plain executemany (fast). Ids already stored are left out first; ON CONFLICT DO
        # NOTHING covers a writer that stored the same id in between, and the row count says so.
        have: set[str] = set()
        for start in range(0, len(all_ids), 900):
            have.update(s.scalars(select(table.c.id).where(table.c.id.in_(all_ids[start : start + 900]))))
        rows = [r for r in rows if r["id"] not in have]
        inserted = [r["id"] for r in rows]
        if rows and s.get_bind().dialect.name == "sqlite":
            written = _sqlite_executemany(s, rows)
            if written < len(inserted):  # another request stored some of these ids in between: duplicates
                inserted = inserted[:written]  # counts stay exact (for one report, so does the id list)
        elif rows:
            s.execute(insert(table), rows)
    rows_total = len(all_ids)
    summary.accepted += len(inserted)
    summary.duplicates += rows_total - len(inserted)
    summary.ids.extend(inserted)
    if status == "published" and inserted:
        now = utcnow()
        reason = "trusted contributor" if user.trusted else f"submitted by a {user.role}"
        s.execute(
            insert(Review),
            [
                dict(report_id=i, user_id=user.id, at=now, from_status="pending", to_status="published", reason=reason)
                for i in inserted
            ],
        )


def _sqlite_executemany(s: Session, rows: list[dict]) -> int:
    """One driver-level executemany with values already in SQLite's storage form (SQLAlchemy's per-row
    bind processing costs more than the insert itself at 100k rows). Same text as the ORM writes:
    datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC), JSON via json.dumps, booleans as 0/1."""
    cols = list(rows[0])
    conv = []
    for c in cols:
        kind = Report.__table__.c[c].type
        if isinstance(kind, UTCDateTime):
            conv.append(
                lambda v: (
                    v.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
                    if v
                    else None
                )
            )
        elif isinstance(kind, JSON):
            conv.append(lambda v: json.dumps(v) if v is not None else None)
        elif isinstance(kind, Boolean):
            conv.append(lambda v: None if v is None else int(bool(v)))
        else:
            conv.append(None)
    data = [tuple(f(r[c]) if f else r[c] for c, f in zip(cols, conv, strict=True)) for r in rows]
    sql = f"INSERT INTO {Report.__tablename__} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) ON CONFLICT (id) DO NOTHING"
    return s.connection().exec_driver_sql(sql, data).rowcount


def summary_status(summary: StoreSummary) -> int:
    return 201 if summary.accepted else 200 if not summary.rejected_total else 400


def import_path(
    path: Path, *, name: str, user: User | None, category: str | None = None, progress=None
) -> StoreSummary:
    """Import one file in one transaction (all good rows or, on a file-level error, nothing)."""
    summary = StoreSummary()
    with db.transaction() as s:
        for result in iter_report_batches(
            path, name=name, config=report_config(), default_category=category, extent=reports_extent()
        ):
            store_batch(s, result, user=user, summary=summary)
            if progress is not None:
                progress(len(result.records) + len(result.errors) + result.duplicates)
    return summary
