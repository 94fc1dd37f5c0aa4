"""Loading a finished (or partial) run for analysis: tables load lazily, once."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sim.experiment.errors import RunError
from sim.experiment.manifest import RunManifest, read_manifest
from sim.experiment.store import RunStore

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from sim.config.schema import Scenario


class RunResults:
    """A run folder: its ``manifest`` (a ``RunManifest``), and each table as an attribute
    (a DataFrame).

    >>> run = load_results("results/baseline/20260101-000000-abcdef12")  # doctest: +SKIP
    >>> run.kpis.describe()                                              # doctest: +SKIP
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self._store = RunStore(self.run_dir)
        self.manifest: RunManifest = read_manifest(self.run_dir, "run")
        self._store.freeze()  # every table from the same commits, even during a resume
        self._tables: dict[str, pd.DataFrame] = {}
        self.scenario  # noqa: B018 -- a config that does not validate is refused here

    @cached_property
    def scenario(self) -> Scenario:
        """The run's resolved scenario, validated again with the cross-field checks (a
        manifest is untrusted input); the first problem names the manifest and the key."""
        from sim.config.errors import ScenarioError
        from sim.config.raw import RawScenario

        manifest = f"{self.run_dir}/manifest.json"
        try:
            return RawScenario.from_mapping(self.manifest.config, manifest).validate()
        except ScenarioError as exc:
            first = exc.problems[0]
            key = ".".join(str(part) for part in ("config", *first.path))
            raise RunError(f"{manifest}: {key}: {first.message}") from None

    def problems(self) -> list[str]:
        """What is wrong with the committed parts (missing, resized, changed), if anything."""
        return self._store.problems()

    @property
    def name(self) -> str:
        return self.manifest.scenario

    @property
    def tables(self) -> list[str]:
        return self._store.table_names()

    def arrow(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """Table ``name`` (``columns`` only, if given) as read, in pyarrow: no pandas."""
        return self._store.read_arrow(name, columns)

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
            f"RunResults({m.scenario!r}, replications={m.replications}, "
            f"seed={m.root_seed}, status={m.status!r}, tables={self.tables})"
        )


def load_results(run_dir: str | Path) -> RunResults:
    """Open a run folder written by ``run_experiment`` or ``withdrawal-sim run``."""
    return RunResults(run_dir)
