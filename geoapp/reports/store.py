"""Writing validated report records: idempotent by id, atomic per request or file, trusted users publish directly."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Boolean, Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from geoapp import db
from geoapp.models import Report, ReportImport, Review, User, UTCDateTime, utcnow
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
    import_id: int | None = None
    notes: list[str] = field(default_factory=list)  # file-level remarks of the reader, each said once

    def as_json(self, *, with_ids: bool = False) -> dict:
        out = {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}
        if self.rejected_total > len(self.rejected):
            out["rejected_total"] = self.rejected_total
        if self.notes:
            out["notes"] = self.notes
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
    if photos:  # every row gets the columns (a batch insert takes its columns from the first row)
        for r in rows:
            r["photo"], r["photo_type"] = photos.get(r["id"], (None, None))
    return rows


def _nullable(s: pd.Series) -> list:
    return [None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v for v in s.tolist()]


def client_scope(user: User | None) -> str:
    """Whose ids a client id belongs to: ids ``1, 2`` of two volunteers are different reports."""
    return f"user:{user.id}" if user is not None else "anon"


def client_key(scope: str, report_id: str) -> str:
    """The stored idempotency key of a parsed id (never shown; the migration computes the same for old rows)."""
    return hashlib.sha256(f"{scope}\x1fid:{report_id}".encode()).hexdigest()


def _derived(report_id: str) -> bool:
    """Ids the parser derives (uuid5 of a non-UUID id or of the row's content): keys, never public ids."""
    return report_id[14:15] == "5"


def store_batch(
    s: Session,
    result: ParseResult,
    *,
    user: User | None,
    summary: StoreSummary,
    photos: dict | None = None,
    import_id: int | None = None,
) -> None:
    """Insert a validated batch (inside the caller's transaction); keys already stored count as duplicates.

    Public ids are the client's UUID or a random one: never a hash of the content, which would let
    anyone recover a blurred point by hashing candidate coordinates. Idempotency is by
    ``client_key``, scoped to the uploader, so nobody can pre-claim (or probe) someone else's ids.
    """
    summary.duplicates += result.duplicates
    summary.rejected_total += len(result.errors)
    summary.notes.extend(n for n in result.notes if n not in summary.notes)
    room = MAX_LISTED_ERRORS - len(summary.rejected)
    summary.rejected.extend(result.errors[: max(room, 0)])
    if result.records.empty:
        return
    status = initial_status(user)
    rows = _rows(result.records, user=user, status=status, photos=photos)
    table: Table = Report.__table__  # type: ignore[assignment]
    rows_total = len(rows)
    scope = client_scope(user)
    for r in rows:
        r["client_key"] = client_key(scope, r["id"])
        r["import_id"] = import_id
    rows = _new_rows(s, rows)
    if s.get_bind().dialect.name == "postgresql":
        # The server says which rows went in (race-safe with concurrent writers).
        stmt = postgresql.insert(table).on_conflict_do_nothing().returning(table.c.id)
        inserted = [
            i for start in range(0, len(rows), 5000) for i in s.execute(stmt, rows[start : start + 5000]).scalars()
        ]
    else:
        inserted = [r["id"] for r in rows]
        if rows:
            # ON CONFLICT DO NOTHING covers a writer that stored the same key in between; the row count says so.
            written = _sqlite_executemany(s, rows)
            if written < len(inserted):
                inserted = inserted[:written]  # counts stay exact (for one report, so does the id list)
    summary.accepted += len(inserted)
    summary.duplicates += rows_total - len(inserted)
    summary.ids.extend(inserted)
    if status == "published" and inserted and user is not None:
        now = utcnow()
        reason = "trusted contributor" if user.trusted else f"submitted by a {user.role}"
        s.execute(
            insert(Review),
            [
                {
                    "report_id": i,
                    "user_id": user.id,
                    "at": now,
                    "from_status": "pending",
                    "to_status": "published",
                    "reason": reason,
                }
                for i in inserted
            ],
        )


def _new_rows(s: Session, rows: list[dict]) -> list[dict]:
    """Rows whose key is not stored yet, each with a public id of its own.

    Derived ids get a random one; a client UUID already used by another uploader's report
    also gets a random one, so the answer is the same whether or not that report exists.
    """
    table = Report.__table__
    keys = [r["client_key"] for r in rows]
    have: set[str] = set()
    for start in range(0, len(keys), 900):
        have.update(s.scalars(select(table.c.client_key).where(table.c.client_key.in_(keys[start : start + 900]))))
    rows = [r for r in rows if r["client_key"] not in have]
    given = [r["id"] for r in rows if not _derived(r["id"])]
    taken: set[str] = set()
    for start in range(0, len(given), 900):
        taken.update(s.scalars(select(table.c.id).where(table.c.id.in_(given[start : start + 900]))))
    for r in rows:
        if _derived(r["id"]) or r["id"] in taken:
            r["id"] = str(uuid.uuid4())
    return rows


def _sqlite_executemany(s: Session, rows: list[dict]) -> int:
    """One driver-level executemany with values already in SQLite's storage form (SQLAlchemy's per-row
    bind processing costs more than the insert itself at 100k rows). Same text as the ORM writes:
    datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC), JSON via json.dumps, booleans as 0/1."""
    cols = list(rows[0])
    conv: list[Callable[[Any], Any] | None] = []
    for c in cols:
        kind = Report.__table__.c[c].type
        if isinstance(kind, UTCDateTime):
            conv.append(
                lambda v: (
                    v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") if v else None
                )
            )
        elif isinstance(kind, JSON):
            conv.append(lambda v: json.dumps(v) if v is not None else None)
        elif isinstance(kind, Boolean):
            conv.append(lambda v: None if v is None else int(bool(v)))
        else:
            conv.append(None)
    data = [tuple(r[c] if f is None else f(r[c]) for c, f in zip(cols, conv, strict=True)) for r in rows]
    marks = ", ".join("?" * len(cols))
    sql = f"INSERT INTO {Report.__tablename__} ({', '.join(cols)}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    return s.connection().exec_driver_sql(sql, data).rowcount


def summary_status(summary: StoreSummary) -> int:
    return 201 if summary.accepted else 200 if not summary.rejected_total else 400


# One lock per SQLite database file and process: writers queue here (woken at once) rather than in
# SQLite's busy handler, which sleeps up to 100 ms between tries while the database is already free.
_SQLITE_WRITERS: dict[str, threading.Lock] = {}
_SQLITE_WRITERS_LOCK = threading.Lock()


def _writer_lock(engine) -> AbstractContextManager:
    if engine.dialect.name != "sqlite":
        return nullcontext()
    key = str(engine.url)
    with _SQLITE_WRITERS_LOCK:
        return _SQLITE_WRITERS.setdefault(key, threading.Lock())


@contextmanager
def write_transaction() -> Iterator[Session]:
    """The request's session in a transaction that holds the write lock from its first statement.

    SQLite: ``BEGIN IMMEDIATE``, so what is read before a change (a report's status, the keys
    already stored) cannot change before the commit; PostgreSQL readers lock rows with
    ``SELECT ... FOR UPDATE`` instead.
    """
    engine = db.engine()
    with _writer_lock(engine), db.transaction() as s:
        if engine.dialect.name == "sqlite":
            conn = s.connection()
            if not conn.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
                conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield s


def import_path(
    path: Path, *, name: str, user: User | None, category: str | None = None, progress=None
) -> StoreSummary:
    """Import one file: all its good rows or, on a file-level error, none of them.

    Rows are committed in batches (other submissions never wait for the whole file) under a
    ``report_imports`` row; they stay hidden from every listing until the import is ``done``,
    and a failed import deletes what it had written.
    """
    summary = StoreSummary()
    with write_transaction() as s:
        imp = ReportImport(user_id=user.id if user is not None else None, name=name[:255], started_at=utcnow())
        s.add(imp)
        s.flush()
        summary.import_id = imp.id
    try:
        for result in iter_report_batches(
            path, name=name, config=report_config(), default_category=category, extent=reports_extent()
        ):  # each batch is read and validated before the write lock is taken
            with write_transaction() as s:
                store_batch(s, result, user=user, summary=summary, import_id=summary.import_id)
            if progress is not None:
                progress(len(result.records) + len(result.errors) + result.duplicates)
    except BaseException as exc:
        discard_import(summary.import_id, error=str(exc)[:2000] or type(exc).__name__)
        raise
    with write_transaction() as s:
        s.execute(
            update(ReportImport)
            .where(ReportImport.id == summary.import_id)
            .values(status="done", finished_at=utcnow(), accepted=summary.accepted)
        )
    return summary


def discard_import(import_id: int | None, *, error: str) -> None:
    """Delete the rows of an unfinished import in bounded slices, and mark it failed."""
    if import_id is None:
        return
    while True:
        with write_transaction() as s:
            ids = s.scalars(select(Report.id).where(Report.import_id == import_id).limit(5000)).all()
            if not ids:
                s.execute(
                    update(ReportImport)
                    .where(ReportImport.id == import_id)
                    .values(status="failed", finished_at=utcnow(), error=error)
                )
                return
            s.execute(delete(Review).where(Review.report_id.in_(ids)))
            s.execute(delete(Report).where(Report.id.in_(ids)))
