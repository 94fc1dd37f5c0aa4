"""A run folder opened for its figures: the few columns they draw, read once with pyarrow.

Shared by the run figures (``figures``) and the map (``map``), so the map drawn after the
other figures reuses the tables they read, and neither module imports the other.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.experiment.results import RunResults

SIZE = (10, 5.5)

# What the run figures read of each table. ``daily`` alone has 13 columns and a row per
# replication, day and sector: reading only these (as pyarrow tables) saves half a second.
COLUMNS = {
    "forces": ["replication", "site", "role", "start_day", "end_day", "start_date", "personnel"],
    "posture": ["replication", "day", "date", "in_iraq"],
    "daily": ["replication", "date", "sector", "incidents"],
    "policy": ["date", "action"],
    "phases": ["replication", "phase", "start_day", "complete_day"],
    "incidents": ["replication", "sector", "day"],  # the map's rates, period by period
    "activity": ["replication", "place", "day"],
}


def new_figure(figsize: tuple[float, float] = SIZE) -> Figure:
    """A figure with an Agg canvas of its own, not registered with pyplot."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


class Drawn(RunResults):
    """A run folder opened for its standard figures: the ``COLUMNS`` of its tables, read
    with pyarrow and kept as pyarrow tables (its other tables load as usual)."""

    def __init__(self, run_dir: str | Path) -> None:
        super().__init__(run_dir)  # the manifest and its config, checked
        self._drawn: dict[str, pa.Table] = {}

    def drawn(self, name: str) -> pa.Table:
        """The ``COLUMNS`` of table ``name``, read once."""
        if name not in self._drawn:
            self._drawn[name] = self.arrow(name, COLUMNS[name])
        return self._drawn[name]


def column(run: RunResults, table: str, name: str) -> pa.Array:
    """Column ``name`` of ``run``'s ``table`` as one pyarrow array."""
    if isinstance(run, Drawn) and name in COLUMNS.get(table, ()):
        found = run.drawn(table).column(name)
    else:
        found = pa.array(run.table(table)[name])
    return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found


def replications(run: RunResults, table: str) -> int:
    """How many replications ``table`` holds: what a figure of it plots."""
    return len(pc.unique(column(run, table, "replication")).drop_null())
