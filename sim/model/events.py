"""Event ids of one replication, shared by the border's incidents and Syrian-side activity.

An event of any process may trigger events of another (``threats.excitation``), so a parent
id must name one event whichever table holds it: ids count every event of the replication
in order of occurrence, across both tables. ``cluster`` is the background ancestor's id: an
event's own id when it has no parent in the run (``parent`` −1, or ``BEFORE_START`` for a
child of the burn-in's history, docs/model.md §4.5).
"""

from __future__ import annotations


class EventIds:
    """The next id, and the cluster of every event so far."""

    __slots__ = ("clusters",)

    def __init__(self) -> None:
        self.clusters: list[int] = []

    def new(self, parent: int) -> tuple[int, int]:
        """(id, cluster) of a new event whose parent is ``parent`` (negative: none here)."""
        event = len(self.clusters)
        cluster = self.clusters[parent] if parent >= 0 else event
        self.clusters.append(cluster)
        return event, cluster
