"""The README's country-scale table equals what the benchmarks recorded (see scripts/readme_performance.py)."""

from __future__ import annotations

import importlib.util

from tests.helpers import ROOT


def test_readme_scale_figures_equal_the_recorded_results():
    spec = importlib.util.spec_from_file_location("readme_performance", ROOT / "scripts" / "readme_performance.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert module.readme_section(readme) == module.figures_markdown()
