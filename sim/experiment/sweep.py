"""Sweeps: many design points of one base scenario, run on the same executors and store.

A sweep file names a base scenario, parameters addressed by the dotted paths of ``--set``,
and a design (grid, Latin hypercube, Sobol or Morris). Every point is the base scenario with
its overrides, validated before anything is run (a bad point leaves no folder behind), and
run with the *same* root seed, so points share their random numbers (common random numbers)
and differences between points are differences of parameters, not of luck.

Layout of ``results/sweeps/<name>/<run-id>/``::

    manifest.json        the sweep, the base scenario's hash, the seed, status, provenance
    points.parquet       one row per point: point id and parameter values
    points/p000000/      one run folder per point (kpis, posture and daily tables)

Each point's folder is a ``RunStore``: parts are written atomically and ``resume`` runs
only what is missing, point by point.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

import pandas as pd

from sim.config.load import config_hash
from sim.experiment.executors import default_jobs, run_tasks, warm_up
from sim.experiment.manifest import (
    check_resumable,
    close_session,
    new_manifest,
    new_session,
    open_session,
    read_manifest,
)
from sim.experiment.runner import (
    RunError,
    chosen_folder,
    chunk_size,
    chunks,
    latest_run_dir,
    run_folder_name,
)
from sim.experiment.store import RunStore, atomic_write_bytes, check_own_folder
from sim.experiment.sweep_plan import plan_sweep, sweep_hash
from sim.experiment.tasks import run_point_chunk

POINTS = "points.parquet"
SWEEP_TABLES = ("kpis", "posture", "daily")
"""Tables kept per point: enough for KPI and time-series sensitivity, small enough for many
points (a sweep is for comparing points; run the scenario itself for the full tables)."""


def run_sweep(
    path: str | Path,
    replications: int | None = None,
    *,
    executor: str = "process",
    jobs: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    results_root: str | Path = "results",
    resume: bool = False,
    allow_code_change: bool = False,
    progress: bool | None = None,
) -> Path:
    """Run every design point of the sweep file at ``path``; return the sweep's folder.

    ``resume`` finishes the sweep in ``out`` (or the latest of this sweep) as a run's resume
    does: same target, damaged parts run again, code changes refused unless allowed.
    """
    warm_up(executor, jobs or default_jobs(), scheduler)
    plan = plan_sweep(path)
    sweep = plan.sweep
    jobs = jobs or default_jobs()
    digest = sweep_hash(sweep, plan.base)
    root = Path(results_root) / "sweeps" / sweep.name
    session = new_session(executor, jobs, scheduler)
    if resume:
        sweep_dir = chosen_folder(out) or latest_run_dir(root, digest)
        if sweep_dir is None:
            raise RunError(f"nothing to resume: no sweep '{sweep.name}' under {root}")
        read_manifest(sweep_dir, "sweep")  # a clear error before touching anything else
        store = RunStore(sweep_dir)
        with store.lock():
            manifest = _resumable(store, digest, replications, allow_code_change)
            return _run(store, plan.scenarios, manifest, session, progress, fresh=False)
    sweep_dir = chosen_folder(out) or root / run_folder_name(digest, sweep.seed)
    store = RunStore(sweep_dir)
    store.create()
    manifest = new_manifest(
        kind="sweep",
        sweep=sweep.model_dump(mode="json"),
        sweep_hash=digest,
        base_scenario=str(plan.base_path),
        base_config_hash=config_hash(plan.base),
        root_seed=sweep.seed,
        replications=replications or sweep.replications,
        points=len(plan.points),
        tables=list(SWEEP_TABLES),
    )
    with store.lock():
        try:
            buffer = io.BytesIO()
            plan.points.to_parquet(buffer, index=False)
            atomic_write_bytes(sweep_dir / POINTS, buffer.getvalue())
            return _run(store, plan.scenarios, manifest, session, progress, fresh=True)
        except Exception:
            if not any(RunStore(point_dir(sweep_dir, p)).completed() for p in plan.scenarios):
                _remove_sweep(store, plan.scenarios)
            raise


def _resumable(store: RunStore, digest: str, replications: int | None, allow_code_change) -> dict:
    """The manifest of the sweep to resume, once everything that must match does."""
    manifest = read_manifest(store.run_dir, "sweep")
    if manifest["sweep_hash"] != digest:
        raise RunError(
            f"cannot resume {store.run_dir}: the sweep or its scenario changed since it started"
        )
    check_resumable(manifest, store.run_dir, replications, allow_code_change)
    return manifest


def _run(store, scenarios, manifest, session, progress, *, fresh: bool) -> Path:
    """Run what every point still lacks, recording this session (lock held)."""
    stores = {point: RunStore(point_dir(store.run_dir, point)) for point in scenarios}
    repaired: list[str] = []
    open_session(manifest, session, fresh=fresh, repaired=repaired)
    store.write_manifest(manifest)  # 'running' before anything on disk changes
    began = time.perf_counter()
    with store.recording_status(manifest):
        for point, point_store in stores.items():
            check_own_folder(point_store.run_dir)
            point_store.run_dir.mkdir(parents=True, exist_ok=True)
            if not fresh:
                repaired += [f"point {point}: {x}" for x in point_store.recover(SWEEP_TABLES)]
        _execute(
            scenarios, manifest["root_seed"], manifest["replications"], stores, session, progress
        )
    close_session(manifest, session, time.perf_counter() - began)
    store.write_manifest(manifest)
    return store.run_dir


def _remove_sweep(store: RunStore, scenarios) -> None:
    """Delete a sweep folder that failed before any point finished a chunk."""
    for point in scenarios:
        RunStore(point_dir(store.run_dir, point)).remove()
    with contextlib.suppress(OSError):
        (store.run_dir / "points").rmdir()
    (store.run_dir / POINTS).unlink(missing_ok=True)
    store.remove()


def point_dir(sweep_dir: Path, point: int) -> Path:
    return sweep_dir / "points" / f"p{point:06d}"


def _execute(scenarios, seed, n, stores, session, progress) -> None:
    from tqdm import tqdm

    executor, jobs, scheduler = session["executor"], session["jobs"], session["scheduler"]
    tasks = []
    for point, scenario in scenarios.items():
        store = stores[point]
        todo = sorted(set(range(n)) - store.completed())
        size = chunk_size(max(len(todo), 1) * len(scenarios), jobs)
        stage_in = None if scheduler else store.run_dir  # see sim.experiment.tasks
        tasks += [
            (point, scenario, seed, chunk, SWEEP_TABLES, stage_in) for chunk in chunks(todo, size)
        ]
    total = sum(len(t[3]) for t in tasks)
    show = sys.stderr.isatty() if progress is None else progress
    with tqdm(total=total, disable=not show, unit="rep", desc="sweep") as bar:
        for point, result in run_tasks(run_point_chunk, tasks, executor, jobs, scheduler):
            stores[point].save(*result)
            bar.update(result[1] - result[0] + 1)


def load_sweep_results(sweep_dir: str | Path, table: str = "kpis") -> pd.DataFrame:
    """One table of every point, with a ``point`` column, joined to the parameter values."""
    sweep_dir = Path(sweep_dir)
    manifest = read_manifest(sweep_dir, "sweep")
    if not (sweep_dir / POINTS).is_file():
        raise RunError(f"{sweep_dir} has no {POINTS}: the sweep never started its points")
    points = pd.read_parquet(sweep_dir / POINTS)
    frames = []
    for point in points["point"]:
        store = RunStore(point_dir(sweep_dir, int(point)))
        store.freeze()
        done = len(store.completed())
        if done < manifest["replications"]:
            raise RunError(
                f"{sweep_dir}: point {int(point)} has {done} of {manifest['replications']} "
                "replications; the sweep is unfinished (sweep FILE --resume finishes it)"
            )
        frames.append(store.read_table(table).assign(point=int(point)))
    return pd.concat(frames, ignore_index=True).merge(points, on="point")
