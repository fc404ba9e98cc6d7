"""The README's figures for the embedded sample, computed from its build (``make readme-figures``).

The README quotes the Jakarta sample's headline figures in one generated
section between ``<!-- figures -->`` and ``<!-- /figures -->``. This script
reads them from a build of ``data/jakarta`` through the dashboard's own
functions (so the README, the dashboard and the build agree) and rewrites that
section; ``--check`` only compares and exits 1 when the README is stale. The
test ``tests/test_readme.py`` runs the same comparison on the test run's build.

    python scripts/readme_figures.py [--build FILE.gpkg] [--check]
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SAMPLE = ROOT / "data" / "jakarta"
START, END = "<!-- figures -->", "<!-- /figures -->"
_SECTION = re.compile(re.escape(START) + r"\n(.*?)\n?" + re.escape(END), flags=re.S)


def _n(value: float) -> str:
    return f"{round(value):,}"


def _millions(value: float) -> str:
    return f"{value / 1e6:.2f} M"


def figures_markdown(area_dir: Path, built: Path) -> str:
    """The generated README section for the area in ``area_dir`` built into ``built``."""
    from layers.area import load_area
    from layers.publish.dashboard import BuiltLayers, dashboard

    area = load_area(area_dir)
    layers = BuiltLayers(built)
    board = dashboard(area, layers)
    lines = [
        (
            f"Computed from `geoapp build {area_dir.relative_to(ROOT)}` by `scripts/readme_figures.py` "
            "(`make readme-figures`); `tests/test_readme.py` fails when this table and the build disagree. "
            "The dashboard shows the same figures."
        ),
        "",
        (
            "| scenario | people affected | displaced | buildings affected | roads affected | facilities affected "
            "| safe shelters (used) | buildings that reach a safe shelter | cannot | median walk (starting dry) |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    total_km = _total_road_km(layers)
    for fig in board["scenarios"]:
        sid = fig["scenario"]
        pop, bld, fac = fig.get("population", {}), fig.get("buildings", {}), fig.get("facilities", {})
        roads = fig.get("roads", {})
        evac = layers.get("evacuation_buildings", sid)
        shelters = layers.get("shelters", sid)
        cells = [
            f"{fig['title']} (`{sid}`)",
            f"{_millions(pop.get('affected', 0.0))} of {_millions(pop.get('total', 0.0))}",
            _n(pop.get("displaced", 0.0)),
            f"{_n(bld.get('affected', 0))} of {_n(bld.get('total', 0))}",
            f"{_n(roads.get('affected_km', 0.0))} of {_n(total_km)} km",
            f"{_n(fac.get('affected', 0))} of {_n(fac.get('total', 0))}",
        ]
        if evac is not None and shelters is not None:
            reach = evac["reachable"].astype(bool)
            dry = reach & ~evac["start_flooded"].astype(bool) if "start_flooded" in evac.columns else reach
            safe = shelters["safe"].astype(bool)
            used = safe & (shelters["assigned"] > 0) if "assigned" in shelters.columns else safe
            median_min = float(np.median(evac.loc[dry, "time_s"])) / 60 if dry.any() else float("nan")
            cells += [
                f"{_n(safe.sum())} ({_n(used.sum())})",
                f"{_n(reach.sum())} of {_n(len(evac))}",
                _n((~reach).sum()),
                f"{median_min:.1f} min",
            ]
        else:
            cells += ["–"] * 4
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _total_road_km(layers) -> float:
    """Length of the area's road lines (metric working CRS), the denominator of roads affected."""
    if "roads" not in layers.names:
        return 0.0
    import pyogrio

    gdf = pyogrio.read_dataframe(layers.path, layer="roads", columns=[])
    return float(gdf.geometry.length.sum()) / 1000


def readme_section(text: str) -> str:
    """The generated part of README text (between the markers)."""
    match = _SECTION.search(text)
    if not match:
        raise SystemExit(f"error: README.md has no {START} ... {END} section")
    return match.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, help="a build of data/jakarta (default: build it into its build/ folder)")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the README is stale")
    args = parser.parse_args(argv)
    built = args.build
    if built is None:
        from layers.area import load_area
        from layers.build import build_area

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            built = build_area(load_area(SAMPLE), progress=sys.stderr.isatty())
    fresh = figures_markdown(SAMPLE, built)
    text = README.read_text(encoding="utf-8")
    if readme_section(text) == fresh:
        return 0
    if args.check:
        sys.stderr.write("README.md figures differ from the build: run `make readme-figures`\n")
        return 1
    README.write_text(_SECTION.sub(lambda _: f"{START}\n{fresh}\n{END}", text, count=1), encoding="utf-8")
    sys.stderr.write("README.md figures updated\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
