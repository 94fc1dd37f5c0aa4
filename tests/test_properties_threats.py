"""Properties of incidents, detection and response on generated scenarios, and of common
random numbers between scenarios that differ in one process."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples
from strategies import build, scenarios, simulate_data

from sim.config.schema import Exponential, Fixed, LogNormal, Pareto
from sim.model.durations import sampler
from sim.model.world import simulate
from sim.streams import BufferedDraws

RATE_KEY = {"poisson": "rate_per_day", "nhpp": "rate_per_day", "hawkes": "background_rate_per_day"}


def _horizon(scenario) -> float:
    return scenario.horizon_days


@settings(max_examples=examples(30))
@given(scenarios(min_processes=1))
def test_incidents_inside_the_horizon_in_order_of_occurrence(data):
    scenario, tables = simulate_data(data)
    inc = tables["incidents"]
    assert (inc["incident"].to_numpy() == np.arange(len(inc))).all()
    assert ((inc["day"] >= 0) & (inc["day"] < _horizon(scenario))).all(), inc["day"]
    # ids follow the time of occurrence, so times never decrease within any process either
    assert inc["day"].is_monotonic_increasing
    for _, own in inc.groupby("process"):
        assert own["day"].is_monotonic_increasing


@settings(max_examples=examples(30))
@given(scenarios(min_processes=1))
def test_outcomes_agree_with_detection_and_response(data):
    _, tables = simulate_data(data)
    inc = tables["incidents"]
    outcome, detected = inc["outcome"], inc["detected"]
    assert outcome.isin(["interdicted", "missed", "undetected", "pending"]).all()
    assert detected[outcome == "interdicted"].all()
    assert (~detected == (outcome == "undetected")).all()
    finished = inc["response_end_day"].notna()
    assert (finished == outcome.isin(["interdicted", "missed"])).all()
    assert inc.loc[~detected, "response_start_day"].isna().all()


@settings(max_examples=examples(30))
@given(scenarios(min_processes=1))
def test_responses_start_after_the_incident_and_end_after_they_start(data):
    scenario, tables = simulate_data(data)
    inc = tables["incidents"]
    started = inc[inc["response_start_day"].notna()]
    assert (started["response_start_day"] >= started["day"]).all()
    assert (started["response_start_day"] < _horizon(scenario)).all()
    assert np.allclose(started["wait_days"], started["response_start_day"] - started["day"])
    ended = inc[inc["response_end_day"].notna()]
    assert ended["response_start_day"].notna().all()
    assert (ended["response_end_day"] >= ended["response_start_day"]).all()
    assert (ended["response_end_day"] <= _horizon(scenario)).all()


@settings(max_examples=examples(30))
@given(scenarios(min_processes=1))
def test_triggered_incidents_follow_a_parent_of_their_own_process(data):
    _, tables = simulate_data(data)
    inc = tables["incidents"].set_index("incident")
    kinds = {p["name"]: p["kind"] for p in data["threats"]["processes"]}
    children = inc[inc["parent"] >= 0]
    assert (children["process"].map(kinds) == "hawkes").all()
    assert (children["parent"] < children.index).all()
    parents = inc.loc[children["parent"]]
    assert (parents["process"].to_numpy() == children["process"].to_numpy()).all()
    assert (parents["day"].to_numpy() <= children["day"].to_numpy()).all()
    assert (inc["parent"] >= -2).all()  # −2: a child of the burn-in's history


@settings(max_examples=examples(30))
@given(scenarios(min_processes=1))
def test_clusters_are_the_background_ancestors(data):
    _, tables = simulate_data(data)
    inc = tables["incidents"].set_index("incident")
    background = inc[inc["parent"] < 0]
    assert (background["cluster"] == background.index).all()
    children = inc[inc["parent"] >= 0]
    assert (
        children["cluster"].to_numpy() == inc.loc[children["parent"], "cluster"].to_numpy()
    ).all()
    assert (inc.loc[inc["cluster"], "parent"] < 0).all()


def _arrivals(tables, process: str) -> pd.DataFrame:
    """What a process's incidents are, independent of the ids other processes take."""
    inc = tables["incidents"]
    day = inc.set_index("incident")["day"]
    own = inc[inc["process"] == process].reset_index(drop=True)
    own["parent_day"] = own["parent"].map(day)  # ids shift; the parent's time does not
    return own[["day", "type", "severity", "detected", "parent_day"]]


@settings(max_examples=examples(30))
@given(scenarios(coupled=False, min_processes=2), st.data())
def test_changing_one_rate_leaves_other_processes_unchanged(data, extra):
    """With every coupling off (no modulation, no ISR or coordination in detection, no rule),
    each process draws only from its own streams: common random numbers."""
    processes = data["threats"]["processes"]
    changed = extra.draw(st.sampled_from(range(len(processes))), label="changed")
    factor = extra.draw(st.sampled_from([0.0, 0.5, 2.0, 5.0]), label="factor")
    other = copy.deepcopy(data)
    spec = other["threats"]["processes"][changed]
    spec[RATE_KEY[spec["kind"]]] *= factor
    seed = data["run"]["seed"]
    a = simulate(build(data), 0, seed)
    b = simulate(build(other), 0, seed)
    for i, process in enumerate(processes):
        if i != changed:
            pd.testing.assert_frame_equal(
                _arrivals(a, process["name"]), _arrivals(b, process["name"]), obj=process["name"]
            )


@settings(max_examples=examples(30))
@given(scenarios(min_processes=1))
def test_another_seed_gives_other_incidents(data):
    scenario = build(data)
    a = simulate(scenario, 0, 1)["incidents"]["day"].to_numpy()
    b = simulate(scenario, 0, 2)["incidents"]["day"].to_numpy()
    if len(a) + len(b) > 0:  # continuous times: equal lists would mean shared draws
        assert len(a) != len(b) or not np.array_equal(a, b)
    c = simulate(scenario, 1, 1)["incidents"]["day"].to_numpy()
    if len(a) + len(c) > 0:  # and another replication of the same seed
        assert len(a) != len(c) or not np.array_equal(a, c)


finite = {"allow_nan": False, "allow_infinity": False}
positive = st.floats(min_value=0.0, exclude_min=True, **finite)
distributions = st.one_of(
    st.builds(Fixed, distribution=st.just("fixed"), value=st.floats(min_value=0.0, **finite)),
    st.builds(Exponential, distribution=st.just("exponential"), mean=positive),
    st.builds(
        LogNormal,
        distribution=st.just("lognormal"),
        median=positive,
        sigma=st.floats(min_value=0.0, max_value=10.0),  # the schema's bounds
    ),
    st.builds(
        Pareto,
        distribution=st.just("pareto"),
        alpha=st.floats(min_value=1.01, max_value=100.0),
        x_min=positive,
    ),
)


@settings(max_examples=examples(200))
@given(distributions, st.floats(min_value=2.0**-54, max_value=1.0 - 2.0**-53))
def test_every_valid_distribution_gives_a_value_for_every_draw(spec, u):
    """Durations and severities: any parameters the schema accepts, any uniform the streams
    give (strictly inside (0, 1)): a number >= 0, +inf past the largest float, never an error."""
    value = sampler(spec)(u)
    assert value >= 0.0  # (NaN fails this too)
    if isinstance(spec, Pareto):
        assert value >= spec.x_min
    if isinstance(spec, Fixed):
        assert value == spec.value


class _Largest:
    """A generator stub whose ``random`` returns the largest double below 1."""

    def random(self, size: int) -> np.ndarray:
        return np.full(size, 1.0 - 2.0**-53)


def test_uniform_draws_stay_below_one():
    """The streams promise uniforms strictly inside (0, 1) (the lognormal sampler's inverse
    normal CDF refuses 1.0), even for the generator's largest value, 1 - 2**-53."""
    assert BufferedDraws(_Largest(), block=4).uniform() < 1.0
