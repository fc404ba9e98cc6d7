"""The CLI imports a command's module only when that command is looked up (geoapp.cli.COMMAND_MODULES)."""

from __future__ import annotations

import importlib

import click

from geoapp.cli import COMMAND_MODULES, main


def test_every_command_of_every_module_is_listed_under_its_module():
    for module in set(COMMAND_MODULES.values()):
        names = {c.name for c in importlib.import_module(f"geoapp.cli.{module}").COMMANDS}
        assert names == {name for name, m in COMMAND_MODULES.items() if m == module}


def test_commands_are_listed_and_found_by_name():
    ctx = click.Context(main)
    assert main.list_commands(ctx) == sorted(COMMAND_MODULES)
    assert main.get_command(ctx, "evacuate").name == "evacuate"
    assert main.get_command(ctx, "db").name == "db"
    assert main.get_command(ctx, "no-such-command") is None


def test_running_one_command_loads_neither_flask_nor_the_other_commands():
    import subprocess
    import sys

    code = (
        "import sys, click\n"
        "from geoapp.cli import main\n"
        "main.get_command(click.Context(main), 'evacuate')\n"
        "print(sorted(m for m in sys.modules if m == 'flask' or m.startswith('geoapp.cli.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['geoapp.cli.evacuate']"
