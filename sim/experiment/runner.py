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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.config.load import config_hash, load_scenario
from sim.config.schema import Scenario
from sim.experiment.executors import RunError, default_jobs, run_tasks, warm_up
from sim.experiment.provenance import git_commit, now_iso, versions
from sim.experiment.store import RunStore

if TYPE_CHECKING:
    import pandas as pd

MANIFEST_VERSION = 1


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


def run_folder_name(digest: str) -> str:
    """A new run folder's name: the UTC start time and the start of the config hash."""
    return f"{dt.datetime.now(dt.UTC).strftime('%Y%m%d-%H%M%S')}-{digest[:8]}"


def latest_run_dir(folder: Path) -> Path | None:
    """The newest run folder (one holding a manifest) inside ``folder``."""
    runs = sorted(p for p in folder.glob("*") if (p / "manifest.json").is_file())
    return runs[-1] if runs else None


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
    target_ci: Mapping[str, float] | None = None,
    max_replications: int | None = None,
    progress: bool | None = None,
    plots: bool = True,
) -> Path:
    """Run ``replications`` of ``scenario`` and return the run folder."""
    warm_up(executor, jobs or default_jobs(), scheduler)
    source = None
    if not isinstance(scenario, Scenario):
        source = str(scenario)
        scenario = load_scenario(scenario, overrides)
    n = replications or scenario.run.replications
    root_seed = scenario.run.seed if seed is None else seed
    jobs = jobs or default_jobs()
    digest = config_hash(scenario)
    if target_ci:
        unknown = [k for k in target_ci if k not in _kpi_names(scenario)]
        if unknown:
            raise RunError(f"--target-ci names unknown KPI(s): {', '.join(unknown)}")
    run_dir, manifest = _prepare(scenario, n, root_seed, digest, out, results_root, resume)
    manifest.update(
        source=source,
        overrides=list(overrides),
        executor=executor,
        jobs=jobs,
        scheduler=scheduler,
        status="running",
        started_at=now_iso(),
        versions=versions(),
        git_commit=git_commit(Path(source).resolve().parent if source else Path.cwd()),
    )
    store = RunStore(run_dir)
    store.write_manifest(manifest)
    store.discard_unfinished()
    started = time.perf_counter()
    with store.recording_status(manifest):
        target = n
        while True:
            todo = sorted(set(range(target)) - store.completed())
            _execute(scenario, root_seed, todo, store, executor, jobs, scheduler, progress)
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
    manifest.update(
        status="complete",
        finished_at=now_iso(),
        elapsed_seconds=round(time.perf_counter() - started, 3),
        write_seconds=round(store.write_seconds, 3),
        completed_replications=len(store.completed()),
    )
    store.write_manifest(manifest)
    if plots:
        from sim.analysis.figures import run_figures

        manifest["figures"] = [p.name for p in run_figures(run_dir)]
        store.write_manifest(manifest)
    return run_dir


def _kpi_names(scenario: Scenario) -> set[str]:
    from sim.tables import KPI_COLUMNS

    return set(KPI_COLUMNS) | {f"complete_day_{p.name}" for p in scenario.forces.phases}


def _prepare(scenario, n, root_seed, digest, out, results_root, resume):
    root = Path(results_root)
    if resume:
        run_dir = Path(out) if out else latest_run_dir(root / scenario.metadata.name)
        if run_dir is None or not (run_dir / "manifest.json").is_file():
            raise RunError(f"nothing to resume: no run of '{scenario.metadata.name}' under {root}")
        manifest = RunStore(run_dir).read_manifest()
        if manifest.get("config_hash") != digest:
            raise RunError(
                f"cannot resume {run_dir}: the scenario changed since it started "
                f"(config hash {manifest.get('config_hash', '?')[:12]} vs {digest[:12]})"
            )
        if manifest.get("root_seed") != root_seed:
            raise RunError(
                f"cannot resume {run_dir}: it used seed "
                f"{manifest.get('root_seed')}, not {root_seed}"
            )
        return run_dir, manifest
    run_dir = Path(out) if out else root / scenario.metadata.name / run_folder_name(digest)
    if (run_dir / "manifest.json").exists():
        raise RunError(f"{run_dir} already holds a run; use --resume or another --out")
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "scenario": scenario.metadata.name,
        "description": scenario.metadata.description,
        "config_hash": digest,
        "config": scenario.model_dump(mode="json"),
        "root_seed": root_seed,
        "replications": n,
    }
    return run_dir, manifest


def _execute(scenario, seed, todo, store, executor, jobs, scheduler, progress) -> None:
    if not todo:
        return
    from tqdm import tqdm

    from sim.experiment.tasks import run_chunk

    show = sys.stderr.isatty() if progress is None else progress
    stage_in = None if scheduler else store.run_dir  # see sim.experiment.tasks
    size = chunk_size(len(todo), jobs)
    tasks = [(scenario, seed, chunk, stage_in) for chunk in chunks(todo, size)]
    with tqdm(total=len(todo), disable=not show, unit="rep", desc=scenario.metadata.name) as bar:
        for result in run_tasks(run_chunk, tasks, executor, jobs, scheduler):
            store.save(*result)
            bar.update(result[1] - result[0] + 1)
