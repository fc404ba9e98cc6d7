"""The README's generated figures equal what the build of the sample computes (see scripts/readme_figures.py)."""

from __future__ import annotations

import importlib.util

from tests.helpers import ROOT, SAMPLE_AREA


def _script():
    spec = importlib.util.spec_from_file_location("readme_figures", ROOT / "scripts" / "readme_figures.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_figures_equal_the_build(built_area):
    """Every figure in the README's generated section comes from this build; `make readme-figures` refreshes it."""
    script = _script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.readme_section(readme) == script.figures_markdown(SAMPLE_AREA, built_area)


def test_no_docstring_or_doc_points_outside_the_repository():
    """Docs and docstrings name files of this repository only (no DESIGN.md / STYLE.md beside the checkout)."""
    outside = ("DESIGN" + ".md", "STYLE" + ".md")
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", *ROOT.glob("docs/*.md")]
    for folder in ("layers", "geoapp", "benchmarks", "scripts"):
        files += (ROOT / folder).rglob("*.py")
    offenders = [str(f.relative_to(ROOT)) for f in files if any(s in f.read_text(encoding="utf-8") for s in outside)]
    assert offenders == []
