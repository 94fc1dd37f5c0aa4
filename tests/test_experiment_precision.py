"""Precision mode adds replications until the KPI confidence intervals are tight enough."""

from __future__ import annotations

from pathlib import Path

import pytest
from scipy import stats

import sim
from sim.experiment.runner import RunError, kpi_halfwidths

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
SHORT = ["clock.end_date=2025-12-31"]


def test_halfwidth_is_the_t_interval_of_the_mean():
    import pandas as pd

    values = [3.0, 5.0, 4.0, 8.0]
    expected = stats.t.ppf(0.975, 3) * stats.sem(values)
    assert kpi_halfwidths(pd.DataFrame({"x": values}), ["x"])["x"] == pytest.approx(expected)


def test_adds_batches_until_the_target_is_met(tmp_path):
    scenario = sim.load_scenario(BASELINE, SHORT)
    run_dir = sim.run_experiment(
        scenario,
        4,
        3,
        out=tmp_path / "run",
        executor="serial",
        progress=False,
        target_ci={"incidents": 6.0},
        max_replications=40,
    )
    run = sim.load_results(run_dir)
    n = len(run.kpis)
    assert n % 4 == 0 and n > 4
    width = kpi_halfwidths(run.kpis, ["incidents"])["incidents"]
    assert width <= 6.0
    assert run.manifest.stop_reason == "target confidence intervals met"
    assert kpi_halfwidths(run.kpis.head(n - 4), ["incidents"])["incidents"] > 6.0


def test_stops_at_the_maximum_and_says_why(tmp_path):
    scenario = sim.load_scenario(BASELINE, SHORT)
    run_dir = sim.run_experiment(
        scenario,
        2,
        3,
        out=tmp_path / "run",
        executor="serial",
        progress=False,
        target_ci={"incidents": 1e-6},
        max_replications=6,
    )
    run = sim.load_results(run_dir)
    assert len(run.kpis) == 6
    assert run.manifest.stop_reason.startswith("max replications (6) reached")


def test_unknown_kpi_is_refused_before_running(tmp_path):
    with pytest.raises(RunError, match="unknown KPI"):
        sim.run_experiment(BASELINE, 2, 1, out=tmp_path / "r", target_ci={"nope": 1.0})
    assert not (tmp_path / "r").exists()
