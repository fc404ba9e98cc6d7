"""Minimum needs of displaced people, per week.

* ``bnpb``: Indonesia's BNPB regulation 7/2008 profile as InaSAFE ships it:
  rice 2.8 kg, drinking water 17.5 l, clean water 67 l, 0.2 family kits
  (one per household of five) and 0.05 toilets (one per 20 people).
* ``sphere``: from the Sphere Handbook (2018) standards: 2,100 kcal a day
  as rice (3,600 kcal/kg: 4.1 kg a week), 3 l of drinking water a day
  (21 l), 15 l of water a day in all (84 l of clean water besides drinking),
  one family kit per five people and one toilet per 20 people.

Quantities are rounded up: a quarter of a toilet is still a toilet.
"""

from __future__ import annotations

import math

from layers.errors import InvalidInputError

NEEDS_KEYS = ("rice_kg", "drinking_water_l", "clean_water_l", "family_kits", "toilets")
PROFILES: dict[str, dict[str, float]] = {
    "bnpb": {"rice_kg": 2.8, "drinking_water_l": 17.5, "clean_water_l": 67.0, "family_kits": 0.2, "toilets": 0.05},
    "sphere": {"rice_kg": 4.1, "drinking_water_l": 21.0, "clean_water_l": 84.0, "family_kits": 0.2, "toilets": 0.05},
}


def check_profile(profile: str | None) -> str:
    """The profile name (lower case), ``none``, or an error listing the profiles."""
    name = (profile or "none").strip().lower()
    if name != "none" and name not in PROFILES:
        raise InvalidInputError(f"needs profile '{profile}' is unknown; use one of {', '.join(PROFILES)} or none")
    return name


def minimum_needs(displaced: float, *, profile: str = "bnpb") -> dict[str, int]:
    """Weekly needs of ``displaced`` people.

    Keys: ``rice_kg``, ``drinking_water_l``, ``clean_water_l``, ``family_kits``, ``toilets``.
    """
    rates = PROFILES[check_profile(profile)]
    # round() first so float noise (0.1 * 3 = 0.30000000000000004) never adds one unit.
    return {k: int(math.ceil(round(displaced * rates[k], 6))) for k in NEEDS_KEYS}
