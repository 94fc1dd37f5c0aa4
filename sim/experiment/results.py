"""Loading a finished (or partial) run for analysis: tables load lazily, once."""

from __future__ import annotations

from collections.abc import Sequence
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
    """A run folder: its ``manifest`` (a ``RunManifest``), its ``scenario``, and each table
    as a typed property (a DataFrame of the run's own columns: the ``scenario`` and
    ``run_id`` every row of the files carries are left out, as ``name`` and ``run_dir`` say
    them; ``arrow`` keeps them).

    Parameters
    ----------
    run_dir
        A run folder; its manifest and committed parts are checked on reading.

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
        """The scenario's name."""
        return self.manifest.scenario

    @property
    def tables(self) -> list[str]:
        """The tables the run holds (a sweep point keeps fewer)."""
        return self._store.table_names()

    def arrow(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        """Table ``name`` as stored, in pyarrow: no pandas.

        Parameters
        ----------
        name
            A table the run holds (``tables``).
        columns
            Only these columns (default: all, the run's ``scenario`` and ``run_id`` first).

        Returns
        -------
        pyarrow.Table
            The committed parts, checked against the journal.

        Raises
        ------
        KeyError
            An unknown table or column (the message lists what there is).
        """
        if columns is not None:
            columns = [columns] if isinstance(columns, str) else list(columns)
            import pyarrow.parquet as pq

            parts = self._store.table_parts(name)
            stored = pq.read_schema(parts[0]).names if parts else []
            unknown = [c for c in columns if c not in stored]
            if unknown:
                raise KeyError(
                    f"table {name!r} has no column {', '.join(map(repr, unknown))}; "
                    f"columns: {', '.join(stored)}"
                )
        return self._store.read_arrow(name, columns)

    def table(self, name: str) -> pd.DataFrame:
        """Table ``name`` as a DataFrame, read once (``sim.tables.SCHEMA`` describes it)."""
        if name not in self._tables:
            self._tables[name] = self._store.read_table(name)
        return self._tables[name]

    @property
    def kpis(self) -> pd.DataFrame:
        """One row per replication: the KPIs (``sim.tables.KPI_SCHEMA``)."""
        return self.table("kpis")

    @property
    def forces(self) -> pd.DataFrame:
        """Each site's personnel by role, as spells (``sim.forces_at`` puts them on days)."""
        return self.table("forces")

    @property
    def posture(self) -> pd.DataFrame:
        """Personnel in Iraq, in Syria, out of theatre and in transit at each record time."""
        return self.table("posture")

    @property
    def movements(self) -> pd.DataFrame:
        """Every lift: origin, destination, personnel, departure and arrival."""
        return self.table("movements")

    @property
    def phases(self) -> pd.DataFrame:
        """Each phase's start and completion day."""
        return self.table("phases")

    @property
    def policy(self) -> pd.DataFrame:
        """The repositioning rules' actions: when, which signal value and threshold."""
        return self.table("policy")

    @property
    def incidents(self) -> pd.DataFrame:
        """Every border incident: process, sector, type, severity, response and outcome."""
        return self.table("incidents")

    @property
    def activity(self) -> pd.DataFrame:
        """Syrian-side events (answered by nobody), by process and place."""
        return self.table("activity")

    @property
    def daily(self) -> pd.DataFrame:
        """Incidents, outcomes, backlog and utilisation by day and sector."""
        return self.table("daily")

    def __repr__(self) -> str:
        m = self.manifest
        return (
            f"RunResults({m.scenario!r}, replications={m.replications}, "
            f"seed={m.root_seed}, status={m.status!r}, tables={self.tables})"
        )


def load_results(run_dir: str | Path) -> RunResults:
    """Open a run folder written by ``run_experiment`` or ``withdrawal-sim run``.

    Parameters
    ----------
    run_dir
        The run folder.

    Returns
    -------
    RunResults
        The manifest at once; tables when first asked for, each checked against the
        journal's checksums.

    Raises
    ------
    RunError
        Not a run folder, a damaged part, or a manifest that does not validate.
    """
    return RunResults(run_dir)
