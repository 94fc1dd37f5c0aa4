"""withdrawal-sim: a discrete-event model of the coalition drawdown from Iraq and the
Iraq–Syria border threat, for comparing scenarios with confidence intervals.

The public API is small and imported lazily (so ``withdrawal-sim --help`` stays fast)::

    import sim
    scenario = sim.load_scenario("scenarios/baseline.yaml", overrides=["run.seed=3"])
    raw = sim.RawScenario.from_file("scenarios/baseline.yaml")  # before validation
    raw.override("forces.lift.airlift.lifts_per_day", 2)
    variant = raw.validate()                         # schema and cross-field checks
    kpis = sim.evaluate(scenario, 50, seed=1, overrides={"run.seed": 3})  # in memory
    faster = {"threats.processes.*_isis.background_rate_per_day": sim.Scale(1.5)}
    later = {"forces.phases.phase_2.start_date": sim.Shift(90)}  # days
    run_dir = sim.run_experiment(scenario, replications=50, seed=1)
    sim.run_figures(run_dir)                         # personnel.png, incidents.png in it
    run = sim.load_results(run_dir)
    run.kpis.describe()
    sim.forces_at(run.forces, days=[0, 365, 730])   # personnel by site and role on those days

    with sim.Executor("process", jobs=2) as executor:  # one pool for several runs
        for seed in (1, 2):
            sim.run_experiment(scenario, 50, seed, executor=executor)
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_API = {
    "load_scenario": "sim.config.load",
    "ScenarioError": "sim.config.errors",
    "Scenario": "sim.config.schema",
    "RawScenario": "sim.config.raw",
    "Scale": "sim.config.relative",
    "Shift": "sim.config.relative",
    "Parameter": "sim.config.schema.sweep",
    "simulate": "sim.model.world",
    "run_experiment": "sim.experiment.runner",
    "evaluate": "sim.experiment.evaluate",
    "Executor": "sim.experiment.executors",
    "load_results": "sim.experiment.results",
    "run_sweep": "sim.experiment.sweep",
    "load_sweep_results": "sim.experiment.sweep",
    "run_figures": "sim.analysis.figures",
    "forces_at": "sim.analysis.forces",
}

__all__ = sorted(_API)


def __dir__() -> list[str]:
    """The public names too, so that completion in Jupyter shows them before first use."""
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
