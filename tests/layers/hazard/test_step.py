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
