"""One lifecycle for runs and sweeps: open a folder, run batches, close it.

A run (``sim.experiment.runner``) and a sweep (``sim.experiment.sweep``) differ in what they
run (one scenario; one per design point, each in a folder of its own under ``points/``) and
in what they record; the rest is here, once, in this order (``open_experiment``):

1. the folder: a new one is claimed (it must not exist), or the one to resume is found
   (``out``, else the newest of this experiment) and its manifest read before its lock is
   taken, so that a folder that is not one is refused untouched;
2. its lock is held to the end; a resume checks under it that the experiment (its hash),
   the seed, the replication target and the code and packages are those that started it;
3. the session is recorded and the status set to 'running' before anything on disk changes;
   a resume then drops damaged chunks, whose replications run again (``RunStore.recover``);
4. the caller runs its batches (``Opened.run``: what each store lacks below a target);
5. the session is closed with its timings and a status: 'complete', or 'interrupted',
   'terminated' or 'failed' (with the error) if the batches raised. A start that fails
   before a replication is committed removes its folder: failed starts leave nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import numbers
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from sim.config.limits import MAX_JOBS, MAX_REPLICATIONS, MAX_SEED
from sim.experiment.errors import ArgumentError, RunError
from sim.experiment.executors import Executor
from sim.experiment.journal import JournalError
from sim.experiment.lock import FolderLock
from sim.experiment.manifest import MANIFEST, Manifest, Session, Status, read_manifest
from sim.experiment.store import (
    COMMIT_TABLE,
    RunStore,
    Terminated,
    atomic_write_bytes,
    check_own_folder,
)

if TYPE_CHECKING:
    from sim.config.schema import Scenario
    from sim.experiment.tasks import Chunk

M = TypeVar("M", bound=Manifest)


@dataclass(frozen=True)
class Experiment(Generic[M]):
    """What a run or a sweep asks of the lifecycle: what identifies it, what it runs, where.

    ``scenarios`` are its units (a run's one, numbered 0; a sweep's points), each committed
    to a store of its own: the folder itself, or ``unit_dir(folder, unit)``.
    """

    manifest: type[M]
    fields: dict[str, Any]  # a new folder's manifest: these, the code and the packages
    name: str  # the scenario's or the sweep's, for messages
    digest: str  # the hash a resume must find in the manifest
    scenarios: Mapping[int, Scenario]
    root: Path  # where new folders go
    out: str | Path | None = None  # the folder asked for
    seed: int | None = None  # asked for (a resume must find the same)
    replications: int | None = None  # asked for (a resume must find the same)
    tables: Sequence[str] | None = None  # those each unit keeps (None: all)
    unit_dir: Callable[[Path, int], Path] | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)  # a new folder's other files


@dataclass
class Opened(Generic[M]):
    """A folder opened for a session (lock held): what the caller's batches use."""

    experiment: Experiment[M]
    folder: Path
    manifest: M
    session: Session
    stores: dict[int, RunStore]
    executor: Executor

    def completed(self) -> int:
        """Replications committed, over every unit."""
        return sum(len(store.completed()) for store in self.stores.values())

    def run(self, target: int, progress: bool | None) -> None:
        """Run every replication below ``target`` that a unit's store lacks, in chunks on
        the executor, and commit each chunk as it finishes."""
        from tqdm import tqdm

        from sim.experiment.tasks import run_chunk

        tasks = self._chunks(target)
        if not tasks:
            return
        total = sum(len(task.replications) for task in tasks)
        desc = self.experiment.name
        results = self.executor.map(run_chunk, tasks)
        with (
            tqdm(total=total, disable=not _showing(progress), unit="rep", desc=desc) as bar,
            contextlib.closing(results),  # an error here shuts the workers down first
        ):
            for done in results:
                self.stores[done.unit].save(done.first, done.last, done.chunk)
                bar.update(done.last - done.first + 1)

    def _chunks(self, target: int) -> list[Chunk]:
        """The tasks: each unit's missing replications in chunks (``chunk_size``)."""
        from sim.experiment.tasks import Chunk

        kept = self.experiment.tables
        tasks: list[Chunk] = []
        for unit, store in self.stores.items():
            todo = sorted(set(range(target)) - store.completed())
            size = chunk_size(max(len(todo), 1) * len(self.stores), self.executor.jobs)
            folder = store.run_dir if self.executor.stages_parts else None
            scenario, seed = self.experiment.scenarios[unit], self.manifest.root_seed
            tasks += [Chunk(scenario, seed, c, folder, kept, unit) for c in chunks(todo, size)]
        return tasks

    def close(self, status: Status, seconds: float, error: BaseException | None = None) -> None:
        """Record the session's end, its timings and the run's status."""
        manifest = self.manifest
        manifest.close(self.session, seconds, status)
        if error is not None:
            manifest.error = f"{type(error).__name__}: {error}"[:2000]
        with contextlib.suppress(JournalError):  # the error being recorded may be that one
            manifest.completed_replications = self.completed()
        written = sum(store.write_seconds for store in self.stores.values())
        manifest.write_seconds = round(manifest.write_seconds + written, 3)
        manifest.write(self.folder)


@contextlib.contextmanager
def open_experiment(
    experiment: Experiment[M],
    executor: Executor,
    *,
    resume: bool = False,
    allow_code_change: bool = False,
) -> Iterator[Opened[M]]:
    """Open a new folder for ``experiment``, or the one to resume, for one session."""
    if resume:
        folder = _resume_folder(experiment)
        read_manifest(folder, experiment.manifest.noun)  # refused before it is touched
        with FolderLock(folder):
            manifest = _resumable(experiment, folder, allow_code_change)
            with _session(experiment, folder, manifest, executor, fresh=False) as opened:
                yield opened
        return
    manifest = experiment.manifest.new(**experiment.fields)
    folder = _chosen_folder(experiment.out) or experiment.root / _run_folder_name(
        experiment.digest, manifest.root_seed
    )
    store = RunStore(folder)
    store.create()
    with store.lock():
        try:
            for name, data in experiment.files.items():
                atomic_write_bytes(folder / name, data)
            with _session(experiment, folder, manifest, executor, fresh=True) as opened:
                yield opened
        except Exception:
            stores = _stores(experiment, folder)
            if not any(store.completed() for store in stores.values()):
                _remove(experiment, folder, stores)
            raise


@contextlib.contextmanager
def _session(
    experiment: Experiment[M], folder: Path, manifest: M, executor: Executor, *, fresh: bool
) -> Iterator[Opened[M]]:
    """Record a session around the caller's batches (lock held)."""
    session = Session.begin(executor, found=None if fresh else manifest.status)
    opened = Opened(experiment, folder, manifest, session, _stores(experiment, folder), executor)
    manifest.open(session)
    manifest.write(folder)  # 'running' before anything on disk changes
    began = time.perf_counter()
    try:
        session.repaired += _ready(opened, fresh)
        before = opened.completed()
        yield opened
        session.replications_run = opened.completed() - before
    except BaseException as exc:
        status = {Terminated: "terminated", KeyboardInterrupt: "interrupted"}.get(type(exc))
        failed = None if status else exc
        opened.close(status or "failed", time.perf_counter() - began, failed)
        raise
    opened.close("complete", time.perf_counter() - began)


def _stores(experiment: Experiment[M], folder: Path) -> dict[int, RunStore]:
    """The store of every unit: the folder itself, or a folder of its own."""
    where = experiment.unit_dir
    return {
        unit: RunStore(where(folder, unit) if where else folder) for unit in experiment.scenarios
    }


def _ready(opened: Opened[M], fresh: bool) -> list[str]:
    """Make every unit's folder and, on resume, drop damaged chunks: what was repaired."""
    tables = opened.experiment.tables or _all_tables()
    repaired = []
    for unit, store in opened.stores.items():
        own = store.run_dir != opened.folder
        if own:
            check_own_folder(store.run_dir)
            store.run_dir.mkdir(parents=True, exist_ok=True)
        if not fresh:
            prefix = f"point {unit}: " if own else ""
            repaired += [prefix + line for line in store.recover(tables)]
    return repaired


def _remove(experiment: Experiment[M], folder: Path, stores: dict[int, RunStore]) -> None:
    """Delete a new folder whose start failed before any replication was committed."""
    for store in stores.values():
        if store.run_dir != folder:
            store.remove()
            with contextlib.suppress(OSError):  # the units' own parent (points/), if empty
                store.run_dir.parent.rmdir()
    for name in experiment.files:
        (folder / name).unlink(missing_ok=True)
    RunStore(folder).remove()


def _resume_folder(experiment: Experiment[M]) -> Path:
    """The folder to resume: the one asked for, or the newest of this experiment."""
    if folder := _chosen_folder(experiment.out):
        return folder
    root, kind = experiment.root, experiment.manifest.noun
    folder = _latest_folder(root, experiment.digest)
    if folder is None:
        others = len(list(root.glob("*"))) if root.is_dir() else 0
        raise RunError(
            f"nothing to resume: no {kind} of '{experiment.name}' with this configuration "
            f"under {root}"
            + (
                f" ({others} of other configurations: give the --set options, and a sweep's "
                "--seed, it started with)"
                if others
                else ""
            )
        )
    return folder


def _resumable(experiment: Experiment[M], folder: Path, allow_code_change: bool) -> M:
    """The manifest of the folder to resume, once everything that must match does."""
    manifest = cast(M, read_manifest(folder, experiment.manifest.noun))
    if manifest.digest != experiment.digest:
        raise RunError(
            f"cannot resume {folder}: {manifest.subject} changed since it started "
            f"(hash {manifest.digest[:12]}, now {experiment.digest[:12]}){_started_with(manifest)}"
        )
    if experiment.seed is not None and experiment.seed != manifest.root_seed:
        raise RunError(
            f"cannot resume {folder}: it uses seed {manifest.root_seed}, not {experiment.seed}"
        )
    asked = experiment.replications
    if asked is not None and asked != manifest.replications:
        each = " per point" if experiment.unit_dir else ""
        raise RunError(
            f"cannot resume {folder}: its target is {manifest.replications} replications"
            f"{each}, not {asked} (leave out -n to finish it)"
        )
    manifest.check_code(folder, allow_code_change)
    return manifest


def _started_with(manifest: Manifest) -> str:
    """What a resume must be given again: a sweep's seed (part of its hash) and the
    overrides, as the manifest recorded them."""
    given = [f"--set {text}" for text in getattr(manifest, "overrides", [])]
    if manifest.noun == "sweep":
        given.insert(0, f"--seed {manifest.root_seed}")
    return f"; it started with {' '.join(given)}" if given else ""


def whole(value: Any) -> Any:
    """A count given as any integer type (numpy's, from a sampler) as a Python int; any
    other value as given, for ``check_counts`` to refuse with its message."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return value


def check_counts(**counts: int | None) -> None:
    """Refuse counts that would exhaust memory or overflow before anything starts."""
    bounds = {"seed": (0, MAX_SEED), "jobs": (1, MAX_JOBS)}
    for option, value in counts.items():
        if value is None:
            continue
        low, high = bounds.get(option, (1, MAX_REPLICATIONS))
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ArgumentError(
                f"{option} must be a whole number from {low} to {high:,} (got {value!r})"
            )


def _all_tables() -> list[str]:
    """The tables a run writes (the folders its store may clean up)."""
    from sim.tables import TABLES

    return [*TABLES, COMMIT_TABLE]


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


def _showing(progress: bool | None) -> bool:
    """Whether to show progress: as asked, or when standard error is a terminal."""
    return sys.stderr.isatty() if progress is None else progress


def _run_folder_name(digest: str, seed: int) -> str:
    """A new folder's name: the UTC start time, the start of the hash, the seed and a
    random suffix, so two runs started in the same second never share a folder."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return f"{now}-{digest[:8]}-s{seed}-{uuid.uuid4().hex[:6]}"


def _latest_folder(root: Path, digest: str) -> Path | None:
    """The most recently started folder in ``root`` of the experiment with hash ``digest``
    (named by ``_run_folder_name``), or None."""
    found = [
        p for p in root.glob(f"*-{digest[:8]}-*") if not p.is_symlink() and (p / MANIFEST).is_file()
    ]
    return max(found, key=lambda p: (p.name[:15], p.stat().st_mtime_ns), default=None)


def _chosen_folder(out: str | Path | None) -> Path | None:
    """The folder the user named with ``out``, or None for one of the tool's choosing."""
    if out is not None and not str(out).strip():
        raise RunError("--out is empty; give a folder, or leave it out for a new one")
    return Path(out) if out else None
