"""The run's map: written with a geography and not without; each panel's colours follow
the incidents per 100 km of its own period, circle areas proportional to personnel and to
Syrian-side activity, the aspect of the latitude."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import sim
from sim.analysis import figures
from sim.analysis.map import (
    AREA_PER_EVENT,
    AREA_PER_PERSON,
    aspect_for,
    map_figure,
    panels,
    periods,
    sector_rates,
    short_name,
)
from sim.cli import main
from sim.config.geography_checks import sector_lengths
from sim.experiment.results import RunResults

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# A small located world (a test setting, not a claim): a border of four vertices in three
# sectors, two Iraqi sites and one Syrian, a far Jordanian place the map must leave out.
SCENARIO = yaml.safe_load("""
metadata: {name: map_test, description: A test geography.}
clock: {start_date: 2025-01-01, end_date: 2026-01-01}
run: {replications: 3, seed: 5}
geography:
  border:
    - {name: top, lat: 37.0, lon: 42.3}
    - {name: knee, lat: 36.3, lon: 41.3}
    - {name: river, lat: 34.4, lon: 41.0}
    - {name: foot, lat: 33.4, lon: 38.8}
  places:
    - {name: al_hol, label: al-Hol camp, country: syria, lat: 36.38, lon: 41.15}
    - {name: deir_ez_zor, country: syria, lat: 35.33, lon: 40.15}
    - {name: far_base, country: jordan, lat: 31.8, lon: 36.8}
forces:
  roles: [personnel]
  sites:
    - {name: west, label: Western air base (Anbar), country: iraq, lat: 33.8, lon: 42.4,
       personnel: {personnel: 600}}
    - {name: east, country: iraq, lat: 36.2, lon: 44.0, personnel: {personnel: 200}}
    - {name: camp, country: syria, lat: 36.5, lon: 40.8, personnel: {personnel: 300}}
    - {name: home, country: out_of_theatre}
  phases:
    - {name: phase_1, start_date: 2025-03-01, reduce: {west: {}},
       destinations: {east: 0.5, home: 0.5}}
    - {name: phase_2, start_date: 2025-08-01, reduce: {east: {personnel: 100}},
       destinations: {home: 1.0}}
  lift:
    - {name: airlift, capacity_personnel: 100, lifts_per_day: 1,
       transit_days: {distribution: fixed, value: 0.25}, serves: [west, east, home]}
border:
  sectors:
    - {name: north, from_km: 0, to_km: 150, fortification: 0, surveillance: 0, response_units: 1}
    - {name: middle, from_km: 150, to_km: 350, fortification: 0, surveillance: 0,
       response_units: 1}
    - {name: south, from_km: 350, fortification: 0, surveillance: 0, response_units: 1}
  response:
    handling_days: {distribution: exponential, mean: 1.0}
threats:
  actors: [actor]
  incident_types:
    - {name: incident, share: 1.0, severity: {distribution: fixed, value: 1}}
  processes:
    - {name: north_p, sector: north, actor: actor, kind: poisson, rate_per_day: 0.05,
       modulated: false}
    - {name: middle_p, sector: middle, actor: actor, kind: poisson, rate_per_day: 0.2,
       modulated: false}
    - {name: south_p, sector: south, actor: actor, kind: poisson, rate_per_day: 0.1,
       modulated: false}
    - {name: hol_p, place: al_hol, actor: actor, kind: poisson, rate_per_day: 0.1,
       modulated: false}
  modulation:
    local_presence: {enabled: false}
""")


def scenario(**rates: float):
    data = copy.deepcopy(SCENARIO)
    for process in data["threats"]["processes"]:
        where = process.get("sector", process.get("place"))
        process["rate_per_day"] = rates.get(where, process["rate_per_day"])
    return sim.RawScenario.from_mapping(data).validate()


def run(tmp_path_factory, name: str, replications: int, s=None) -> Path:
    out = tmp_path_factory.mktemp(name) / "run"
    s = scenario() if s is None else s
    return sim.run_experiment(s, replications, 3, out=out, executor="serial", progress=False)


@pytest.fixture(scope="module")
def located(tmp_path_factory) -> Path:
    return run(tmp_path_factory, "located", 4)


@pytest.fixture(scope="module")
def drawn(located):
    return map_figure(sim.load_results(located))


def sectors_of(ax):
    (found,) = [c for c in ax.collections if c.get_gid() == "sectors"]
    return found


def sites_of(ax):
    (found,) = [c for c in ax.collections if c.get_gid() == "sites"]
    return found


def activity_of(ax):
    (found,) = [c for c in ax.collections if c.get_gid() == "activity"]
    return found


def by_hand(frame, key: str, names, spans, replications: int, horizon: float) -> np.ndarray:
    """Events a year of each name in each span, counted with pandas."""
    rows = []
    for start, end in spans:
        inside = (frame["day"] >= start) & ((frame["day"] < end) | (end >= horizon))
        counts = frame[inside].groupby(key, observed=True).size()
        rows.append([counts.get(name, 0) / replications / ((end - start) / 365.25)
                     for name in names])  # fmt: skip
    return np.array(rows)


class Without(RunResults):
    """A run whose incidents from day ``start`` to ``end`` never happened."""

    def __init__(self, run_dir, start: float, end: float) -> None:
        super().__init__(run_dir)
        self.span = (start, end)

    def table(self, name: str):
        frame = super().table(name)
        if name != "incidents":
            return frame
        start, end = self.span
        return frame[(frame["day"] < start) | (frame["day"] >= end)].reset_index(drop=True)


def test_the_map_is_written_with_a_geography_and_not_without(located, tmp_path_factory):
    written = figures.run_figures(located)
    assert [p.name for p in written] == ["personnel.png", "incidents.png", "map.png"]
    assert (located / "map.png").read_bytes()[:8] == PNG_MAGIC
    plain = sim.load_scenario(ROOT / "scenarios" / "validation" / "poisson.yaml",
                              ["clock.end_date=2025-02-01"])  # fmt: skip
    bare = run(tmp_path_factory, "bare", 1, plain)
    assert map_figure(sim.load_results(bare)) is None
    assert [p.name for p in figures.run_figures(bare)] == ["personnel.png", "incidents.png"]
    assert not (bare / "map.png").exists()


def test_rates_are_incidents_per_100_km_per_year_by_hand(located):
    results = sim.load_results(located)
    s = results.scenario
    counts = results.incidents.groupby("sector").size()
    years = (s.clock.end_date - s.clock.start_date).days / 365.25
    expected = [
        counts.get(sector.name, 0) / 4 / (length / 100) / years
        for sector, length in zip(s.border.sectors, sector_lengths(s), strict=True)
    ]
    (whole,) = sector_rates(results)
    np.testing.assert_allclose(whole, expected, rtol=1e-12)
    # the model's KPIs say the same, replication by replication
    kpis = [results.kpis[f"incidents_per_100km_year_{x.name}"].mean() for x in s.border.sectors]
    np.testing.assert_allclose(whole, kpis, rtol=1e-12)
    # and period by period: the incidents from each panel's date to the next one's
    spans = periods(panels(results), s.horizon_days)
    names = [x.name for x in s.border.sectors]
    counted = by_hand(results.incidents, "sector", names, spans, 4, s.horizon_days)
    np.testing.assert_allclose(
        sector_rates(results, spans), counted / (np.array(sector_lengths(s)) / 100), rtol=1e-12
    )
    # the periods tile the run: the rates weighted by their spans give the whole run's
    lengths = np.array([end - start for start, end in spans])
    np.testing.assert_allclose(lengths @ sector_rates(results, spans) / lengths.sum(), whole)


def test_each_panel_is_coloured_by_its_own_period(located, drawn):
    results = sim.load_results(located)
    spans = periods(panels(results), results.scenario.horizon_days)
    assert [start for start, _ in spans] == [p.day for p in panels(results)]
    assert spans[-1][1] == results.scenario.horizon_days
    rates = sector_rates(results, spans)
    assert len({tuple(r) for r in rates}) == 3, "the test needs three different periods"
    for ax, expected in zip(drawn.axes[:3], rates, strict=True):
        lines = sectors_of(ax)
        np.testing.assert_allclose(lines.get_array(), expected)
        r, g, b, _ = lines.to_rgba(lines.get_array()).T
        luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
        # a sequential map, light to dark: the higher the rate, the darker the sector
        assert list(np.argsort(expected)) == list(np.argsort(-luminance))
        assert ax.get_title().splitlines()[-1].startswith("incidents and activity ")
    # one scale for every panel, up to the highest rate of any period
    assert sectors_of(drawn.axes[1]).norm.vmax == pytest.approx(rates.max())
    bar = drawn.axes[-1]
    assert "per 100 km per year" in bar.get_ylabel() and "period" in bar.get_ylabel()


def test_a_panel_changes_colour_when_only_its_period_changes(located, drawn):
    results = sim.load_results(located)
    spans = periods(panels(results), results.scenario.horizon_days)
    quieter = map_figure(Without(located, *spans[1]))  # the middle period loses its incidents
    for k in (0, 2):
        np.testing.assert_array_equal(
            sectors_of(quieter.axes[k]).get_array(), sectors_of(drawn.axes[k]).get_array()
        )
    before, after = sectors_of(drawn.axes[1]), sectors_of(quieter.axes[1])
    assert (before.get_array() > 0).all()
    np.testing.assert_array_equal(after.get_array(), 0.0)
    assert not np.allclose(before.to_rgba(before.get_array()), after.to_rgba(after.get_array()))


def test_activity_circles_have_areas_proportional_to_events_a_year(located, drawn):
    results = sim.load_results(located)
    s = results.scenario
    spans = periods(panels(results), s.horizon_days)
    assert len(results.activity) > 0 and set(results.activity["place"]) == {"al_hol"}
    events = by_hand(results.activity, "place", ["al_hol"], spans, 4, s.horizon_days)
    for ax, expected in zip(drawn.axes[:3], events, strict=True):
        circles = activity_of(ax)
        np.testing.assert_allclose(circles.get_sizes() / AREA_PER_EVENT, expected)
        np.testing.assert_allclose(circles.get_offsets(), [[41.15, 36.38]])  # al-Hol
        assert f"al-Hol camp {expected[0]:.0f}/yr" in {t.get_text() for t in ax.texts}
    key = {t.get_text() for t in drawn.legends[0].get_texts()}
    assert "activity in Syria, 10 events a year" in key and "100 events a year" in key


def test_circle_areas_are_proportional_to_mean_personnel(located, drawn):
    results = sim.load_results(located)
    shown = panels(results)
    assert [p.title for p in shown] == ["start", "after phase 1", "after phase 2"]
    complete = results.phases.groupby("phase")["complete_day"].mean()
    assert [p.day for p in shown] == [0.0, complete["phase_1"], complete["phase_2"]]
    # read just after the last arrival of a phase: nobody is still in transit
    assert [p.read_day - p.day for p in shown] == [0.0, pytest.approx(1e-6), pytest.approx(1e-6)]
    at = sim.forces_at(results.forces, [p.read_day for p in shown])
    mean = at.groupby(["day", "site", "replication"])["personnel"].sum().groupby(["day", "site"])
    mean = mean.mean()
    located_sites = ["west", "east", "camp"]  # in the scenario's order; home has no place
    for ax, panel in zip(drawn.axes[:3], shown, strict=True):
        expected = [mean.get((panel.read_day, site), 0.0) for site in located_sites]
        np.testing.assert_allclose(sites_of(ax).get_sizes() / AREA_PER_PERSON, expected)
    # by hand: 600 in the west at the start; phase 1 sends half of them east (200 + 300);
    # phase 2 keeps 100 there
    np.testing.assert_allclose(
        sites_of(drawn.axes[0]).get_sizes(), np.multiply([600, 200, 300], AREA_PER_PERSON)
    )
    np.testing.assert_allclose(
        sites_of(drawn.axes[1]).get_sizes(), np.multiply([0, 500, 300], AREA_PER_PERSON)
    )
    np.testing.assert_allclose(
        sites_of(drawn.axes[2]).get_sizes(), np.multiply([0, 100, 300], AREA_PER_PERSON)
    )
    assert "in transit" not in drawn.axes[2].get_title()


def test_axes_in_degrees_with_the_aspect_of_the_middle_latitude(drawn):
    panels_ = drawn.axes[:3]
    for ax in panels_:
        low, high = ax.get_ylim()
        assert ax.get_aspect() == pytest.approx(1 / math.cos(math.radians((low + high) / 2)))
        assert "longitude" in ax.get_xlabel()
        x0, x1 = ax.get_xlim()
        assert x0 < 38.8 and x1 > 44.0 and low < 33.4 and high > 37.0
        assert low > 32.0, "the Jordanian place is not a Syrian point of interest"
        # the panel's box on the page keeps that aspect: a degree north is 1/cos(lat) east
        box = ax.get_position().transformed(drawn.transFigure)
        ratio = box.height / box.width
        assert ratio == pytest.approx((high - low) * ax.get_aspect() / (x1 - x0), rel=1e-6)
    assert "latitude" in panels_[0].get_ylabel()
    texts = {t.get_text() for t in panels_[0].texts}
    assert {"deir ez zor", "Western 600", "east 200", "camp 300"} <= texts
    assert any(t.startswith("Middle\n") for t in texts)  # sector names, first panel only
    assert not any(t.get_text().startswith("Middle\n") for t in panels_[1].texts)


def test_no_incidents_no_activity_and_one_replication_still_draw(tmp_path_factory):
    silent = scenario(north=0.0, middle=0.0, south=0.0, al_hol=0.0)
    quiet = run(tmp_path_factory, "quiet", 1, silent)
    results = sim.load_results(quiet)
    assert len(results.incidents) == 0 and len(results.activity) == 0
    fig = map_figure(results)
    for ax in fig.axes[:3]:
        np.testing.assert_array_equal(sectors_of(ax).get_array(), 0.0)
        np.testing.assert_array_equal(activity_of(ax).get_sizes(), 0.0)
    assert "1 replication)" in fig.get_suptitle()
    assert figures.figure_bytes(fig)[:8] == PNG_MAGIC


def test_without_phases_the_panels_split_the_run_into_thirds(tmp_path_factory):
    data = copy.deepcopy(SCENARIO)
    data["forces"]["phases"] = []
    still = run(tmp_path_factory, "still", 1, sim.RawScenario.from_mapping(data).validate())
    results = sim.load_results(still)
    shown = panels(results)
    assert [(p.title, p.day) for p in shown] == [("start", 0), ("", 365 / 3), ("", 730 / 3)]
    spans = periods(shown, 365.0)
    assert [end - start for start, end in spans] == pytest.approx([365 / 3] * 3)
    titles = [ax.get_title() for ax in map_figure(results).axes[:3]]
    assert titles[1].startswith("2 May 2025\n")  # a date, without a name
    assert titles[2].endswith("incidents and activity 1 Sep 2025 – 1 Jan 2026")


def test_the_aspect_stays_finite_near_a_pole():
    assert aspect_for(33.0, 37.0) == pytest.approx(1 / math.cos(math.radians(35.0)))
    assert aspect_for(89.0, 90.0) == pytest.approx(1 / math.cos(math.radians(80.0)))
    assert aspect_for(-90.0, -89.0) == pytest.approx(1 / math.cos(math.radians(80.0)))


def test_labels_are_short():
    assert short_name("joc", "Joint Operations Command (Baghdad)") == "JOC"
    assert short_name("ain_al_asad", "Ain al-Asad air base (Anbar)") == "Ain al-Asad"
    assert short_name("rabia", "Rabia / al-Yarubiyah to Fishkhabour") == "Rabia"
    assert short_name("ne_syria", "Coalition sites in north-east Syria") == "ne syria"


def test_the_run_command_draws_the_map(tmp_path):
    path = tmp_path / "located.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["run", str(path), "-n", "2", "--executor", "serial", "-q", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "map.png").read_bytes()[:8] == PNG_MAGIC
