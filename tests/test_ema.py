"""The EMA Workbench adapter (``sim.ema``): uncertainties by path, multiplier and date shift,
identical outcomes on the sequential and multiprocessing evaluators, the same numbers as
``sim.evaluate`` with the overrides written out by hand, and clear errors before any
experiment runs."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.config.errors import ScenarioError
from sim.experiment.errors import ArgumentError

ema_workbench = pytest.importorskip("ema_workbench")
import sim.ema  # noqa: E402  (needs ema_workbench)

BASELINE = "scenarios/baseline.yaml"
UNCERTAINTIES = [
    {
        "name": "isis_rate",
        "path": "threats.processes.*_isis.background_rate_per_day",
        "apply": "scale",
        "range": [0.5, 2.0],
    },
    {
        "name": "slip",
        "path": "forces.phases.phase_2.start_date",
        "apply": "shift",
        "range": [-120, 120],
        "integer": True,
    },
    {"name": "decay", "path": "threats.processes.*_isis.decay_per_day", "range": [0.05, 0.2]},
    {"path": "threats.modulation.coordination.effect", "range": [0.1, 0.7]},
]
OUTCOMES = ["incidents", "missed", "below_threshold_day"]


def _model(**options):
    return sim.ema.scenario_model(
        BASELINE, UNCERTAINTIES, OUTCOMES, replications=2, seed=7, **options
    )


def test_uncertainties_and_outcomes_become_ema_parameters():
    model = _model()
    kinds = {u.name: type(u).__name__ for u in model.uncertainties}
    assert kinds == {
        "isis_rate": "RealParameter",
        "slip": "IntegerParameter",
        "decay": "RealParameter",
        "threats_modulation_coordination_effect": "RealParameter",
    }
    assert [o.name for o in model.outcomes] == OUTCOMES
    assert model.name == "Baseline"


def test_sequential_and_multiprocessing_evaluators_give_identical_outcomes():
    from ema_workbench import MultiprocessingEvaluator, SequentialEvaluator, perform_experiments
    from ema_workbench.em_framework import sample_uncertainties

    model = _model()
    np.random.seed(3)
    designs = sample_uncertainties(model, 6)
    with SequentialEvaluator(model) as evaluator:
        x1, y1 = perform_experiments(model, designs, evaluator=evaluator)
    with MultiprocessingEvaluator(model, n_processes=2) as evaluator:
        x2, y2 = perform_experiments(model, designs, evaluator=evaluator)
    columns = [u.name for u in model.uncertainties]
    assert x1[columns].equals(x2[columns])
    for name in OUTCOMES:
        np.testing.assert_array_equal(y1[name], y2[name])
    # the uncertainties act: six different designs give six different incident counts
    assert len(set(y1["incidents"])) == 6


def test_an_experiment_is_sim_evaluate_with_the_overrides_written_out():
    model = _model()
    raw = sim.RawScenario.from_file(BASELINE)
    isis = [p["name"] for p in raw.value_at("threats.processes") if p["name"].endswith("_isis")]
    by_hand = {
        f"threats.processes.{name}.background_rate_per_day": 2
        * raw.value_at(f"threats.processes.{name}.background_rate_per_day")
        for name in isis
    }
    by_hand |= {f"threats.processes.{name}.decay_per_day": 0.15 for name in isis}
    by_hand |= {
        "forces.phases.phase_2.start_date": "2026-08-02",  # 1 September 2026 less 30 days
        "threats.modulation.coordination.effect": 0.5,
    }
    expected = sim.evaluate(BASELINE, 2, seed=7, overrides=by_hand, kpis=OUTCOMES).mean()
    got = model.function(
        isis_rate=2.0, slip=-30, decay=0.15, threats_modulation_coordination_effect=0.5
    )
    assert got == {name: float(expected[name]) for name in OUTCOMES}
    assert len(isis) >= 5


def test_the_statistic_summarises_the_replications():
    values = dict(isis_rate=1.0, slip=0, decay=0.1, threats_modulation_coordination_effect=0.4)
    kpis = sim.evaluate(
        BASELINE, 2, seed=7, overrides=_model().function.overrides(values), kpis=OUTCOMES
    )
    assert _model(statistic="max").function(**values)["incidents"] == kpis["incidents"].max()
    assert _model(statistic="min").function(**values)["incidents"] == kpis["incidents"].min()


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"path": "threats.processes.*_isis.rate_per_dayy"}, ScenarioError, "matches no key"),
        ({"range": [-1.5, 3.0], "integer": False}, ScenarioError, "whole days"),
        ({"apply": "multiply"}, ScenarioError, "apply"),
        ({"name": "two words"}, ScenarioError, "name"),
        ({"range": [2.0, 1.0]}, ScenarioError, "range must increase"),
        ({"range": [-10, 10], "integer": False}, ScenarioError, "give it integer: true"),
        ({"name": "incidents"}, ArgumentError, "named like a KPI"),
    ],
)
def test_a_bad_uncertainty_fails_before_any_experiment(change, error, message):
    bad = [{**UNCERTAINTIES[1], **change}]
    with pytest.raises(error, match=message):
        sim.ema.scenario_model(BASELINE, bad, OUTCOMES, replications=1)


def test_bad_arguments_are_value_errors():
    with pytest.raises(ArgumentError, match="unknown KPI"):
        sim.ema.scenario_model(BASELINE, UNCERTAINTIES, ["incidentz"])
    with pytest.raises(ArgumentError, match="statistic"):
        _model(statistic="mode")
    with pytest.raises(ArgumentError, match="unique"):
        sim.ema.scenario_model(BASELINE, [UNCERTAINTIES[0], UNCERTAINTIES[0]], OUTCOMES)
    with pytest.raises(ValueError, match="replications"):
        sim.ema.scenario_model(BASELINE, UNCERTAINTIES, OUTCOMES, replications=0)


def test_the_analysis_frame_makes_prim_work_on_integer_uncertainties():
    import pandas as pd
    from ema_workbench.analysis import prim

    rng = np.random.default_rng(3)
    experiments = pd.DataFrame(
        {
            "slip": rng.integers(-180, 181, 200),
            "isis_rate": rng.uniform(0.5, 2, 200),
            "scenario": pd.Categorical(range(200)),
        }
    )
    late = ((experiments["slip"] > 40) & (experiments["isis_rate"] > 1)).to_numpy()
    with pytest.raises(TypeError, match="int64"):  # the incompatibility the frame works around
        prim.Prim(experiments.drop(columns="scenario"), late, threshold=0.8).find_box()
    frame = sim.ema.analysis_frame(experiments)
    assert list(frame.columns) == ["slip", "isis_rate"] and frame["slip"].dtype == "float64"
    box = prim.Prim(frame, late, threshold=0.8).find_box()
    limits = box.box_lims[-1]
    assert 25 <= limits["slip"][0] <= 55 and limits["slip"][1] == experiments["slip"].max()
    assert 0.85 <= limits["isis_rate"][0] <= 1.15
