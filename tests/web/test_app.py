"""The app factory: configuration layers, JSON errors, the CLI entry point."""

import json

from click.testing import CliRunner

from geoapp import create_app
from geoapp.cli import main


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
    assert "Error: file 'missing.gpkg' does not exist" in result.output
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
