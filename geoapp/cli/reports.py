"""`geoapp reports import FILE`: bulk import of field reports (CSV, XLSX, GeoJSON, GPKG, zipped Shapefile, Kobo/ODK)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select
from tqdm.auto import tqdm

from ..models import User
from ._app import app_for_cli


@click.group("reports")
def reports() -> None:
    """Field reports."""


@reports.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--category", help="Category for rows that have none.")
@click.option("--user", "user_name", help="Import as this user (a trusted user's reports are published directly).")
@click.option("--db", help="SQLAlchemy URL (default: GEOAPP_DATABASE_URL or the instance SQLite file).")
def import_cmd(file: Path, category: str | None, user_name: str | None, db: str | None) -> None:
    """Import FILE; prints {"accepted", "duplicates", "rejected", "notes"} as JSON.

    Limits: at most 500 columns (layers.reports.columns.MAX_COLUMNS); zip archives at most 2,000
    members and 512 MB unpacked. CSV text may be UTF-8, UTF-16 or Windows-1252 (per row); the
    notes say which rows were decoded how, and that short rows were padded with empty cells.
    """
    from geoapp.reports.store import import_path

    from .. import db as dbmod

    app = app_for_cli(db)
    with app.test_request_context():
        user = None
        if user_name:
            user = dbmod.session().scalar(select(User).where(User.name == user_name))
            if user is None:
                raise click.ClickException(f"no user named {user_name!r} (create one with: geoapp users create)")
        with tqdm(desc=f"import {file.name}", unit=" rows", disable=None) as bar:
            summary = import_path(file, name=file.name, user=user, category=category, progress=bar.update)
    click.echo(json.dumps(summary.as_json(), ensure_ascii=False))


COMMANDS = [reports]
