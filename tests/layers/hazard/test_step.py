"""The exposure build step: every scenario's layers, per unit of every boundary set, and the differences."""

from __future__ import annotations


def test_build_writes_exposure_layers(built_area):
    """`geoapp build` writes every exposure layer for both Jakarta scenarios and the scenario difference."""
    import pyogrio

    layers = set(pyogrio.list_layers(built_area)[:, 0])
    assert {
        "exposure_buildings",
        "exposure_roads",
        "exposure_facilities",
        "exposure_areas",
        "exposure_scenario_diff",
    } <= layers
    b = pyogrio.read_dataframe(built_area, layer="exposure_buildings", read_geometry=False)
    assert b.groupby("scenario").size().to_dict() == {"current": 7689, "design": 7689}
    areas = pyogrio.read_dataframe(built_area, layer="exposure_areas", read_geometry=False)
    assert areas.groupby(["boundary", "scenario"]).size().to_dict() == {
        ("kelurahan", "current"): 261,
        ("kelurahan", "design"): 261,
        ("rw", "current"): 2685,
        ("rw", "design"): 2685,
    }
    cur = areas[(areas["boundary"] == "kelurahan") & (areas["scenario"] == "current")]
    affected = int(b[b["scenario"] == "current"]["hazard_class"].notna().sum())
    outside = 7689 - int(cur["buildings_total"].sum())  # footprints beyond every kelurahan
    assert 0 <= outside < 10
    assert affected - outside <= cur["buildings_affected"].sum() <= affected
    diff = pyogrio.read_dataframe(built_area, layer="exposure_scenario_diff", read_geometry=False)
    assert set(diff["scenario_to"]) == {"design"}
    assert (diff["pop_newly_affected"] >= 0).all()


def test_an_area_without_roads_still_gets_its_exposure(built_area, sample_area_dir, tmp_path):
    """The Jakarta sample without roads (and one boundary set): buildings and people as in the full build."""
    import json
    import re

    from layers.area import load_area
    from layers.hazard.step import exposure_step
    from layers.publish.export import read_metadata

    for f in sample_area_dir.iterdir():
        if f.name != "area.toml":
            (tmp_path / f.name).symlink_to(f)
    toml = (sample_area_dir / "area.toml").read_text(encoding="utf-8")
    toml = re.sub(r'(?m)^roads = "roads.gpkg"\n', "", toml)
    toml = re.sub(r'\[\[boundaries\]\]\nid = "rw".*?\n\n', "", toml, flags=re.S)
    assert "roads.gpkg" not in toml
    assert 'id = "rw"' not in toml
    (tmp_path / "area.toml").write_text(toml, encoding="utf-8")
    out = exposure_step(load_area(tmp_path), {})
    assert "exposure_roads" not in out
    assert out["exposure_buildings"].groupby("scenario").size().to_dict() == {"current": 7689, "design": 7689}
    assert set(out["exposure_areas"]["boundary"]) == {"kelurahan"}
    built = read_metadata(built_area)
    for scenario in ("current", "design"):
        summary = json.loads(out["metadata"][f"exposure_summary:{scenario}"])
        full = json.loads(built[f"exposure_summary:{scenario}"])
        assert "roads" not in summary
        assert summary["buildings"] == full["buildings"]
        assert summary["population"] == full["population"]
