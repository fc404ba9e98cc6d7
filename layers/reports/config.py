"""The ``[reports]`` section of an area: report categories, their labels and privacy grid, outside-area rule.

```toml
[reports]
outside_area = "flag"          # or "reject": reports outside the area's boundaries
blur_m = 100                   # grid for categories that do not set their own; or a table {category = m}

[reports.categories.flooding_observed]
label = "Flooding observed"
blur_m = 25
public_attributes = ["depth_m"]
```

When ``categories`` is given (a list of names, or a table of name = label or
name = {label, blur_m, geometry, public_attributes}) it is the full list; a known
category name takes the defaults below for the keys it leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from layers.errors import AreaConfigError

SOURCES = ("web", "api", "import", "odk", "kobo", "sms", "whatsapp", "ussd")  # the last three: geoapp.messaging
STATUSES = ("pending", "published", "rejected")
HOUSEHOLD_BLUR_M = 100.0


@dataclass(frozen=True)
class Category:
    """One report category: its label, public location precision and geometry type."""

    name: str
    label: str
    blur_m: float = HOUSEHOLD_BLUR_M
    geometry: str = "point"  # "point" | "polygon"
    public_attributes: tuple[str, ...] = ()


DEFAULT_CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category("flooding_observed", "Flooding observed", 25.0, public_attributes=("depth_m",)),
        Category("blocked_drain", "Blocked drain", 0.0),
        Category("damaged_building", "Damaged building", HOUSEHOLD_BLUR_M),
        Category("evacuation_obstacle", "Evacuation obstacle", 0.0),
        Category("road_closed", "Road closed", 0.0),  # closes the road edges near it (layers.evacuation.closures)
        Category("shelter_site", "Shelter site", 0.0, public_attributes=("capacity", "name")),
        Category("need_water", "Need: water", HOUSEHOLD_BLUR_M),
        Category("need_food", "Need: food", HOUSEHOLD_BLUR_M),
        Category("need_medical", "Need: medical help", HOUSEHOLD_BLUR_M),
        Category("community_boundary", "Community boundary", 0.0, geometry="polygon", public_attributes=("name",)),
    )
}

_SECTION_KEYS = {"categories", "outside_area", "blur_m"}
_CATEGORY_KEYS = {"label", "blur_m", "geometry", "public_attributes"}


@dataclass(frozen=True)
class ReportConfig:
    """Validated ``[reports]`` settings."""

    categories: dict[str, Category] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    outside_area: str = "flag"

    @property
    def names(self) -> list[str]:
        return list(self.categories)

    def blur_m(self, category: str) -> float:
        cat = self.categories.get(category)
        return cat.blur_m if cat else HOUSEHOLD_BLUR_M

    @classmethod
    def from_section(cls, section: dict | None, *, path: str | None = None) -> ReportConfig:
        """Build from the raw ``[reports]`` table (None gives the defaults)."""
        section = dict(section or {})
        unknown = set(section) - _SECTION_KEYS
        if unknown:
            raise AreaConfigError(
                f"unknown key(s) {sorted(unknown)} in [reports]; expected {sorted(_SECTION_KEYS)}",
                key=f"reports.{sorted(unknown)[0]}",
                path=path,
            )
        outside = section.get("outside_area", "flag")
        if outside not in ("flag", "reject"):
            raise AreaConfigError(
                f"outside_area must be 'flag' or 'reject', not {outside!r}", key="reports.outside_area", path=path
            )
        blur = section.get("blur_m", {})
        per_cat = dict(blur) if isinstance(blur, dict) else {}
        default_blur = HOUSEHOLD_BLUR_M if isinstance(blur, dict) else _number(blur, "reports.blur_m", path)
        raw = section.get("categories")
        if raw is None:
            raw = {name: {} for name in DEFAULT_CATEGORIES}
        if isinstance(raw, list):
            raw = {str(name): {} for name in raw}
        if not isinstance(raw, dict) or not raw:
            raise AreaConfigError("categories must be a table of category names", key="reports.categories", path=path)
        cats: dict[str, Category] = {}
        for name, spec in raw.items():
            key = f"reports.categories.{name}"
            if not name.replace("_", "").isalnum() or name != name.lower():
                raise AreaConfigError("category names are lower_snake_case", key=key, path=path)
            spec = {"label": spec} if isinstance(spec, str) else dict(spec or {})
            bad = set(spec) - _CATEGORY_KEYS
            if bad:
                raise AreaConfigError(
                    f"unknown key(s) {sorted(bad)}; expected {sorted(_CATEGORY_KEYS)}", key=key, path=path
                )
            base = DEFAULT_CATEGORIES.get(name, Category(name, name.replace("_", " ").capitalize(), default_blur))
            if "blur_m" not in spec and name in per_cat:
                spec["blur_m"] = per_cat[name]
            geometry = spec.get("geometry", base.geometry)
            if geometry not in ("point", "polygon"):
                raise AreaConfigError(f"geometry must be 'point' or 'polygon', not {geometry!r}", key=key, path=path)
            cats[name] = replace(
                base,
                label=str(spec.get("label", base.label)),
                blur_m=_number(spec.get("blur_m", base.blur_m), f"{key}.blur_m", path),
                geometry=geometry,
                public_attributes=tuple(spec.get("public_attributes", base.public_attributes)),
            )
        unknown_blur = set(per_cat) - set(cats)
        if unknown_blur:
            raise AreaConfigError(
                f"blur_m names unknown categories {sorted(unknown_blur)}", key="reports.blur_m", path=path
            )
        return cls(cats, outside)


def _number(value, key: str, path: str | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise AreaConfigError(f"expected a number of metres ≥ 0, got {value!r}", key=key, path=path)
    return float(value)
