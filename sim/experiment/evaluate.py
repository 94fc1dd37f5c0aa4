"""``sim.evaluate``: the KPIs of N replications in memory, for tools that call the model in
a loop (EMA Workbench, SALib, joblib, Dask).

``run_experiment`` is for runs worth keeping: a folder, a manifest, a pool, resumable. A
sampler calling the model thousands of times needs none of that, and a pool started inside
each call (or inside the sampler's own worker processes) costs seconds or fails. This
function runs the replications in the calling process by default, keeps only each
replication's KPI columns (no DataFrame per replication, nothing written) and returns one
DataFrame. Replication r of root seed s draws exactly what it draws in ``run_experiment``,
so the KPIs are the same numbers a run folder would hold.

``jobs`` > 1 forks a pool for the call, on Linux only, and never inside a daemonic process
(the workers of a multiprocessing pool, which cannot have children); otherwise it runs in
the calling process. A forked pool does not re-import the caller's script, so a script
without an ``if __name__ == "__main__":`` guard works.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config.overrides import Overrides
from sim.config.schema import Scenario
from sim.experiment.lifecycle import check_counts, whole
from sim.experiment.runner import chosen_kpis, resolve_scenario
from sim.model.world import simulate_columns
from sim.tables import KPI_COLUMNS


def evaluate(
    scenario: Scenario | str | Path,
    replications: int,
    seed: int | None = None,
    *,
    overrides: Overrides = (),
    kpis: Sequence[str] | None = None,
    jobs: int | None = None,
) -> pd.DataFrame:
    """KPIs of ``replications`` replications of ``scenario``, one row each, in memory.

    Parameters
    ----------
    scenario
        A ``Scenario`` or a scenario file.
    replications
        How many, from 1.
    seed
        The root seed (default: the scenario's ``run.seed``); replication ``r`` of it is the
        same as in ``run_experiment``.
    overrides
        Applied to the scenario first (``sim.load_scenario`` says which forms).
    kpis
        The KPI columns to return (default: all), after ``replication`` and ``seed``.
    jobs
        Processes to fork for the call (Linux, not inside a daemonic process); default 1,
        the calling process.

    Returns
    -------
    pandas.DataFrame
        ``replication``, ``seed`` and the KPIs, typed as in a run's ``kpis`` table.

    Raises
    ------
    ScenarioError
        The scenario or an override is invalid.
    ArgumentError
        A ``ValueError``: ``replications``, ``seed`` or ``jobs`` is out of range, or a KPI is
        unknown.
    """
    replications, seed, jobs = whole(replications), whole(seed), whole(jobs)
    resolved, _ = resolve_scenario(scenario, overrides)
    check_counts(replications=replications, seed=seed, jobs=jobs)
    root = resolved.run.seed if seed is None else seed
    wanted = ["replication", "seed", *chosen_kpis(resolved, kpis)]
    workers = _workers(jobs, replications)
    if workers == 1:
        parts = [_kpi_columns(resolved, root, [r]) for r in range(replications)]
    else:
        chunks = np.array_split(np.arange(replications), workers)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = [pool.submit(_kpi_columns, resolved, root, c.tolist()) for c in chunks]
            parts = [future.result() for future in futures]
    frame = pd.DataFrame({name: np.concatenate([part[name] for part in parts]) for name in wanted})
    dtypes = {name: KPI_COLUMNS[name] for name in wanted if name in KPI_COLUMNS}
    return frame.astype(dtypes)


def _workers(jobs: int | None, replications: int) -> int:
    """Processes to use: ``jobs``, but 1 off Linux, inside a daemonic process, or for fewer
    replications than that."""
    if not jobs or jobs == 1 or not sys.platform.startswith("linux"):
        return 1
    if multiprocessing.current_process().daemon:
        return 1
    return min(jobs, replications)


def _kpi_columns(scenario: Scenario, root: int, replications: list[int]) -> dict[str, np.ndarray]:
    """The KPI columns of ``replications``, joined (nothing else of the runs is kept)."""
    parts = [simulate_columns(scenario, r, root)["kpis"] for r in replications]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
