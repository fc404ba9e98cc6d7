"""`geoapp areas add DIR|ZIP [--name N] [--build]` and `geoapp areas list`: the areas one server serves."""

from __future__ import annotations

from pathlib import Path

import click

from .. import create_app


def _app(areas_dir: str | None):
    return create_app({"AREAS_DIR": areas_dir} if areas_dir else None)


AREAS_DIR_OPTION = click.option(
    "--areas-dir", help="Where added areas live (default: GEOAPP_AREAS_DIR, else <instance>/areas)."
)


@click.group("areas")
def areas() -> None:
    """Areas served beside the default one: each is served under /a/<name>/."""


@areas.command("add")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--name", help="URL name (default: [area] name in its area.toml, in lower case).")
@click.option("--build", "build_now", is_flag=True, help="Also build its layers now (else run geoapp build on it).")
@AREAS_DIR_OPTION
def add(source: Path, name: str | None, build_now: bool, areas_dir: str | None) -> None:
    """Add an area from its folder (with an area.toml) or a zip of one; print its URL name."""
    from ..area import add_area, get_area

    app = _app(areas_dir)
    with app.app_context():
        added = add_area(source, name)
        area = get_area(added)
    if build_now:
        from layers.build import build_area

        build_area(area, area.default_build_path)
    click.echo(added)


@areas.command("list")
@AREAS_DIR_OPTION
def list_areas(areas_dir: str | None) -> None:
    """One line per area: URL name, built or not, title, folder."""
    from layers.errors import GeoappError

    from ..area import area_names, build_path_of, get_area

    app = _app(areas_dir)
    with app.app_context():
        for name in area_names():
            try:
                area = get_area(name)
            except GeoappError as exc:  # one broken folder does not hide the other areas
                click.echo(f"warning: area '{name}' cannot be loaded: {exc}", err=True)
                continue
            built = "built" if build_path_of(name).exists() else "not built"
            click.echo(f"{name}\t{built}\t{area.title}\t{area.root}")


COMMANDS = [areas]
