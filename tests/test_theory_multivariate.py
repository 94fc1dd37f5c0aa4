"""Cross-border dynamics against their theory: a multivariate Hawkes process (stationary
rates, cross-attribution, cluster sizes, stability), a shock's expected added count, the
stationary start, and displacement, from the shipped files in ``scenarios/validation/`` or
small hand-built variants. Tolerances are Z standard errors estimated from the runs
(docs: tests/test_theory_processes.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import VALIDATION

from sim.branching import cluster_sizes, spectral_radius, stationary_rates
from sim.config.errors import ScenarioError
from sim.config.excitation import branching_matrix
from sim.config.load import load_scenario
from sim.config.raw import RawScenario
from sim.model.world import simulate

Z = 4.0
PROCESSES = ["a", "b", "c"]


def mean_se(values) -> tuple[float, float]:
    values = np.asarray(values, float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


@pytest.fixture(scope="module")
def multivariate(validation_run):
    scenario, tables = validation_run("multivariate", 10, 7)
    return scenario, tables["incidents"]


def test_the_shipped_matrix_is_non_symmetric_and_stable(multivariate):
    scenario, _ = multivariate
    matrix = branching_matrix(scenario)
    assert not np.allclose(matrix, matrix.T)
    assert 0.5 < spectral_radius(matrix) < 1.0


def test_stationary_rates_are_i_minus_b_inverse_mu(multivariate):
    scenario, incidents = multivariate
    mu = np.array([p.background_rate_per_day for p in scenario.threats.processes])
    theory = stationary_rates(mu, branching_matrix(scenario))
    counts = incidents.groupby(["replication", "process"], observed=False).size().unstack()
    for j, name in enumerate(PROCESSES):
        mean, se = mean_se(counts[name] / scenario.horizon_days)
        assert abs(mean - theory[j]) < Z * se, (name, mean, theory[j], se)
        assert se < 0.02 * theory[j]  # the check has power: within a few per cent


def _parent_process(incidents: pd.DataFrame) -> pd.Series:
    """The process of each incident's parent ('background' or 'before start' when none)."""
    key = incidents.set_index(["replication", "incident"])["process"].astype(str)
    parents = pd.MultiIndex.from_arrays([incidents["replication"], incidents["parent"]])
    found = key.reindex(parents).to_numpy()
    labels = np.where(incidents["parent"] == -1, "background", "before start")
    return pd.Series(np.where(incidents["parent"] >= 0, found, labels), index=incidents.index)


def test_cross_attribution_shares_are_b_lambda_over_lambda(multivariate):
    scenario, incidents = multivariate
    matrix = branching_matrix(scenario)
    mu = np.array([p.background_rate_per_day for p in scenario.threats.processes])
    rates = stationary_rates(mu, matrix)
    parents = _parent_process(incidents)
    for j, target in enumerate(PROCESSES):
        mine = incidents["process"] == target
        for i, source in enumerate([*PROCESSES, "background"]):
            share = mu[j] if source == "background" else matrix[j, i] * rates[i]
            theory = share / rates[j]
            shares = (parents[mine] == source).groupby(incidents["replication"][mine]).mean()
            mean, se = mean_se(shares)
            assert abs(mean - theory) < Z * se + 1e-9, (target, source, mean, theory, se)


def test_cluster_sizes_are_columns_of_i_minus_b_inverse(multivariate):
    scenario, incidents = multivariate
    theory = cluster_sizes(branching_matrix(scenario))
    roots = incidents[
        (incidents["parent"] == -1) & (incidents["day"] < scenario.horizon_days - 200)
    ]  # roots late in the run would have clusters cut at the horizon
    members = incidents.groupby(["replication", "cluster", "process"], observed=False).size()
    members = members.unstack(fill_value=0)
    for i, root in enumerate(PROCESSES):
        mine = roots[roots["process"] == root]
        sizes = members.reindex(pd.MultiIndex.from_arrays([mine["replication"], mine["incident"]]))
        for j, name in enumerate(PROCESSES):
            per_replication = sizes[name].groupby(level=0).mean()
            mean, se = mean_se(per_replication)
            assert abs(mean - theory[j, i]) < Z * se, (root, name, mean, theory[j, i], se)


def _raw(name: str) -> RawScenario:
    return RawScenario.from_file(VALIDATION / f"{name}.yaml")


def test_an_unstable_matrix_is_refused_naming_its_strongest_cycle():
    raw = _raw("multivariate")
    raw.override_text("threats.excitation.1.branching_ratio=10")  # b → c: ρ(B) ≈ 1.06
    with pytest.raises(ScenarioError) as caught:
        raw.validate()
    message = str(caught.value)
    assert "threats.excitation" in message and "spectral radius" in message
    # a → b → c → a: 0.3 × 10 × 0.2 drives it (mean 0.84 a step, against 0.3 for a alone)
    assert "a → b → c → a" in message


@pytest.mark.parametrize("date", ["2027-01-01", "2025-01-01"], ids=["mid_run", "at_the_start"])
def test_a_shocks_expected_added_count_has_its_closed_form(date):
    # at the start too: a shock is an event of the run, left out of the burn-in's steady state
    shocked = load_scenario(
        VALIDATION / "shock.yaml", [f"threats.shocks.breakout.trigger.date={date}"]
    )
    calm = load_scenario(VALIDATION / "shock.yaml", ["threats.shocks=[]"])
    shock, process = shocked.threats.shocks[0], shocked.threats.processes[0]
    theory = (
        (shock.background_multiplier - 1.0)
        * process.background_rate_per_day
        * (shock.duration_days + shock.decay_days)
        / (1.0 - process.branching_ratio)
    )
    assert theory == pytest.approx(300.0)
    added = [
        len(simulate(shocked, r, 5)["incidents"]) - len(simulate(calm, r, 5)["incidents"])
        for r in range(40)
    ]
    mean, se = mean_se(added)
    assert abs(mean - theory) < Z * se and se < 0.1 * theory


def _slow_hawkes(stationary: bool) -> object:
    """μ = 1, n = 0.6, 1/β = 10 days: the empty start's deficit fades over 1/(β(1 − n)) =
    25 days, so it is plain in the first three months."""
    return load_scenario(
        VALIDATION / "hawkes.yaml",
        [
            "clock.end_date=2025-04-01",
            "threats.processes.0.background_rate_per_day=1.0",
            "threats.processes.0.branching_ratio=0.6",
            "threats.processes.0.decay_per_day=0.1",
            f"threats.start={{stationary: {str(stationary).lower()}}}",
        ],
    )


def _monthly_counts(scenario, replications: int) -> np.ndarray:
    edges = [0.0, 30.0, 60.0, 90.0]
    return np.array(
        [
            np.histogram(simulate(scenario, r, 3)["incidents"]["day"], bins=edges)[0]
            for r in range(replications)
        ]
    )


def test_the_stationary_start_removes_the_start_up_bias():
    steady = 1.0 / (1.0 - 0.6) * 30.0  # events in 30 days at the stationary rate
    counts = _monthly_counts(_slow_hawkes(stationary=True), 200)
    for month in range(3):
        mean, se = mean_se(counts[:, month])
        assert abs(mean - steady) < Z * se, (month, mean, steady, se)
    # an empty start: E λ(t) = Λ − (Λ − μ) e^{−t/τ}, τ = 1/(β(1 − n)) = 25 days, so the first
    # month expects Λ·30 − (Λ − μ) τ (1 − e^{−30/τ}) ≈ 48.8 events instead of 75
    empty = _monthly_counts(_slow_hawkes(stationary=False), 200)
    mean, se = mean_se(empty[:, 0])
    expected = steady - 1.5 * 25.0 * (1.0 - math.exp(-30.0 / 25.0))
    assert abs(mean - expected) < Z * se, (mean, expected, se)
    assert mean < steady - Z * se


def test_the_burn_in_is_long_enough_by_default():
    from sim.model.world import World

    world = World(_slow_hawkes(stationary=True), 0, 1)
    assert world.threats.burn_in_days == [pytest.approx(20.0 / (0.1 * 0.4))]


# --- displacement --------------------------------------------------------------------------


def _displacing(share: float = 0.5, delay: float = 10.0):
    """Three sectors a, b, c in a row; a Poisson process of rate 1 at b, whose wall (share 1,
    effect 0.6) deters 0.6 of its attempts: a share of those comes back at a or c."""
    raw = RawScenario.from_file(VALIDATION / "poisson.yaml")
    sector = "{name: %s, length_km: 100, fortification: %s, surveillance: 0.0, response_units: 1}"
    raw.override_text(
        "border.sectors=["
        + ", ".join(sector % (name, 1.0 if name == "b" else 0.0) for name in "abc")
        + "]"
    )
    raw.override_text(
        "threats.processes=[{name: p, sector: b, actor: actor_a, kind: poisson, rate_per_day: 1.0}]"
    )
    raw.override_text("threats.modulation.fortification={enabled: true, effect: 0.6}")
    raw.override_text(
        f"threats.displacement={{enabled: true, share: {share}, delay_days: {delay}}}"
    )
    raw.override_text("clock.end_date=2027-01-01")
    return raw.validate()


def test_displaced_attempts_arrive_next_door_at_the_deterred_rate_times_the_share():
    scenario = _displacing()
    horizon = scenario.horizon_days
    # deterred 1 × 0.6 a day; half of them come back, split evenly between a and c, 10 days on
    per_neighbour = 0.5 * 0.6 / 2 * (horizon - 10.0)
    kept = 1.0 * (1.0 - 0.6) * horizon
    runs = [simulate(scenario, r, 2)["incidents"] for r in range(30)]
    for sector, theory in [("a", per_neighbour), ("c", per_neighbour), ("b", kept)]:
        counts = [int((run["sector"] == sector).sum()) for run in runs]
        mean, _ = mean_se(counts)
        assert abs(mean - theory) < Z * math.sqrt(theory / len(runs)), (sector, mean, theory)
    displaced = pd.concat(runs)
    assert displaced.loc[displaced["sector"] != "b", "displaced"].all()
    assert not displaced.loc[displaced["sector"] == "b", "displaced"].any()
    assert (displaced.loc[displaced["displaced"], "day"] >= 10.0).all()
    assert (displaced.loc[displaced["displaced"], "parent"] == -1).all()


def test_the_recorded_intensity_carries_the_displaced_rate_from_the_delay_on():
    from sim.model.world import World

    world = World(_displacing(), 0, 1)
    world.run()
    days = np.array([0.0, 9.5, 10.5, 400.0])
    intensity = world.threats.intensity_on(days)
    assert intensity[:, 0] == pytest.approx([0.0, 0.0, 0.15, 0.15], abs=1e-12)
    assert intensity[:, 1] == pytest.approx([0.4] * 4, rel=1e-12)
    assert intensity[:, 2] == pytest.approx(intensity[:, 0], abs=1e-12)


def test_switching_displacement_on_moves_no_other_incident():
    on = simulate(_displacing(), 0, 4)["incidents"]
    off = simulate(_displacing(share=0.0), 0, 4)["incidents"]
    mine = on.loc[~on["displaced"], ["process", "sector", "day", "type", "detected"]]
    pd.testing.assert_frame_equal(
        mine.reset_index(drop=True), off[mine.columns].reset_index(drop=True)
    )


def test_a_fast_strong_link_does_not_flood_its_target_with_candidates():
    """A rare source (one event in three years) with a link of n 20 and β 1000 into a target
    with no background: the target's headroom is capped by its background bound (0), so it
    waits for interrupts instead of thinning 40,000 candidates a day."""
    from sim.model.world import World

    raw = RawScenario.from_file(VALIDATION / "multivariate.yaml")
    raw.override_text("threats.processes.1.background_rate_per_day=0")
    raw.override_text(
        "threats.excitation=[{source: a, target: b, branching_ratio: 20, decay_per_day: 1000}]"
    )
    raw.override_text("threats.processes.0.background_rate_per_day=0.001")
    world = World(raw.validate(), 0, 1)
    world.run()
    queued = next(world.env._eid)  # events SimPy scheduled in the run
    assert queued < 20_000, queued


def test_the_attribution_survives_a_term_that_has_faded_to_nothing():
    from sim.model.excitation import ExcitationTerm

    term = ExcitationTerm(2.0)
    term.add(0.0, 0.5, 7)
    assert term.at(360.0) < 1e-300
    assert term.parent(360.0, 0.0) == 7  # exp(2 × 360) would overflow math.exp
