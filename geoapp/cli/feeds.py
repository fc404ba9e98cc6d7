"""`geoapp feeds dry-run NAME`, `geoapp feeds pull NAME [--schedule]`: ODK Central / KoboToolbox pulls."""

from __future__ import annotations

import json

import click

from ._app import app_for_cli


@click.group("feeds")
def feeds() -> None:
    """Forms on ODK Central or KoboToolbox linked to the area (instance config FEEDS)."""


@feeds.command("dry-run")
@click.argument("name")
@click.option("--db", help="SQLAlchemy URL (default: GEOAPP_DATABASE_URL or the instance SQLite file).")
def dry_run_cmd(name: str, db: str | None) -> None:
    """How the first rows of feed NAME would map to reports (JSON); nothing is stored."""
    from geoapp.feeds.pull import dry_run

    app = app_for_cli(db)
    with app.app_context():
        click.echo(json.dumps(dry_run(name), ensure_ascii=False, indent=1, default=str))


@feeds.command("pull")
@click.argument("name")
@click.option("--db", help="SQLAlchemy URL (default: GEOAPP_DATABASE_URL or the instance SQLite file).")
@click.option("--schedule", is_flag=True, help="Queue a job that pulls now and again every interval_s seconds.")
def pull_cmd(name: str, db: str | None, schedule: bool) -> None:
    """Pull new and edited submissions of feed NAME; prints the counts as JSON."""
    from geoapp.feeds.pull import feed, pull

    app = app_for_cli(db)
    with app.app_context():
        if schedule:
            from geoapp.feeds.tasks import schedule_pull

            feed(name)  # a bad name or config is an error now, not in a worker
            click.echo(json.dumps({"job": schedule_pull(name, delay_s=0)}))
            return
        click.echo(json.dumps(pull(name), ensure_ascii=False, default=str))


COMMANDS = [feeds]
