"""Syrian-side activity: events of processes located at places, answered by nobody.

They are recorded in their own table (``activity``) with the place's coordinates, and they
matter through what they excite across the border (``threats.excitation``). Ids come from
the replication's ``EventIds``, shared with the incidents.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import numpy as np

from sim.clock import to_dates
from sim.model.events import EventIds
from sim.model.results import Results
from sim.tables import Labels


class PlacedProcess(Protocol):
    """What the log needs of a process at a place."""

    name: str
    place: str | None
    actor: str


class ActivityLog:
    """Column buffers, one entry per Syrian-side event."""

    def __init__(
        self,
        *,
        processes: list[str],
        places: dict[str, tuple[float, float]],
        ids: EventIds,
        start: dt.date,
    ) -> None:
        self.process_index = {name: i for i, name in enumerate(processes)}
        self.process_names = tuple(processes)
        self.places = places
        self.ids = ids
        self.start = start
        self.event: list[int] = []
        self.process: list[int] = []
        self.day: list[float] = []
        self.parent: list[int] = []
        self.cluster: list[int] = []
        self.place: list[str] = []
        self.actor: list[str] = []

    def emit(self, process: PlacedProcess, day: float, parent: int) -> int:
        """Record an event of ``process`` at ``day``; return its id."""
        event, cluster = self.ids.new(parent)
        self.event.append(event)
        self.process.append(self.process_index[process.name])
        self.day.append(day)
        self.parent.append(parent)
        self.cluster.append(cluster)
        self.place.append(process.place or "")
        self.actor.append(process.actor)
        return event

    def record(self, results: Results) -> None:
        """The ``activity`` table."""
        day = np.asarray(self.day, float)
        where = [self.places[name] for name in self.place]
        results.add_table(
            "activity",
            {
                "event": np.asarray(self.event, np.int64),
                "process": Labels(np.asarray(self.process, np.int64), self.process_names),
                "place": Labels.of(self.place),
                "actor": Labels.of(self.actor),
                "day": day,
                "date": to_dates(day, self.start),
                "parent": np.asarray(self.parent, np.int64),
                "cluster": np.asarray(self.cluster, np.int64),
                "latitude": np.array([lat for lat, _ in where], float),
                "longitude": np.array([lon for _, lon in where], float),
            },
        )
