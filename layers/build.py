"""`geoapp build`: every layer of an area, written to one GeoPackage.

The build is a list of named steps, each living beside its analysis
(``layers/<domain>/step.py``) and each of one shape, :class:`Step`: it takes
the area and the layers built so far and returns new layers by name. Later
steps may use earlier results (precarity reads exposure and evacuation).
Analyses that run per hazard scenario return one layer with a ``scenario``
column holding the scenario id.

A step may also return ``{METADATA_KEY: {key: text}}``: rows for the
GeoPackage's metadata table (e.g. each scenario's exposure summary, so the
dashboard shows exactly the analysis figures).

A step whose input the area lacks raises :class:`~layers.errors.MissingInputError`
(e.g. evacuation without roads). The runner then skips it: every other step is
built, a warning names the skipped step and why, and the metadata row
``skipped_steps`` (JSON ``{step: reason}``, ``{}`` when none) tells the map
and the dashboard what is missing.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import geopandas as gpd
from tqdm.auto import tqdm

from layers.area import Area
from layers.errors import InvalidInputError, MissingInputError, NotFoundError

Layers = dict[str, gpd.GeoDataFrame]
METADATA_KEY = "metadata"
SKIPPED_KEY = "skipped_steps"
UPDATED_PREFIX = "layer_updated:"  # metadata row per layer: when its step last ran (ISO 8601, UTC)
STEP_LAYERS_KEY = "step_layers"  # JSON {step: [layer names]}: what a partial rebuild replaces
OnStep = Callable[[float, str], None]  # (fraction done, step name) before each step and before writing


class Step(Protocol):
    """A build step: ``(area, built) -> layers``; may add ``{METADATA_KEY: {key: text}}`` rows.

    Raises MissingInputError when an input it needs is absent from the area (the step is skipped).
    """

    def __call__(self, area: Area, built: Layers, /) -> Layers: ...


def inputs_step(area: Area, built: Layers) -> Layers:
    """The area's inputs in the common schema and working CRS (roads only when the area has some)."""
    layers: Layers = {"buildings": area.buildings(), "facilities": area.facilities()}
    if area.has_roads:
        layers["roads"] = area.roads()
    for spec in area.boundaries:
        layers[f"boundaries_{spec.id}"] = area.boundary_layer(spec.id)
    from layers.publish.freshness import area_input_dates

    # Each input's own date (read from the data), carried into exports' metadata.
    layers[METADATA_KEY] = {"input_dates": json.dumps(area_input_dates(area))}
    return layers


def _steps() -> list[tuple[str, Step]]:
    # Imported here so a step's heavy dependencies load only when building.
    from layers.evacuation.step import evacuation_step
    from layers.hazard.step import exposure_step
    from layers.precarity.step import precarity_step
    from layers.reports.step import observations_step

    return [
        ("inputs", inputs_step),
        ("exposure", exposure_step),
        ("evacuation", evacuation_step),
        ("precarity", precarity_step),
        ("observations", observations_step),
    ]


STEP_NAMES = ("inputs", "exposure", "evacuation", "precarity", "observations")


def run_steps(
    area: Area, steps: list[tuple[str, Step]], built: Layers, *, progress: bool = True, on_step: OnStep | None = None
) -> dict[str, str]:
    """Run ``steps`` in order, adding their layers to ``built``; returns the metadata rows.

    A step raising MissingInputError is skipped with a warning; ``skipped_steps`` says which and why;
    ``step_layers`` which layers each step made.
    """
    metadata: dict[str, str] = {}
    skipped: dict[str, str] = {}
    made: dict[str, list[str]] = {}
    with tqdm(steps, desc=f"build {area.name}", unit="step", disable=not progress) as bar:
        for i, (name, step) in enumerate(bar):
            bar.set_postfix_str(name)
            if on_step is not None:
                on_step(i / (len(steps) + 1), name)
            try:
                result = dict(step(area, built))
            except MissingInputError as exc:
                skipped[name] = str(exc)
                warnings.warn(f"build {area.name}: skipped the {name} step: {exc}", UserWarning, stacklevel=2)
                continue
            metadata.update(result.pop(METADATA_KEY, {}))
            built.update(result)
            made[name] = list(result)
            # When each layer was last rebuilt (a partial rebuild keeps the other layers' rows): the map says it.
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            metadata.update({f"{UPDATED_PREFIX}{layer}": stamp for layer in result})
    metadata[SKIPPED_KEY] = json.dumps(skipped)
    metadata[STEP_LAYERS_KEY] = json.dumps(made)
    return metadata


def build_area(
    area: Area,
    out: str | Path | None = None,
    *,
    progress: bool = True,
    inputs: Layers | None = None,
    only: Sequence[str] | None = None,
    on_step: OnStep | None = None,
) -> Path:
    """Run every step for ``area`` and write all layers to ``out`` (a .gpkg).

    ``inputs`` are layers made outside the core and seen by every step, e.g.
    ``{"field_reports": geoapp.reports.query.field_reports_layer()}`` (published
    reports from the database, public view).

    ``only`` (step names, e.g. ``["evacuation"]``) reruns just those steps: every other
    layer and metadata row is taken from the current build at ``out``, whose layers
    made by the rerun steps are replaced. ``on_step(fraction, step)`` is called
    before each step and before writing.

    Steps whose inputs the area lacks are skipped (see the module docstring).
    Returns the path written. Layers are written to a new temporary file beside
    ``out`` and swapped in with one atomic rename, so readers see the old build or
    the new one, never a half-written file, and a failed or killed build leaves the
    old one in place.
    """
    from layers.publish.geopackage import read_layers, read_metadata, write_geopackage

    out = Path(out) if out else area.default_build_path
    out.parent.mkdir(parents=True, exist_ok=True)
    steps = _steps()
    built: Layers = {}
    metadata = area.metadata()
    old_skipped: dict[str, str] = {}
    old_made: dict[str, list[str]] = {}
    if only is not None:
        unknown = [name for name in only if name not in STEP_NAMES]
        if unknown or not only:
            raise InvalidInputError(f"unknown build step(s) {unknown or only}; steps are {', '.join(STEP_NAMES)}")
        if not out.exists():
            raise NotFoundError(f"no current build at {out} to rebuild steps {list(only)} of; run a full build first")
        old_meta = read_metadata(out)
        old_skipped = json.loads(old_meta.get(SKIPPED_KEY) or "{}")
        old_made = json.loads(old_meta.get(STEP_LAYERS_KEY) or "{}")
        replaced = {layer for name in only for layer in old_made.get(name, [])}
        built = {k: v for k, v in read_layers(out).items() if k not in replaced}
        kept = {k: v for k, v in old_meta.items() if k not in ("generator", "generator_version", "layers", "date")}
        metadata = kept | metadata  # the area's own rows (title, built_at...) are new
        steps = [(name, step) for name, step in steps if name in only]
    built.update(inputs or {})
    ran = run_steps(area, steps, built, progress=progress, on_step=on_step)
    if only is not None:  # keep what the other steps recorded
        skipped = {k: v for k, v in old_skipped.items() if k not in only} | json.loads(ran[SKIPPED_KEY])
        made = {k: v for k, v in old_made.items() if k not in only} | json.loads(ran[STEP_LAYERS_KEY])
        ran[SKIPPED_KEY], ran[STEP_LAYERS_KEY] = json.dumps(skipped), json.dumps(made)
    metadata.update(ran)
    if on_step is not None:
        on_step(len(steps) / (len(steps) + 1), "write")
    _remove_leftovers(out)
    fd, name = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".tmp.gpkg", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write_geopackage(built, tmp, metadata=metadata)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


LEFTOVER_S = 3600  # a temporary build file untouched this long was left by a killed build (a live one keeps writing)


def _remove_leftovers(out: Path) -> None:
    """Delete the temporary files of builds of ``out`` that were killed mid-write (SIGKILL skips their cleanup)."""
    now = time.time()
    for tmp in out.parent.glob(f".{out.stem}.*.tmp.gpkg*"):  # with GDAL's -journal / -wal companions
        try:
            if now - tmp.stat().st_mtime > LEFTOVER_S:
                tmp.unlink()
        except OSError:  # removed by another build meanwhile
            pass
