"""`geoapp users create|token|password|list` and `geoapp db upgrade`: accounts and the reports database."""

from __future__ import annotations

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ROLES, User
from ._app import app_for_cli


@click.group("users")
def users() -> None:
    """Accounts: volunteers, moderators, planners, admins."""


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="volunteer", show_default=True)
@click.option("--trusted", is_flag=True, help="Their reports are published without review.")
@click.option("--password", is_flag=True, help="Also ask for a password for the browser login.")
@click.option("--db", help="SQLAlchemy URL (default: GEOAPP_DATABASE_URL or the instance SQLite file).")
def create(name: str, role: str, trusted: bool, password: bool, db: str | None) -> None:
    """Add a user and print their API token (shown once; only its hash is stored)."""
    from ..auth import create_user

    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    app = app_for_cli(db)
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
        _, token = create_user(s, name, role, trusted=trusted, password=secret)
    click.echo(token)


@users.command("token")
@click.argument("name")
@click.option("--db", help="SQLAlchemy URL.")
def token(name: str, db: str | None) -> None:
    """Replace a user's API token and print the new one."""
    from ..auth import new_token

    app = app_for_cli(db)
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            raise click.ClickException(f"no user named {name!r}")
        click.echo(new_token(s, user))


@users.command("password")
@click.argument("name")
@click.option("--db", help="SQLAlchemy URL.")
def password(name: str, db: str | None) -> None:
    """Set a user's browser password (asked twice); their login sessions end."""
    from ..auth import set_password

    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    app = app_for_cli(db)
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s, s.begin():
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            raise click.ClickException(f"no user named {name!r}")
        set_password(user, secret)
    click.echo(f"password of {name} changed; their login sessions have ended")


@users.command("list")
@click.option("--db", help="SQLAlchemy URL.")
def list_users(db: str | None) -> None:
    """Names, roles and trusted flags."""
    app = app_for_cli(db)
    with app.app_context(), Session(app.extensions["geoapp.db"]) as s:
        for u in s.scalars(select(User).order_by(User.name)):
            click.echo(f"{u.name}\t{u.role}\t{'trusted' if u.trusted else ''}\t{'' if u.active else 'inactive'}")


@click.group("db")
def db_group() -> None:
    """The reports database."""


@db_group.command("upgrade")
@click.option("--db", help="SQLAlchemy URL.")
def upgrade(db: str | None) -> None:
    """Apply the schema migrations (the app also does this when it starts)."""
    app = app_for_cli(db, upgrade=False)
    from ..db import upgrade as run_upgrade

    run_upgrade(app.extensions["geoapp.db"])
    click.echo("database is up to date")


COMMANDS = [users, db_group]
