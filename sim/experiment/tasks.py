"""The units of work that executors send to workers: some replications of one scenario.

This module is what a worker imports (and what the pool's forkserver preloads), so it keeps
to the model and Arrow: no pandas, no analysis. A task returns its tables as Arrow tables,
which travel between processes as flat buffers and are written to Parquet as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sim.config.schema import Scenario
from sim.model.world import simulate_columns
from sim.tables import to_arrow

if TYPE_CHECKING:
    import pyarrow as pa

Tables = dict[str, "pa.Table"]


def simulate_chunk(
    scenario: Scenario, seed: int, replications: list[int], tables: Sequence[str] | None = None
) -> Tables:
    """The tables (all, or only ``tables``) of some replications, one Arrow table each."""
    parts = [simulate_columns(scenario, rep, seed) for rep in replications]
    if tables is not None:
        parts = [{name: part[name] for name in tables} for part in parts]
    return to_arrow(parts)


def run_chunk(task: tuple[Scenario, int, list[int]]) -> tuple[int, int, Tables]:
    """Some replications of a run: ``(scenario, seed, replications)``."""
    scenario, seed, replications = task
    return replications[0], replications[-1], simulate_chunk(scenario, seed, replications)


def run_point_chunk(
    task: tuple[int, Scenario, int, list[int], Sequence[str]],
) -> tuple[int, int, int, Tables]:
    """Some replications of one design point of a sweep, only the ``tables`` it keeps."""
    point, scenario, seed, replications, tables = task
    return (
        point,
        replications[0],
        replications[-1],
        simulate_chunk(scenario, seed, replications, tables),
    )
