"""An experiment: one scenario, many replications, one run folder.

``run_experiment`` validates the scenario *before* touching the disk (bad input leaves
nothing behind), then runs it through the lifecycle that runs and sweeps share
(``sim.experiment.lifecycle``): chunks of replications on an executor, each finished chunk
committed to the store, the manifest kept current. ``resume=True`` finishes an interrupted
run and refuses one whose configuration changed. ``target_ci`` keeps adding batches, on the
same executor, until each named KPI's 95% confidence half-width is small enough.

Figures are the caller's: ``withdrawal-sim run`` draws them after the run, and
``sim.run_figures(run_dir)`` does from Python.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from sim.config.load import config_hash, load_scenario
from sim.config.overrides import Overrides, apply_overrides, described
from sim.config.raw import RawScenario
from sim.config.schema import Scenario
from sim.experiment.errors import ArgumentError, RunError
from sim.experiment.executors import Executor, ExecutorKind
from sim.experiment.lifecycle import Experiment, Opened, check_counts, open_experiment, whole
from sim.experiment.manifest import RunManifest

if TYPE_CHECKING:
    import pandas as pd


def run_experiment(
    scenario: Scenario | str | Path,
    replications: int | None = None,
    seed: int | None = None,
    *,
    executor: ExecutorKind | Executor = "process",
    jobs: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    results_root: str | Path = "results",
    overrides: Overrides = (),
    resume: bool = False,
    allow_code_change: bool = False,
    target_ci: Mapping[str, float] | None = None,
    max_replications: int | None = None,
    progress: bool | None = None,
) -> Path:
    """Run ``replications`` of ``scenario`` into a new run folder, and return the folder.

    Parameters
    ----------
    scenario
        A ``Scenario`` or a scenario file.
    replications
        How many, from 1 (default: the scenario's ``run.replications``).
    seed
        The root seed (default: the scenario's ``run.seed``).
    executor, jobs, scheduler
        ``"serial"``, ``"process"`` or ``"dask"`` with its workers and scheduler, or an
        ``Executor`` the caller has entered, to share its workers between runs.
    out
        The run folder (default: ``<results_root>/<scenario name>/<run id>/``).
    results_root
        Where new run folders go.
    overrides
        Applied to the scenario first (``sim.load_scenario`` says which forms); the
        manifest records them as text.
    resume
        Finish the run in ``out`` (or the latest of this scenario): its own seed and target
        are used (passing different ones is an error), damaged or missing parts run again.
    allow_code_change
        With ``resume``: accept model code that changed since the run started (recorded).
    target_ci
        KPI name to the 95% half-width wanted: batches of ``replications`` are added until
        every one is met or ``max_replications`` (default 10 batches) is reached.
    max_replications
        The limit for ``target_ci``.
    progress
        Show a progress bar (default: when standard error is a terminal).

    Returns
    -------
    pathlib.Path
        The run folder; ``sim.load_results`` reads it.

    Raises
    ------
    ScenarioError
        The scenario or an override is invalid (nothing is created).
    ArgumentError
        A ``ValueError``: a count, seed, executor or KPI out of range (nothing is created).
    RunError
        The run cannot go ahead as asked: a clash, a foreign folder, a bad resume.

    Notes
    -----
    The process executor starts its workers from a forkserver, which imports the main
    script again: a script that calls this with it needs ``if __name__ == "__main__":``
    (Jupyter does not). ``sim.evaluate`` needs no guard.
    """
    replications, seed, jobs = whole(replications), whole(seed), whole(jobs)
    with Executor.of(executor, jobs, scheduler) as workers:  # they import while we read
        scenario, source = resolve_scenario(scenario, overrides)
        check_counts(replications=replications, seed=seed, max_replications=max_replications)
        _check_targets(scenario, target_ci)
        name, digest = scenario.metadata.name, config_hash(scenario)
        fields = dict(
            scenario=name,
            description=scenario.metadata.description,
            config_hash=digest,
            config=scenario.model_dump(mode="json"),
            root_seed=scenario.run.seed if seed is None else seed,
            replications=replications or scenario.run.replications,
            target_ci=dict(target_ci or {}),
            max_replications=max_replications,
            source=source,
            overrides=described(overrides),
        )
        experiment = Experiment(
            manifest=RunManifest,
            fields=fields,
            name=name,
            digest=digest,
            scenarios={0: scenario},
            root=Path(results_root) / name,
            out=out,
            seed=seed,
            replications=replications,
        )
        options = dict(resume=resume, allow_code_change=allow_code_change)
        with open_experiment(experiment, workers, **options) as opened:
            _run_batches(opened, target_ci, max_replications, progress)
    return opened.folder


def resolve_scenario(
    scenario: Scenario | str | Path, overrides: Overrides
) -> tuple[Scenario, str | None]:
    """The scenario to run with ``overrides`` applied (to a file or to a ``Scenario``), and
    the file it came from (None when given as an object)."""
    if isinstance(scenario, Scenario):
        if not overrides:
            return scenario, None
        raw = RawScenario.from_mapping(scenario.model_dump(mode="json"))
        apply_overrides(raw, overrides)
        return raw.validate(), None
    if not isinstance(scenario, str | PathLike):
        kind = type(scenario).__name__
        raise ArgumentError(f"scenario must be a Scenario or a scenario file's path, not {kind}")
    return load_scenario(scenario, overrides), str(scenario)


def _check_targets(scenario: Scenario, target_ci: Mapping[str, float] | None) -> None:
    """Refuse ``target_ci`` naming a KPI that the scenario's runs do not have."""
    names = kpi_names(scenario)
    unknown = [k for k in target_ci or {} if k not in names]
    if unknown:
        raise RunError(
            f"--target-ci names unknown KPI(s): {', '.join(unknown)} "
            f"(KPIs: {', '.join(sorted(names))})"
        )


def _run_batches(
    opened: Opened[RunManifest],
    target_ci: Mapping[str, float] | None,
    max_replications: int | None,
    progress: bool | None,
) -> None:
    """Run the target, then (with ``target_ci``) batches of the same size until every
    named KPI's interval is narrow enough or the limit is reached."""
    manifest = opened.manifest
    targets = dict(target_ci or manifest.target_ci or {})
    batch = target = manifest.replications
    limit = max_replications or manifest.max_replications or 10 * batch
    while True:
        opened.run(target, progress)
        manifest.replications = target
        manifest.stop_reason = "replications reached"
        if not targets:
            return
        widths = kpi_halfwidths(opened.stores[0].read_table("kpis"), list(targets))
        manifest.ci_halfwidths = widths
        if all(widths[k] <= targets[k] for k in targets):
            manifest.stop_reason = "target confidence intervals met"
            return
        if target >= limit:
            manifest.stop_reason = f"max replications ({limit}) reached before the targets"
            return
        target = min(limit, target + batch)


def kpi_halfwidths(kpis: pd.DataFrame, names: Sequence[str]) -> dict[str, float]:
    """The 95% t-based confidence half-width of the mean of each named KPI."""
    from scipy import stats

    widths = {}
    for name in names:
        values = kpis[name].dropna().to_numpy(dtype=float)
        if len(values) < 2:
            widths[name] = math.inf
            continue
        sem = stats.sem(values)
        widths[name] = float(stats.t.ppf(0.975, len(values) - 1) * sem) if sem > 0 else 0.0
    return widths


def chosen_kpis(scenario: Scenario, kpis: Sequence[str] | str | None) -> list[str]:
    """The KPIs a caller names (all for None, one name as a list of it), each checked to
    be one of the scenario's (``ArgumentError`` listing them if not)."""
    names = kpi_names(scenario)
    if kpis is None:
        return names
    chosen = [kpis] if isinstance(kpis, str) else list(kpis)
    unknown = [k for k in chosen if k not in names]
    if unknown:
        raise ArgumentError(
            f"unknown KPI(s) {', '.join(map(repr, unknown))}; KPIs: {', '.join(names)}"
        )
    return chosen


def kpi_names(scenario: Scenario) -> list[str]:
    """The scenario's KPI columns, in the table's order (``replication`` and ``seed`` left
    out)."""
    from sim.tables import kpi_columns

    phases = [p.name for p in scenario.forces.phases]
    names = kpi_columns(phases, [s.name for s in scenario.border.sectors])
    return [n for n in names if n not in {"replication", "seed"}]
