"""Writing validated report records: idempotent by id, atomic per request or file, trusted users publish directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pandas as pd
from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from layers.fieldreports import ParseResult

from .models import Report, Review, User, utcnow

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
    now = utcnow()
    df = records.drop(columns=["row"], errors="ignore").astype(object)
    df = df.where(pd.notna(df), None)
    obs = records["observed_at"]
    df["observed_at"] = [t.to_pydatetime() if pd.notna(t) else None for t in obs]
    rows = df.to_dict("records")
    uid = user.id if user is not None else None
    for i, r in enumerate(rows):
        at = now + timedelta(microseconds=i)  # keeps the batch's order in listings (ordered by created_at, id)
        original = {k: r[k] for k in ("category", "description", "severity", "lon", "lat", "geometry_wkt", "attributes")}
        original["observed_at"] = r["observed_at"].isoformat() if r["observed_at"] else None
        r.update(status=status, created_at=at, updated_at=at, created_by=uid, original=original,
                 severity=int(r["severity"]) if r["severity"] is not None else None,
                 outside_area=bool(r["outside_area"]), attributes=r["attributes"] or {},
                 photo=None, photo_type=None)  # fmt: skip
        if photos and r["id"] in photos:
            r["photo"], r["photo_type"] = photos[r["id"]]
    return rows


def store_batch(s: Session, result: ParseResult, *, user: User | None, summary: StoreSummary, photos: dict | None = None) -> None:
    """Insert a validated batch (inside the caller's transaction); already stored ids count as duplicates."""
    summary.duplicates += result.duplicates
    summary.rejected_total += len(result.errors)
    room = MAX_LISTED_ERRORS - len(summary.rejected)
    summary.rejected.extend(result.errors[: max(room, 0)])
    if result.records.empty:
        return
    status = initial_status(user)
    rows = _rows(result.records, user=user, status=status, photos=photos)
    dialect = s.get_bind().dialect.name
    ins = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if ins is None:  # another database: look first, then insert (no race protection)
        from sqlalchemy import select

        have = set(s.scalars(select(Report.id).where(Report.id.in_([r["id"] for r in rows]))))
        rows = [r for r in rows if r["id"] not in have]
        if rows:
            s.execute(insert(Report), rows)
        inserted = [r["id"] for r in rows]
    else:
        inserted = []
        for start in range(0, len(rows), 5000):
            part = rows[start : start + 5000]
            stmt = ins(Report).on_conflict_do_nothing(index_elements=["id"]).returning(Report.id)
            inserted.extend(s.scalars(stmt, part).all())
    summary.accepted += len(inserted)
    summary.duplicates += len(rows) - len(inserted) if ins is not None else len(result.records) - len(inserted)
    summary.ids.extend(inserted)
    if status == "published" and inserted:
        now = utcnow()
        reason = "trusted contributor" if user.trusted else f"submitted by a {user.role}"
        s.execute(
            insert(Review),
            [dict(report_id=i, user_id=user.id, at=now, from_status="pending", to_status="published", reason=reason) for i in inserted],
        )


def summary_status(summary: StoreSummary) -> int:
    return 201 if summary.accepted else 200 if not summary.rejected_total else 400
