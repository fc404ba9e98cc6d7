"""Earthquake: shaking intensity (MMI), people per MMI level, fatalities (ITB, PAGER), displaced, damage.

Classes: InaSAFE's ``earthquake_mmi_scale`` (``safe/definitions/hazard_classifications.py``,
inasafe/inasafe develop ``677c0421``): MMI II–X, each ``(n - 0.5, n + 0.5]``; MMI I (not
felt, not affected) is left out and X is open above. Displacement rate 0 for II–V, 1.0 for VI–X.

Fatality rates (``safe/definitions/earthquake.py``), for integer MMI 2–10, 0 below MMI 4:

* **ITB** (``itb_fatality_rates``, Institut Teknologi Bandung power model):
  ``rate = 10 ** (x * MMI - y)`` with ``x = 0.62275231``, ``y = 8.03314466``.
* **PAGER** (``pager_fatality_rates``, USGS PAGER empirical model v2.0, Jaiswal, Wald & Hearne 2009,
  USGS Open-File Report 2009-1136): ``rate = Φ(ln(MMI / θ) / β)``, the log-normal CDF with
  ``θ = 13.249``, ``β = 0.151`` (InaSAFE's constants; the brief's θ = 11.613, β = 0.180 are not
  what InaSAFE uses).
* **ITB Bayesian** (``itb_bayesian_fatality_rates``, Sengara et al.; InaSAFE's default model):
  the medians InaSAFE ships, VI 3.41733122522e-05 … X 0.0314512157378.

``fatalities = population * fatality_ratio`` and ``displaced = (population - fatalities) *
displacement_ratio`` per class (v4 ``population_post_processors.py``), with geoapp's default model ITB.

Buildings: a damage class from the highest MMI on the footprint, InaSAFE 3.5's
``earthquake_building`` thresholds (low 6 ≤ MMI < 7, medium 7 ≤ MMI < 8, high MMI ≥ 8), shifted
by one MMI where a structure type is known, after EMS-98's vulnerability classes: adobe, earth,
mud, rubble or stone (class A) are damaged one level of shaking earlier; reinforced concrete,
steel and timber (classes D–E) one level later; brick, masonry and unknown types as given.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from layers.hazard.kinds import ROMAN, Kind

ITB_X = 0.62275231
ITB_Y = 8.03314466
PAGER_THETA = 13.249
PAGER_BETA = 0.151
ITB_BAYESIAN = {6: 3.41733122522e-05, 7: 0.000387804494226, 8: 0.001851451786, 9: 0.00787294191661, 10: 0.0314512157378}


def itb_rate(mmi: int) -> float:
    """ITB: ``10 ** (0.62275231 * MMI - 8.03314466)``; 0 below MMI 4 (InaSAFE ``itb_fatality_rates``)."""
    return 0.0 if mmi < 4 else 10 ** (ITB_X * mmi - ITB_Y)


def pager_rate(mmi: int) -> float:
    """PAGER: log-normal CDF at MMI, median θ = 13.249, σ β = 0.151; 0 below MMI 4 (``pager_fatality_rates``)."""
    if mmi < 4:
        return 0.0
    # erfc rather than 1 + erf: the same CDF without cancellation in the far tail (MMI 4: 1.08e-15).
    return 0.5 * math.erfc(-math.log(mmi / PAGER_THETA) / (PAGER_BETA * math.sqrt(2.0)))


def itb_bayesian_rate(mmi: int) -> float:
    """ITB Bayesian: InaSAFE's median rates (``itb_bayesian_fatality_rates``); 0 below MMI 6."""
    return ITB_BAYESIAN.get(mmi, 0.0)


DAMAGE_CLASSES = ("low", "medium", "high")
DAMAGE_FROM_MMI = (6.0, 7.0, 8.0)  # InaSAFE 3.5 earthquake_building: low, medium, high thresholds
VULNERABLE = ("adobe", "earth", "mud", "rubble", "stone", "unreinforced")
RESISTANT = ("reinforced", "concrete", "steel", "timber", "wood")


def structure_shift(structure) -> np.ndarray:
    """MMI added to the shaking a building feels for its damage class: +1 vulnerable, -1 resistant, 0 else."""
    s = pd.Series(structure, dtype="string").str.lower().fillna("")
    # "unreinforced" is checked first: it contains "reinforced".
    vulnerable = s.str.contains("|".join(VULNERABLE), regex=True)
    resistant = s.str.contains("|".join(RESISTANT), regex=True) & ~vulnerable
    return np.where(vulnerable, 1.0, np.where(resistant, -1.0, 0.0))


def building_damage(mmi_max: np.ndarray, structure: np.ndarray | None) -> np.ndarray:
    """Damage class (low/medium/high, NA below MMI 6) per building from its highest MMI and structure type."""
    mmi = np.asarray(mmi_max, np.float64)
    if structure is not None:
        mmi = mmi + structure_shift(structure)
    idx = np.searchsorted(np.asarray(DAMAGE_FROM_MMI), mmi, side="right") - 1  # lower bound inclusive
    idx = np.where(np.isnan(mmi), -1, idx)
    lookup = np.array([*DAMAGE_CLASSES, None], dtype=object)
    return pd.array(lookup[np.where(idx >= 0, idx, len(DAMAGE_CLASSES))], dtype="string")


def _mmi_spec() -> str:
    parts = [f"{r}:{i + 0.5:g}-{i + 1.5:g}" for i, r in enumerate(ROMAN) if r != "I"]
    parts[-1] = "X:9.5-"  # open above: a shakemap never stops at 10.5
    return ",".join(parts)


KIND = Kind(
    key="earthquake",
    units="mmi",
    classes=_mmi_spec(),
    text_classes=("III:weak,IV:light,V:moderate,VI:strong,VII:very strong,VIII:severe,IX:violent,X:extreme"),
    displacement={r: (1.0 if i + 1 >= 6 else 0.0) for i, r in enumerate(ROMAN) if r != "I"},
    measure="intensity",
    value_column="mmi_max",
    point_column="mmi",
    evacuation="open_space",
    fatality_models={"itb": itb_rate, "pager": pager_rate, "itb_bayesian": itb_bayesian_rate},
    default_fatality_model="itb",
    building_damage=building_damage,
    source="InaSAFE earthquake_mmi_scale; safe/definitions/earthquake.py (ITB, PAGER, ITB Bayesian)",
)
