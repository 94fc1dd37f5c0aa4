"""The units of work that executors send to workers: some replications of one scenario.

This module is what a worker imports (and what the pool's forkserver preloads), so it keeps
to the model and Arrow. A worker on the run's own machine (serial, process pool, local Dask
cluster) stages its chunk's Parquet parts itself, so encoding runs in parallel and the run's
process only renames them into place; a worker of a Dask scheduler given by address,
perhaps on another machine, sends its Arrow tables back instead (as flat buffers). Either
way the tables say which scenario they are of; the store that writes them adds the run's
other labels (``sim.experiment.store``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from sim.config.schema import Scenario
from sim.experiment.store import RunStore, Staged
from sim.model.world import simulate_columns
from sim.tables import to_arrow, with_labels

if TYPE_CHECKING:
    import pyarrow as pa

Tables = dict[str, "pa.Table"]


@dataclass(frozen=True)
class Chunk:
    """Consecutive replications of one scenario: one task.

    ``folder`` is where the worker stages the parts (it shares the run's disk), or None to
    send the tables back; ``tables`` those to keep (a sweep keeps a few), or None for all;
    ``unit`` which store of the experiment they go to (a sweep's point; 0 for a run).
    """

    scenario: Scenario
    seed: int
    replications: Sequence[int]
    folder: Path | None
    tables: Sequence[str] | None = None
    unit: int = 0


class Done(NamedTuple):
    """A finished chunk: its store, its replications, the tables or what the worker staged."""

    unit: int
    first: int
    last: int
    chunk: Tables | Staged


def simulate_chunk(
    scenario: Scenario, seed: int, replications: Sequence[int], tables: Sequence[str] | None
) -> Tables:
    """The tables (all, or only ``tables``) of some replications, one Arrow table each,
    labelled with the scenario's name."""
    parts = [simulate_columns(scenario, rep, seed) for rep in replications]
    if tables is not None:
        parts = [{name: part[name] for name in tables} for part in parts]
    label = {"scenario": scenario.metadata.name}
    return {name: with_labels(table, label) for name, table in to_arrow(parts).items()}


def run_chunk(task: Chunk) -> Done:
    """Simulate a chunk; stage its parts in ``task.folder`` or send its tables back."""
    tables = simulate_chunk(task.scenario, task.seed, task.replications, task.tables)
    first, last = task.replications[0], task.replications[-1]
    if task.folder is None:
        return Done(task.unit, first, last, tables)
    return Done(task.unit, first, last, RunStore(task.folder).stage_chunk(first, last, tables))
