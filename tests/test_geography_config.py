"""The geography as configured: the shipped border line against its sources, and the checks
that keep sectors, sites, ISR assets and thresholds consistent with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.config.errors import ScenarioError
from sim.config.geography_checks import border_line, sector_lengths
from sim.config.load import load_scenario
from sim.config.raw import RawScenario
from sim.geo import distance_km

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
VALIDATION = sorted((ROOT / "scenarios" / "validation").glob("*.yaml"))


def problems(*overrides: tuple[str, object], base: Path = BASELINE) -> list[str]:
    """The one-line problems of the baseline with typed overrides (empty when valid)."""
    raw = RawScenario.from_file(base)
    for path, value in overrides:
        raw.override(path, value)
    try:
        raw.validate()
    except ScenarioError as error:
        return [str(p) for p in error.problems]
    return []


def test_the_border_line_measures_what_the_sources_say():
    """593 km by great circles against 599–618 km in the sources ([P8], [P18]): the line
    straightens the Tigris stretch and small bends, so it may be shorter, not longer."""
    line = border_line(load_scenario(BASELINE))
    assert line is not None
    assert 585.0 < line.length_km < 599.0
    # the tripoints are the line's ends; Rabia is about 42 km from the Turkish tripoint
    assert distance_km(line.lat[0], line.lon[0], 37.1060, 42.3572) == pytest.approx(0.0)
    assert line.cumulative_km[2] == pytest.approx(41.9, abs=0.1)


def test_sector_lengths_come_from_the_geometry_and_add_up_to_the_border():
    scenario = load_scenario(BASELINE)
    lengths = sector_lengths(scenario)
    assert sum(lengths) == pytest.approx(border_line(scenario).length_km)
    assert lengths[:4] == [55.0, 105.0, 140.0, 100.0]


@pytest.mark.parametrize("path", VALIDATION, ids=lambda p: p.stem)
def test_validation_scenarios_keep_the_plain_model(path):
    scenario = load_scenario(path)
    assert scenario.geography is None
    assert all(sector.length_km for sector in scenario.border.sectors)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            [("border.sectors.sinjar.to_km", 150)],
            "border.sectors.jazira.from_km: a gap of 10 km: 'sinjar' ends at 150 km, "
            "'jazira' starts at 160 km",
        ),
        (
            [("border.sectors.sinjar.to_km", 150)],
            "border.sectors.sinjar.to_km: a gap of 10 km",  # named where it was edited too
        ),
        (
            [("border.sectors.sinjar.to_km", 170)],
            "an overlap of 10 km: 'sinjar' ends at 170 km, 'jazira' starts at 160 km",
        ),
        ([("border.sectors.rabia.from_km", 5)], "the first sector must start at 0 km"),
        ([("border.sectors.al_walid.to_km", 700)], "beyond the border's end: it is 593.2 km"),
        ([("border.sectors.al_walid.to_km", 590)], "the last sector must end at the border's end"),
        ([("border.sectors.jazira.length_km", 140)], "comes from from_km/to_km"),
        ([("border.sectors.sinjar.fortification", 0.5)], "not both"),
        (
            [("border.sectors.sinjar.fortified_km", [{"date": "2025-01-01", "value": 200}])],
            "must be between 0 and the sector's length, 105 km (got 200)",
        ),
        (
            [("border.sectors.al_qaim.crossings.al_qaim.at_km", 420)],
            "420 km is outside the sector (300–400 km)",
        ),
        (
            [
                ("border.sectors.al_walid.to_km", 593.6),  # within the rounding allowed ...
                ("border.sectors.al_walid.crossings.al_walid.at_km", 593.5),  # ... not past it
            ],
            "593.5 km is outside the sector (400–593.217 km)",
        ),
        ([("forces.sites.erbil.lat", None)], "give both lat and lon, or neither"),
        (
            [("border.detection.isr_assets.jordan_orbit.base", "amman")],
            "'amman' is neither a located site nor a geography place",
        ),
        ([("border.detection.coalition_isr", 0.3)], "set it to 0 with isr_assets"),
        ([("forces.phases.phase_2.isr", {"drones": {"count": 0}})], "unknown ISR asset 'drones'"),
        (
            [("threats.modulation.local_presence.role_weights", {"cooks": 0.5})],
            "unknown role 'cooks'",
        ),
        (
            [("geography.border", [{"name": n, "lat": 33, "lon": 40} for n in ("a", "b")])],
            "geography.border: the vertices span 0 km: give distinct places",
        ),
        (
            [("geography.places.al_hol.name", "erbil")],
            "the name 'erbil' is already a site",
        ),
    ],
)
def test_a_geography_mistake_is_named_at_its_key(overrides, expected):
    found = problems(*overrides)
    assert any(expected in p for p in found), found


def test_without_a_geography_each_geographic_option_says_it_needs_one():
    raw = RawScenario.from_file(ROOT / "scenarios" / "validation" / "mmk.yaml")
    sector = raw.to_dict()["border"]["sectors"][0]["name"]
    raw.override(f"border.sectors.{sector}.from_km", 0)
    raw.override("threats.modulation.local_presence", {"enabled": True, "effect": 0.5})
    with pytest.raises(ScenarioError) as caught:
        raw.validate()
    found = [str(p) for p in caught.value.problems]
    assert any("from_km: needs a geography" in p for p in found), found
    assert any("local_presence: needs a geography" in p for p in found), found


def test_relative_thresholds_are_checked_like_absolute_ones():
    rule = "forces.repositioning.emergency_return"
    base = ROOT / "scenarios" / "repositioning.yaml"
    assert problems(base=base) == []  # the shipped rule is relative: 3.5 and 1 times expected
    both = problems((f"{rule}.hold_above", 16.0), base=base)
    assert any("not both" in p for p in both), both
    flapping = problems((f"{rule}.release_below_expected", 3.5), base=base)
    assert any("must be below hold_above_expected (3.5)" in p for p in flapping), flapping
    half = problems((f"{rule}.release_below_expected", None), base=base)
    assert any("release_below_expected: required with hold_above_expected" in p for p in half)


def test_a_relative_threshold_needs_an_expected_count_above_zero():
    base = ROOT / "scenarios" / "repositioning.yaml"
    found = problems(("signals.border_incidents_30d.actors", ["al_qaeda"]), base=base)
    assert found == []  # al-Qaeda has rates in two sectors
    found = problems(
        ("signals.border_incidents_30d.actors", ["al_qaeda"]),
        ("signals.border_incidents_30d.sectors", ["rabia"]),
        base=base,
    )
    assert any("expects no incident at the start" in p for p in found), found


def test_releases_need_a_lift_to_where_personnel_came_from():
    base = ROOT / "scenarios" / "repositioning.yaml"
    found = problems(("forces.lift.convoy.serves", ["al_tanf"]), base=base)
    assert any("no lift asset serves 'ne_syria' (needed by 'emergency_return')" in p for p in found)


def test_a_rule_does_not_return_personnel_from_where_it_returns_them_to():
    base = ROOT / "scenarios" / "repositioning.yaml"
    path = "forces.repositioning.emergency_return.return_from"
    found = problems((path, ["ain_al_asad", "erbil"]), base=base)
    assert any("'ain_al_asad' is where personnel return to" in p for p in found), found


def test_fortified_km_dates_must_increase():
    steps = [{"date": "2026-01-01", "value": 10}, {"date": "2025-01-01", "value": 20}]
    found = problems(("border.sectors.sinjar.fortified_km", steps))
    assert any("dates must increase: 2025-01-01 follows 2026-01-01" in p for p in found), found
