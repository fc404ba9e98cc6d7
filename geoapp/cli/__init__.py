"""The `geoapp` command line. Each command lives in its own module.

Users see plain lines, never Python internals: each warning is one
``warning: <message>`` line on stderr, and any error the core raises on
purpose, or an input file that cannot be read, is one ``error: <message>``
line on stderr with exit status 1, never a traceback.
"""

from __future__ import annotations

import warnings

import click
import pyogrio.errors
import rasterio.errors

from layers.errors import GeoappError

# Errors that mean "this input is wrong", not "geoapp is broken": shown as one line.
USER_ERRORS: tuple[type[BaseException], ...] = (
    GeoappError,
    OSError,  # missing or unreadable files (rasterio's RasterioIOError is one too)
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    rasterio.errors.RasterioError,
)


class CoreError(click.ClickException):
    """One ``error: ...`` line on stderr, exit status 1."""

    def show(self, file=None) -> None:
        _close_progress_bars()
        click.echo(f"error: {self.format_message()}", err=True)


def _close_progress_bars() -> None:
    """End the bars a failed step left open (not closed in a ``with``): the error then starts its own line."""
    from tqdm import tqdm

    for bar in list(tqdm._instances):
        bar.close()


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"warning: {message}", err=True)


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


# Each command's module, imported when the command is looked up: ``geoapp evacuate`` then loads the
# evacuation code only, not Flask, the server and every other command (import time counts on the CLI).
COMMAND_MODULES = {
    "build": "build",
    "serve": "serve",
    "demo": "serve",
    "worker": "worker",
    "areas": "areas",
    "reports": "reports",
    "feeds": "feeds",
    "users": "users",
    "db": "users",
    "evacuate": "evacuate",
    "export": "export",
    "exposure": "exposure",
    "precarity": "precarity",
    "report": "report",
}


class CoreGroup(click.Group):
    """Runs a command with warnings as plain lines and core errors as one ``error:`` line."""

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands and cmd_name in COMMAND_MODULES:
            self._load(COMMAND_MODULES[cmd_name])
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        for module in dict.fromkeys(COMMAND_MODULES.values()):
            self._load(module)
        return super().list_commands(ctx)

    def _load(self, module: str) -> None:
        from importlib import import_module

        for command in import_module(f"{__name__}.{module}").COMMANDS:
            self.add_command(command)

    def invoke(self, ctx):
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            # a library's notice to itself (rasterio's use of affine), nothing a user can act on
            warnings.filterwarnings("ignore", "Use `@` matmul", PendingDeprecationWarning)
            warnings.showwarning = _warning_line
            try:
                return super().invoke(ctx)
            except (click.UsageError, CoreError):
                raise  # usage errors keep click's usage hint (exit 2)
            except click.ClickException as exc:
                raise CoreError(_one_line(exc.format_message())) from exc
            except USER_ERRORS as exc:
                raise CoreError(_one_line(str(exc)) or type(exc).__name__) from exc


@click.group(cls=CoreGroup)
@click.version_option(package_name="geoapp")
def main() -> None:
    """Community flood-risk mapping: exposure, evacuation, precarity, field reports, exports."""
