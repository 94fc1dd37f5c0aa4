"""The recorder takes no SimPy events: it records forces as they change, fills sector
queues forward and evaluates intensities after the run. These tests hold it to what a
snapshot taken *inside* the simulation, as an urgent event at each record time (before any
other event of that instant), would have seen, and hold the ``forces`` spells to the daily
``posture`` table that is computed from the record grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import simpy
from forces_helpers import daily_forces
from hypothesis import given, settings
from hypothesis_profiles import examples
from simpy.core import URGENT
from strategies import build, scenarios

from sim.config.load import load_scenario
from sim.model.world import World
from sim.tables import to_frames

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = ["baseline", "isis_resurgence", "repositioning", "validation/hawkes", "validation/nhpp"]


def live_snapshots(world: World) -> dict[str, np.ndarray]:
    """Attach an urgent SimPy process that reads the live state at every record time."""
    env, times = world.env, world.times.days
    sectors = world.border.sectors
    processes = world.threats.members
    seen = {
        "backlog": np.zeros((len(times), len(sectors)), dtype=np.int64),
        "busy": np.zeros((len(times), len(sectors))),
        "intensity": np.zeros((len(times), len(sectors))),
        "in_iraq": np.zeros(len(times), dtype=np.int64),
    }

    def take(k: int, t: float) -> None:
        seen["in_iraq"][k] = world.posture.in_iraq
        for s, sector in enumerate(sectors):
            seen["backlog"][k, s] = len(sector.units.queue)
            seen["busy"][k, s] = sector.busy_until(t)
            seen["intensity"][k, s] = sum(p.intensity(t) for p in processes if p.sector == s)

    def watcher():
        for k, t in enumerate(times[:-1]):
            event = simpy.Event(env)
            event._ok, event._value = True, None
            env.schedule(event, URGENT, t - env.now)
            yield event
            take(k, t)

    env.process(watcher())
    seen["take_last"] = lambda: take(len(times) - 1, times[-1])
    return seen


def spells_by_country(scenario, tables) -> pd.DataFrame:
    """The ``forces`` spells put back on the record days, summed by country."""
    daily = daily_forces(tables)
    country = {s.name: s.country for s in scenario.forces.sites} | {"in_transit": "transit"}
    return daily.assign(country=daily["site"].map(country)).pivot_table(
        index="day", columns="country", values="personnel", aggfunc="sum"
    )


def check_against_live(scenario, replication: int = 0) -> None:
    world = World(scenario, replication, 11)
    seen = live_snapshots(world)
    columns = world.run()
    seen["take_last"]()
    recorded = world.sector_recorder
    assert np.array_equal(recorded.backlog, seen["backlog"])
    np.testing.assert_allclose(recorded.busy, seen["busy"], rtol=1e-12, atol=1e-12)
    intensity = world.threats.intensity_on(world.times.days)
    displacement = world.threats.displacement
    if displacement is not None:  # its rate is read days back: tests/test_theory_multivariate
        intensity -= displacement.intensity_on(world.times.days, world.threats.members)
    np.testing.assert_allclose(intensity, seen["intensity"], rtol=1e-12, atol=1e-12)
    assert np.array_equal(columns["posture"]["in_iraq"], seen["in_iraq"])
    # the spells, put back on the record days, say what the live snapshots saw
    tables = to_frames([columns])
    by_country = spells_by_country(scenario, tables)
    no_one = np.zeros(len(seen["in_iraq"]), dtype=np.int64)
    in_iraq = by_country["iraq"].to_numpy() if "iraq" in by_country else no_one
    assert np.array_equal(in_iraq, seen["in_iraq"])


@pytest.mark.parametrize("name", SHIPPED)
def test_records_equal_live_snapshots_in_shipped_scenarios(name):
    check_against_live(load_scenario(SCENARIOS / f"{name}.yaml"))


@settings(max_examples=examples(20))
@given(scenarios())
def test_records_equal_live_snapshots(data):
    check_against_live(build(data))


@pytest.mark.parametrize(
    ("name", "overrides"),
    [(name, []) for name in SHIPPED]
    # lifts leave on day 0: the start's posture must still be what day 0 records
    + [("baseline", ["clock.start_date=2025-09-01"])],
)
def test_forces_spells_agree_with_posture_at_every_record_day(name, overrides):
    scenario = load_scenario(SCENARIOS / f"{name}.yaml", overrides)
    tables = to_frames([World(scenario, 0, 3).run()])
    by_country = spells_by_country(scenario, tables)
    posture = tables["posture"].set_index("day")
    assert (by_country["iraq"] == posture["in_iraq"]).all()
    assert (by_country["transit"] == posture["in_transit"]).all()
