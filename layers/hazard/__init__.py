"""Hazards and who and what they touch: class specs, hazard sources, population, exposure, needs, scenarios."""
