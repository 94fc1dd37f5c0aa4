"""What one replication hands back, gathered from the parts that saw it.

Each part that records something has a ``record(results)`` result hook (desmod's
``get_result_hook``, Ciw's ``DataRecord``): once the run is over it adds the tables it owns
and its own KPI columns. ``Results.columns`` then checks every table against the schema in
``sim.tables`` (a column produced but not declared, or declared but not produced, is an
error naming both), puts the columns in the schema's order and adds the ``replication``
column, so no part repeats it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from sim.tables import KPI_COLUMNS, PER_PHASE, PER_SECTOR, TABLES, Columns


class Recording(Protocol):
    """A part that records itself once the run is over."""

    def record(self, results: Results) -> None: ...


class SchemaMismatch(ValueError):
    """A part produced columns that ``sim.tables`` does not declare, or missed some."""


def _check(table: str, produced: Columns | dict[str, object], declared: list[str]) -> None:
    if produced.keys() != set(declared):
        extra = sorted(produced.keys() - set(declared))
        missing = [c for c in declared if c not in produced]
        raise SchemaMismatch(
            f"table '{table}': produced but not in sim.tables: {extra or 'none'}; "
            f"in sim.tables but not produced: {missing or 'none'}"
        )


class Results:
    """Tables and KPI columns of one replication, added part by part."""

    def __init__(self, replication: int, seed: int) -> None:
        self.replication = replication
        self.tables: dict[str, Columns] = {}
        self.kpis: dict[str, object] = {"replication": replication, "seed": seed}

    def add_table(self, name: str, columns: Columns) -> None:
        """Table ``name`` (every column but ``replication``); each table has one owner."""
        if name in self.tables:
            raise ValueError(f"table '{name}' recorded twice")
        self.tables[name] = columns

    def table(self, name: str) -> Columns:
        """A table recorded earlier in this run (the daily series count the incidents)."""
        if name not in self.tables:
            raise KeyError(f"table '{name}' is read before the part that owns it recorded it")
        return self.tables[name]

    def add_kpis(self, values: dict[str, object]) -> None:
        """KPI columns (one value each) of the part that computed them."""
        if clash := values.keys() & self.kpis.keys():
            raise ValueError(f"KPI(s) {sorted(clash)} recorded twice")
        self.kpis.update(values)

    def columns(self) -> dict[str, Columns]:
        """Every table in the schema's order of tables and columns, then the KPIs."""
        out: dict[str, Columns] = {}
        for name, schema in TABLES.items():
            columns = self.tables.get(name, {})
            _check(name, columns, [c for c in schema if c != "replication"])
            rows = len(next(iter(columns.values())))
            out[name] = {"replication": np.full(rows, self.replication)} | {
                c: columns[c] for c in schema if c != "replication"
            }
        phases = [c for c in self.kpis if c.startswith(PER_PHASE)]
        sectors = [c for c in self.kpis if c.startswith(PER_SECTOR)]
        declared = [*KPI_COLUMNS, *phases, *sectors]
        _check("kpis", self.kpis, declared)
        out["kpis"] = {c: np.array([self.kpis[c]]) for c in declared}
        return out
