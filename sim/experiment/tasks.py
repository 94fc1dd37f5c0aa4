"""The units of work that executors send to workers: some replications of one scenario.

This module is what a worker imports (and what the pool's forkserver preloads), so it keeps
to the model and Arrow. A worker on the run's own machine (serial, process pool, local Dask
cluster) stages its chunk's Parquet parts itself, so encoding runs in parallel and the run's
process only renames them into place; a worker of a Dask scheduler given by address,
perhaps on another machine, sends its Arrow tables back instead (as flat buffers).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim.config.schema import Scenario
from sim.experiment.store import RunStore, Staged
from sim.model.world import simulate_columns
from sim.tables import to_arrow

if TYPE_CHECKING:
    import pyarrow as pa

Tables = dict[str, "pa.Table"]
ChunkResult = tuple[int, int, "Tables | Staged"]
"""(first, last, the tables or what the worker staged itself)."""


def simulate_chunk(
    scenario: Scenario, seed: int, replications: list[int], tables: Sequence[str] | None = None
) -> Tables:
    """The tables (all, or only ``tables``) of some replications, one Arrow table each."""
    parts = [simulate_columns(scenario, rep, seed) for rep in replications]
    if tables is not None:
        parts = [{name: part[name] for name in tables} for part in parts]
    return to_arrow(parts)


def run_chunk(task: tuple[Scenario, int, list[int], Path | None]) -> ChunkResult:
    """Some replications of a run: ``(scenario, seed, replications, run_dir)``."""
    scenario, seed, replications, run_dir = task
    return _deliver(replications, simulate_chunk(scenario, seed, replications), run_dir)


def run_point_chunk(
    task: tuple[int, Scenario, int, list[int], Sequence[str], Path | None],
) -> tuple[int, ChunkResult]:
    """Some replications of one design point of a sweep, only the ``tables`` it keeps."""
    point, scenario, seed, replications, tables, point_dir = task
    chunk = simulate_chunk(scenario, seed, replications, tables)
    return point, _deliver(replications, chunk, point_dir)


def _deliver(replications: list[int], tables: Tables, run_dir: Path | None) -> ChunkResult:
    """Stage the tables in ``run_dir`` (a worker on the run's machine) or send them back."""
    first, last = replications[0], replications[-1]
    if run_dir is None:
        return first, last, tables
    return first, last, RunStore(run_dir).stage_chunk(first, last, tables)
