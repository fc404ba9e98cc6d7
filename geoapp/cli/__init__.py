"""The `geoapp` command line. Each command lives in its own module."""

from __future__ import annotations

import click

from layers.errors import GeoappError


class _Group(click.Group):
    """Turns core errors into one clear line and exit status 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GeoappError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group)
@click.version_option(package_name="geoapp")
def main() -> None:
    """Community flood-risk mapping: exposure, evacuation, precarity, field reports, exports."""


def _register() -> None:
    from . import build, evacuate, export, exposure, precarity, reports, serve, users

    for module in (build, serve, reports, users, evacuate, export, exposure, precarity):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
