"""The app factory: configuration layers, JSON errors, the CLI entry point."""

import json
import subprocess
import sys
import warnings

import click
from click.testing import CliRunner

from geoapp import create_app
from geoapp.cli import CoreGroup, main
from tests.helpers import SAMPLE_AREA


def test_config_from_defaults_env_and_test_config(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOAPP_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("GEOAPP_MAX_PHOTO_BYTES", "1234")
    app = create_app({"TESTING": True, "SECRET_KEY": "k"})
    assert app.config["DATABASE_URL"].endswith("env.db")
    assert app.config["MAX_PHOTO_BYTES"] == 1234  # env values are parsed as JSON where they can be
    assert app.config["AREA"].endswith("data/jakarta")
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://"})
    assert app.config["DATABASE_URL"] == "sqlite://"


def test_unknown_api_path_is_a_json_404():
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://"})
    resp = app.test_client().get("/api/no-such-thing")
    assert resp.status_code == 404
    body = json.loads(resp.data)
    assert body["error"]["code"] == "not_found"
    assert body["error"]["message"]


def test_cli_lists_the_contract_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("build", "serve", "demo"):
        assert command in result.output


def test_cli_reports_core_errors_without_traceback(tmp_path):
    (tmp_path / "area.toml").write_text("[area]\nname='x'\n[layers]\nbuildings='missing.gpkg'\n")
    result = CliRunner().invoke(main, ["build", str(tmp_path)])
    assert result.exit_code == 1
    assert "error: file 'missing.gpkg' does not exist" in result.output
    assert "key 'layers.buildings'" in result.output
    assert "Traceback" not in result.output


def test_map_warm_up_builds_the_default_layer_indexes(tmp_path, built_area):
    from geoapp.views.tiles import map_data, warm

    app = create_app({"TESTING": True, "SECRET_KEY": "k", "DATABASE_URL": "sqlite://", "BUILD": str(built_area)})
    warm(app).join(timeout=120)
    with app.app_context():
        data = map_data()
        on = {row["name"] for row in data.describe() if row["default_on"]}
        assert on
        assert {name for name, _ in data._indexes} >= on


def _demo_cli() -> click.Group:
    """A group like ``geoapp``'s with one command that warns, then reads a raster as a vector layer."""

    @click.group(cls=CoreGroup)
    def cli() -> None:
        pass

    @cli.command("read")
    @click.argument("path")
    def read(path: str) -> None:
        import pyogrio

        warnings.warn("the layer has 0 features", UserWarning, stacklevel=1)
        pyogrio.read_dataframe(path)

    return cli


def test_cli_warnings_and_errors_are_one_plain_line_each():
    raster = str(SAMPLE_AREA / "population.tif")
    result = CliRunner().invoke(_demo_cli(), ["read", raster])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1
    assert lines[0] == "warning: the layer has 0 features"
    assert len(lines) == 2
    assert lines[1].startswith("error: ")
    assert "population.tif" in lines[1]
    assert "Traceback" not in result.output
    assert ".py:" not in result.output
    # a missing input file is an OSError from the core: one line too
    result = CliRunner().invoke(_demo_cli(), ["read", "/nonexistent/buildings.gpkg"])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 2


def test_a_bad_database_url_is_one_error_line_naming_it(tmp_path):
    """A typo in --db (or GEOAPP_DATABASE_URL) reads as one, for every database command; passwords stay hidden."""
    cases = {
        "nope://x": "error: database URL nope://x is not usable (Can't load plugin: sqlalchemy.dialects:nope)",
        f"sqlite:///{tmp_path}": f"error: cannot open the database sqlite:///{tmp_path}: unable to open database file",
        "postgresql+psycopg2://ana:s3cret@127.0.0.1:1/x": "error: cannot open the database "
        "postgresql+psycopg2://ana:***@127.0.0.1:1/x: connection to server",
    }
    commands = [["users", "create", "ana"], ["users", "list"], ["reports", "import", str(SAMPLE_AREA / "area.toml")]]
    for url, start in cases.items():
        for args in commands:
            result = CliRunner().invoke(main, [*args, "--db", url])
            assert result.exit_code == 1, result.output
            assert result.stderr.startswith(start), result.stderr
            assert len(result.stderr.splitlines()) == 1
            assert "s3cret" not in result.stderr


def test_a_progress_bar_left_open_by_a_failed_step_ends_before_the_error_line():
    """A step that fails between two bar updates leaves its bar open: the error still starts its own line."""
    from tqdm import tqdm

    @click.group(cls=CoreGroup)
    def cli() -> None:
        pass

    @cli.command("step")
    def step() -> None:
        bar = tqdm(total=4, desc="step", file=sys.stderr)
        bar.update()
        raise OSError("roads.gpkg: no road line")

    result = CliRunner().invoke(cli, ["step"])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == "error: roads.gpkg: no road line"
    assert lines[-2].endswith("]")  # the bar's own last line, ended before the error
    assert not list(tqdm._instances)


def test_cli_errors_in_a_real_process_are_one_line_on_stderr(tmp_path):
    """The installed entry point, in a subprocess: a raster given as the buildings layer of an area."""
    (tmp_path / "area.toml").write_text(
        f"[area]\nname='x'\ncrs='EPSG:32748'\n[layers]\nbuildings='{SAMPLE_AREA / 'population.tif'}'\n"
    )
    code = "from geoapp.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code, "build", str(tmp_path), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr
    others = [line for line in done.stderr.splitlines() if not line.startswith(("error: ", "warning: "))]
    assert others == [], done.stderr
