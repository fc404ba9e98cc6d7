"""The README's hazard-kind tables equal what geoapp computes now (scripts/hazard_kinds_figures.py)."""

from __future__ import annotations

import importlib.util

from tests.helpers import ROOT


def test_readme_kind_tables_are_current():
    spec = importlib.util.spec_from_file_location("hazard_kinds_figures", ROOT / "scripts" / "hazard_kinds_figures.py")
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.readme_section(readme) == script.kinds_markdown()
    assert "## Hazard kinds" in readme
    assert "**Adding a kind**" in readme
