"""The README's country-scale performance table, written from the benchmarks' recorded results.

``benchmarks/bench_scale.py`` and ``benchmarks/bench_evacuation.py --whole`` record what they measured in
``benchmarks/results/*.json``; this script renders those figures as the table between
``<!-- scale-figures -->`` and ``<!-- /scale-figures -->`` in README.md (``--check``: compare only, exit 1
when stale). ``tests/test_readme_performance.py`` keeps the README equal to the recorded results.

    python scripts/readme_performance.py [--check]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
START, END = "<!-- scale-figures -->", "<!-- /scale-figures -->"
_SECTION = re.compile(re.escape(START) + r"\n(.*?)\n?" + re.escape(END), flags=re.S)


def _mb(x: float) -> str:
    return f"{x / 1024:.1f} GB" if x >= 1024 else f"{x:,.0f} MB"


def _run(m: dict) -> str:
    return f"{m['wall_s']:,.1f} s ({m['cpu_s']:,.1f} s CPU), {_mb(m['peak_mb'])}"


def figures_markdown(results: Path = RESULTS) -> str:
    """The generated README section from the recorded results."""
    lines = [
        (
            "Written by `scripts/readme_performance.py` from `benchmarks/results/*.json` (what the benchmarks "
            "recorded); `tests/test_readme_performance.py` fails when they disagree. Wall time (CPU time), and peak "
            "memory as the kernel counts it (`ru_maxrss` of the command's process). Each row is one run on this "
            "shared 2-core machine; the load average (1 min) during it is given, so the wall times are pessimistic."
        ),
        "",
        "| job | size | ours | peer, same run | target | load |",
        "|---|---|---|---|---|---|",
    ]
    evac = results / "evacuation_whole.json"
    if evac.exists():
        e = json.loads(evac.read_text(encoding="utf-8"))
        ratio = e["networkx"]["wall_s"] / e["ours"]["wall_s"]
        cpu_ratio = e["networkx"]["cpu_s"] / e["ours"]["cpu_s"]
        lines.append(
            f"| `geoapp evacuate` whole job (`bench_evacuation.py --whole`) | {e['buildings']:,} buildings, "
            f"{e['shelters']} shelters | {_run(e['ours'])} | networkx pipeline {_run(e['networkx'])}: ours "
            f"{ratio:.2f}× its speed by wall time, {cpu_ratio:.2f}× by CPU time | ≥ 1.5× "
            f"| {e['load_after'].split('/')[0]} |"
        )
        if "io_floor" in e:  # benchmarks/evacuation_io_floor.py: what input and output alone take
            f = e["io_floor"]
            lines.append(
                f"| its input and output alone (`evacuation_io_floor.py`) | same files and layers | import "
                f"{f['import_s']:.2f} s, read {f['read_s']:.2f} s, write {f['write_s']:.2f} s: {f['total_s']:.2f} s "
                f"| the 1.5× budget is {e['networkx']['wall_s'] / 1.5:.2f} s | – | – |"
            )
        for other in e.get("other_sides", {}).values():  # bench_evacuation.py --whole --side N --no-peer
            t = other.get("target", {})
            aimed = t and other["buildings"] >= 0.99 * t["buildings"]  # the target is for its own size only
            goal = f"< {t['wall_s'] / 60:.0f} min, < {t['peak_mb'] / 1024:.0f} GB" if aimed else "–"
            done = "" if other.get("finished", True) else ", stopped"
            lines.append(
                f"| `geoapp evacuate` whole job, ours alone | {other['buildings']:,} buildings, "
                f"{other['side']:,}² street nodes | {_run(other['ours'])}{done} | – | {goal} "
                f"| {other['load_after'].split('/')[0]} |"
            )
    scale = results / "scale.json"
    if scale.exists():
        for _, r in sorted(json.loads(scale.read_text(encoding="utf-8")).items(), key=lambda kv: int(kv[0])):
            n, size = r["buildings"], r["raster"]
            load = r["load_after"].split("/")[0]
            big = n >= 5_000_000
            target = "< 5 min, < 4 GB" if big else ("< 20 s" if n == 1_000_000 else "–")
            peer = f"in memory {_run(r['exposure_in_memory'])}" if "exposure_in_memory" in r else "not run"
            what = f"{n:,} buildings, {size:,}² raster, chunks of {r['chunk_rows']:,}"
            lines.append(
                f"| exposure (`bench_scale.py`) | {what} | {_run(r['exposure'])} | {peer} | {target} | {load} |"
            )
            if "precarity" in r:
                peer = f"in memory {_run(r['precarity_in_memory'])}" if "precarity_in_memory" in r else "–"
                target = "< 4 GB" if big else ("< 30 s" if n == 1_000_000 else "–")
                lines.append(
                    f"| precarity (`bench_scale.py`) | {what} | {_run(r['precarity'])} | {peer} | {target} | {load} |"
                )
            if "dask" in r:
                one, two = r["dask"]["1"], r["dask"]["2"]
                lines.append(
                    f"| exposure on Dask (`--scheduler`) | {n:,} buildings | 2 workers {two:,.1f} s | 1 worker "
                    f"{one:,.1f} s: {one / two:.2f}× | – | {load} |"
                )
    return "\n".join(lines)


def readme_section(text: str) -> str:
    m = _SECTION.search(text)
    if not m:
        raise SystemExit(f"README.md has no {START} ... {END} section")
    return m.group(1).strip("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when the README is stale")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    new = figures_markdown()
    if args.check:
        sys.exit(0 if readme_section(text) == new else 1)
    README.write_text(_SECTION.sub(lambda _: f"{START}\n{new}\n{END}", text, count=1), encoding="utf-8")
    sys.stdout.write("README.md scale figures updated\n")


if __name__ == "__main__":
    main()
