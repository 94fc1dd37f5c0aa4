"""An experiment: one scenario, many replications, one run folder.

``run_experiment`` validates the scenario *before* touching the disk (bad input leaves
nothing behind), fans replications out in chunks to an executor, streams each finished
chunk to the store, and keeps the manifest current. ``resume=True`` finishes an interrupted
run and refuses one whose configuration changed. ``target_ci`` keeps adding batches until
each named KPI's 95% confidence half-width is small enough.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.config.limits import MAX_JOBS, MAX_REPLICATIONS, MAX_SEED
from sim.config.load import config_hash, load_scenario
from sim.config.schema import Scenario
from sim.experiment.errors import RunError
from sim.experiment.executors import default_jobs, run_tasks, warm_up
from sim.experiment.manifest import (
    MANIFEST,
    check_resumable,
    close_session,
    new_manifest,
    new_session,
    open_session,
    read_manifest,
)
from sim.experiment.store import COMMIT_TABLE, RunStore

if TYPE_CHECKING:
    import pandas as pd


def chunks(replications: Sequence[int], size: int) -> list[list[int]]:
    """Consecutive runs of at most ``size`` replications (a gap starts a new chunk)."""
    out: list[list[int]] = []
    for rep in sorted(replications):
        if out and len(out[-1]) < size and out[-1][-1] == rep - 1:
            out[-1].append(rep)
        else:
            out.append([rep])
    return out


def chunk_size(n: int, jobs: int) -> int:
    """Large enough to amortise writing, small enough to balance load and lose little."""
    return max(1, min(25, math.ceil(n / (4 * jobs))))


def run_folder_name(digest: str, seed: int) -> str:
    """A new run folder's name: the UTC start time, the start of the config hash, the seed
    and a random suffix, so two runs started in the same second never share a folder."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{now}-{digest[:8]}-s{seed}-{uuid.uuid4().hex[:6]}"


def latest_run_dir(folder: Path, digest: str) -> Path | None:
    """The most recently started run folder inside ``folder`` of the configuration with hash
    ``digest`` (named by ``run_folder_name``), or None."""
    runs = [
        p
        for p in folder.glob(f"*-{digest[:8]}-*")
        if not p.is_symlink() and (p / MANIFEST).is_file()
    ]
    return max(runs, key=lambda p: (p.name[:15], p.stat().st_mtime_ns), default=None)


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


def run_experiment(
    scenario: Scenario | str | Path,
    replications: int | None = None,
    seed: int | None = None,
    *,
    executor: str = "process",
    jobs: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    results_root: str | Path = "results",
    overrides: Sequence[str] = (),
    resume: bool = False,
    allow_code_change: bool = False,
    target_ci: Mapping[str, float] | None = None,
    max_replications: int | None = None,
    progress: bool | None = None,
    plots: bool = True,
) -> Path:
    """Run ``replications`` of ``scenario`` and return the run folder.

    With ``resume=True`` the run in ``out`` (or the latest of this scenario) is finished:
    its own seed and replication target are used (passing different ones is an error),
    damaged or missing parts are run again, and code that changed since the run started is
    refused unless ``allow_code_change`` (which the manifest then records).
    """
    warm_up(executor, jobs or default_jobs(), scheduler)
    if executor == "dask" and scheduler:
        from sim.experiment.executors import check_scheduler

        check_scheduler(scheduler)  # an unreachable scheduler is refused before any folder
    source = None
    if isinstance(scenario, Scenario) and overrides:
        raise RunError("overrides apply to a scenario file; pass them to sim.load_scenario")
    if not isinstance(scenario, Scenario):
        source = str(scenario)
        scenario = load_scenario(scenario, overrides)
    jobs = jobs or default_jobs()
    _check_counts(replications, seed, jobs, max_replications)
    digest = config_hash(scenario)
    if target_ci:
        unknown = [k for k in target_ci if k not in _kpi_names(scenario)]
        if unknown:
            names = ", ".join(sorted(_kpi_names(scenario)))
            raise RunError(
                f"--target-ci names unknown KPI(s): {', '.join(unknown)} (KPIs: {names})"
            )
    session = new_session(executor, jobs, scheduler)
    options = {
        "target_ci": target_ci,
        "max_replications": max_replications,
        "progress": progress,
        "plots": plots,
    }
    if resume:
        run_dir = _resume_dir(scenario, digest, out, results_root)
        read_manifest(run_dir, "run")  # a clear error before touching a folder that is not a run
        store = RunStore(run_dir)
        with store.lock():
            manifest = _resumable(store, digest, replications, seed, allow_code_change)
            return _run(store, scenario, manifest, session, fresh=False, **options)
    n = replications or scenario.run.replications
    run_dir = chosen_folder(out) or _new_run_dir(results_root, scenario, digest, seed)
    store = RunStore(run_dir)
    store.create()
    manifest = new_manifest(
        scenario=scenario.metadata.name,
        description=scenario.metadata.description,
        config_hash=digest,
        config=scenario.model_dump(mode="json"),
        root_seed=scenario.run.seed if seed is None else seed,
        replications=n,
        target_ci=dict(target_ci or {}),
        max_replications=max_replications,
        source=source,
        overrides=list(overrides),
    )
    with store.lock():
        try:
            return _run(store, scenario, manifest, session, fresh=True, **options)
        except Exception:
            if not store.completed():  # nothing finished: leave nothing behind
                store.remove()
            raise


def _run(
    store: RunStore,
    scenario: Scenario,
    manifest: dict[str, Any],
    session: dict[str, Any],
    *,
    fresh: bool,
    target_ci: Mapping[str, float] | None,
    max_replications: int | None,
    progress: bool | None,
    plots: bool,
) -> Path:
    """Run what the manifest's target still lacks, recording this session (lock held)."""
    target_ci = dict(target_ci or manifest.get("target_ci") or {})
    max_replications = max_replications or manifest.get("max_replications")
    was_complete = manifest["status"] == "complete"
    repaired: list[str] = []
    open_session(manifest, session, fresh=fresh, repaired=repaired)
    store.write_manifest(manifest)  # 'running' before anything on disk changes
    started = time.perf_counter()
    with store.recording_status(manifest):
        if not fresh:
            repaired += store.recover(run_tables())
        if was_complete and not repaired:
            plots = False  # nothing to do: the figures are those of the finished run
        before = len(store.completed())
        target = manifest["replications"]
        n = target
        while True:
            todo = sorted(set(range(target)) - store.completed())
            _execute(scenario, manifest["root_seed"], todo, store, session, progress)
            manifest["replications"] = target
            manifest["stop_reason"] = "replications reached"
            if not target_ci:
                break
            widths = kpi_halfwidths(store.read_table("kpis"), list(target_ci))
            manifest["ci_halfwidths"] = widths
            if all(widths[k] <= target_ci[k] for k in target_ci):
                manifest["stop_reason"] = "target confidence intervals met"
                break
            limit = max_replications or 10 * n
            if target >= limit:
                manifest["stop_reason"] = f"max replications ({limit}) reached before the targets"
                break
            target = min(limit, target + n)
    completed = len(store.completed())
    session["replications_run"] = completed - before
    close_session(manifest, session, time.perf_counter() - started)
    manifest.update(
        write_seconds=round(manifest.get("write_seconds", 0.0) + store.write_seconds, 3),
        completed_replications=completed,
    )
    store.write_manifest(manifest)
    if plots:
        if _showing(progress):
            print("drawing figures ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        from sim.analysis.figures import run_figures

        manifest["figures"] = [p.name for p in run_figures(store.run_dir)]
        session["figure_seconds"] = round(time.perf_counter() - began, 3)
        store.write_manifest(manifest)
    return store.run_dir


def _showing(progress: bool | None) -> bool:
    """Whether to show progress: as asked, or when standard error is a terminal."""
    return sys.stderr.isatty() if progress is None else progress


def run_tables() -> list[str]:
    """The tables a run writes (the folders its store may clean up)."""
    from sim.tables import TABLES

    return [*TABLES, COMMIT_TABLE]


def _check_counts(replications, seed, jobs, max_replications) -> None:
    """Refuse counts that would exhaust memory or overflow before anything starts."""
    for option, value, low, high in (
        ("replications", replications, 1, MAX_REPLICATIONS),
        ("max_replications", max_replications, 1, MAX_REPLICATIONS),
        ("seed", seed, 0, MAX_SEED),
        ("jobs", jobs, 1, MAX_JOBS),
    ):
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise RunError(
                f"{option} must be a whole number from {low} to {high:,} (got {value!r})"
            )


def _new_run_dir(results_root, scenario: Scenario, digest: str, seed: int | None) -> Path:
    root_seed = scenario.run.seed if seed is None else seed
    return Path(results_root) / scenario.metadata.name / run_folder_name(digest, root_seed)


def chosen_folder(out: str | Path | None) -> Path | None:
    """The folder the user named with ``out``, or None for one of the tool's choosing."""
    if out is not None and not str(out).strip():
        raise RunError("--out is empty; give a folder, or leave it out for a new one")
    return Path(out) if out else None


def _resume_dir(scenario: Scenario, digest: str, out, results_root) -> Path:
    if folder := chosen_folder(out):
        return folder
    root = Path(results_root) / scenario.metadata.name
    run_dir = latest_run_dir(root, digest)
    if run_dir is None:
        others = len(list(root.glob("*"))) if root.is_dir() else 0
        raise RunError(
            f"nothing to resume: no run of '{scenario.metadata.name}' with this configuration "
            f"under {root}" + (f" ({others} of other configurations)" if others else "")
        )
    return run_dir


def _resumable(store: RunStore, digest: str, replications, seed, allow_code_change) -> dict:
    """The manifest of the run to resume, once everything that must match does."""
    manifest = read_manifest(store.run_dir, "run")
    if manifest["config_hash"] != digest:
        raise RunError(
            f"cannot resume {store.run_dir}: the scenario changed since it started "
            f"(config hash {manifest['config_hash'][:12]} vs {digest[:12]})"
        )
    if seed is not None and seed != manifest["root_seed"]:
        raise RunError(
            f"cannot resume {store.run_dir}: it uses seed {manifest['root_seed']}, not {seed}"
        )
    check_resumable(manifest, store.run_dir, replications, allow_code_change)
    return manifest


def _kpi_names(scenario: Scenario) -> set[str]:
    from sim.tables import KPI_COLUMNS

    return set(KPI_COLUMNS) | {f"complete_day_{p.name}" for p in scenario.forces.phases}


def _execute(scenario, seed, todo, store, session, progress) -> None:
    if not todo:
        return
    from tqdm import tqdm

    from sim.experiment.tasks import run_chunk

    executor, jobs, scheduler = session["executor"], session["jobs"], session["scheduler"]
    show = _showing(progress)
    stage_in = None if scheduler else store.run_dir  # see sim.experiment.tasks
    size = chunk_size(len(todo), jobs)
    tasks = [(scenario, seed, chunk, stage_in) for chunk in chunks(todo, size)]
    with tqdm(total=len(todo), disable=not show, unit="rep", desc=scenario.metadata.name) as bar:
        for result in run_tasks(run_chunk, tasks, executor, jobs, scheduler):
            store.save(*result)
            bar.update(result[1] - result[0] + 1)
