"""Sweeps: many design points of one base scenario, run on the same executors and store.

A sweep file names a base scenario, parameters addressed by the dotted paths of ``--set``,
and a design (grid, Latin hypercube, Sobol or Morris). Every point is the base scenario with
its overrides, validated before anything is run (a bad point leaves no folder behind), and
run with the *same* root seed, so points share their random numbers (common random numbers)
and differences between points are differences of parameters, not of luck.

Layout of ``results/sweeps/<name>/<run-id>/``::

    manifest.json        the sweep, the base scenario's hash, the seed, status, provenance
    points.parquet       one row per point: point id and parameter values
    points/p000000/      one run folder per point (kpis, posture and daily tables), whose
                         tables say scenario (the base's), run_id (this folder's) and point

Each point's folder is a ``RunStore``: parts are written atomically and ``resume`` runs
only what is missing, point by point. Folder, lock, sessions, resume and status follow the
lifecycle that runs and sweeps share (``sim.experiment.lifecycle``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.config.load import config_hash
from sim.config.overrides import Overrides, described
from sim.experiment.errors import RunError
from sim.experiment.executors import Executor, ExecutorKind
from sim.experiment.lifecycle import Experiment, check_counts, open_experiment, whole
from sim.experiment.manifest import SweepManifest, read_manifest
from sim.experiment.store import RunStore, point_dir
from sim.experiment.sweep_plan import plan_sweep, points_table, sweep_hash

POINTS = "points.parquet"
SWEEP_TABLES = ("kpis", "posture", "daily")
"""Tables kept per point: enough for KPI and time-series sensitivity, small enough for many
points (a sweep is for comparing points; run the scenario itself for the full tables)."""


def run_sweep(
    path: str | Path,
    replications: int | None = None,
    *,
    seed: int | None = None,
    overrides: Overrides = (),
    executor: ExecutorKind | Executor = "process",
    jobs: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    results_root: str | Path = "results",
    resume: bool = False,
    allow_code_change: bool = False,
    progress: bool | None = None,
) -> Path:
    """Run every design point of the sweep file at ``path``; return the sweep's folder.

    Parameters
    ----------
    path
        The sweep file.
    replications
        Per point, from 1 (default: the sweep's ``replications``).
    seed
        Replaces the sweep's ``seed``: its sample and every point's root seed.
    overrides
        Applied to the base scenario before the points are made from it, as for
        ``sim.load_scenario``; the manifest records them.
    executor, jobs, scheduler
        As for ``run_experiment``.
    out, results_root
        The sweep folder (default: ``<results_root>/sweeps/<name>/<run id>/``).
    resume, allow_code_change
        Finish the sweep in ``out`` (or the latest of this sweep) as a run's resume does:
        same target, damaged parts run again, code changes refused unless allowed.
    progress
        Show a progress bar (default: when standard error is a terminal).

    Returns
    -------
    pathlib.Path
        The sweep folder; ``load_sweep_results`` reads it.

    Raises
    ------
    ScenarioError
        The sweep file, its base scenario, an override or a design point is invalid.
    ArgumentError
        A count or seed out of range (nothing is created).
    """
    replications, seed = whole(replications), whole(seed)
    with Executor.of(executor, jobs, scheduler) as workers:  # they import while we plan
        check_counts(replications=replications, seed=seed)
        plan = plan_sweep(path, seed, overrides)
        sweep, digest = plan.sweep, sweep_hash(plan.sweep, plan.base)
        fields = dict(
            sweep=sweep.model_dump(mode="json"),
            sweep_hash=digest,
            base_scenario=str(plan.base_path),
            base_config_hash=config_hash(plan.base),
            overrides=described(overrides),
            root_seed=sweep.seed,
            replications=replications or sweep.replications,
            points=len(plan.points),
            tables=list(SWEEP_TABLES),
        )
        experiment = Experiment(
            manifest=SweepManifest,
            fields=fields,
            name=sweep.name,
            digest=digest,
            scenarios=plan.scenarios,
            root=Path(results_root) / "sweeps" / sweep.name,
            out=out,
            replications=replications,
            tables=SWEEP_TABLES,
            unit_dir=point_dir,
            files={POINTS: points_table(plan)},
        )
        options = dict(resume=resume, allow_code_change=allow_code_change)
        with open_experiment(experiment, workers, **options) as opened:
            opened.run(opened.manifest.replications, progress)
    return opened.folder


def _named_columns(points: pd.DataFrame, manifest: SweepManifest) -> pd.DataFrame:
    """``points`` with each parameter under its column name: sweeps written before the
    names existed have the dotted path as the column."""
    from pydantic import ValidationError

    from sim.config.schema.sweep import Sweep

    try:
        sweep = Sweep.model_validate(manifest.sweep)
    except ValidationError:
        return points  # the analysis reports a manifest it cannot read
    return points.rename(columns={p.paths[0]: p.column for p in sweep.parameters})


def load_sweep_results(sweep_dir: str | Path, table: str = "kpis") -> pd.DataFrame:
    """One table of every point, with a ``point`` column, joined to the parameter values.

    Parameters
    ----------
    sweep_dir
        A finished sweep folder.
    table
        ``kpis``, ``posture`` or ``daily`` (the tables a sweep keeps per point).

    Returns
    -------
    pandas.DataFrame
        The table's rows of every point, then ``point`` and one column per parameter (its
        safe name; ``points.parquet``'s metadata maps them to dotted paths). The labels the
        files carry (``scenario``, ``run_id``) are left out, as ``load_results`` leaves them.

    Raises
    ------
    RunError
        Not a sweep folder, an unfinished point, or a damaged part.
    """
    sweep_dir = Path(sweep_dir)
    manifest = read_manifest(sweep_dir, "sweep")
    if not (sweep_dir / POINTS).is_file():
        raise RunError(f"{sweep_dir} has no {POINTS}: the sweep never started its points")
    points = _named_columns(pd.read_parquet(sweep_dir / POINTS), manifest)
    frames = []
    for point in points["point"]:
        store = RunStore(point_dir(sweep_dir, int(point)))
        store.freeze()
        done = len(store.completed())
        if done < manifest.replications:
            raise RunError(
                f"{sweep_dir}: point {int(point)} has {done} of {manifest.replications} "
                "replications; the sweep is unfinished (sweep FILE --resume finishes it)"
            )
        frames.append(store.read_table(table).assign(point=int(point)))
    return pd.concat(frames, ignore_index=True).merge(points, on="point")
