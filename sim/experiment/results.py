"""Loading a finished (or partial) run for analysis: tables load lazily, once."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.experiment.store import RunStore

if TYPE_CHECKING:
    import pandas as pd


class RunResults:
    """A run folder: ``manifest`` as a dict, and each table as an attribute (a DataFrame).

    >>> run = load_results("results/baseline/20260101-000000-abcdef12")  # doctest: +SKIP
    >>> run.kpis.describe()                                              # doctest: +SKIP
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self._store = RunStore(self.run_dir)
        if not self._store.manifest_path.is_file():
            raise FileNotFoundError(f"{self.run_dir} is not a run folder (no manifest.json)")
        self._tables: dict[str, pd.DataFrame] = {}

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return self._store.read_manifest()

    @property
    def name(self) -> str:
        return self.manifest["scenario"]

    @property
    def tables(self) -> list[str]:
        return self._store.table_names()

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            self._tables[name] = self._store.read_table(name)
        return self._tables[name]

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.table(name)
        except KeyError as exc:
            raise AttributeError(str(exc)) from None

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self.tables]

    def __repr__(self) -> str:
        m = self.manifest
        return (
            f"RunResults({m['scenario']!r}, replications={m.get('replications')}, "
            f"seed={m.get('root_seed')}, status={m.get('status')!r}, tables={self.tables})"
        )


def load_results(run_dir: str | Path) -> RunResults:
    """Open a run folder written by ``run_experiment`` or ``withdrawal-sim run``."""
    return RunResults(run_dir)
