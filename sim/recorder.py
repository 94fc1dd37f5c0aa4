"""What one replication records: every change of the forces, and the state at the record
times ``0, Δ, 2Δ, …`` and the horizon.

A record at day t is the state over the end of the interval that closes at t: the state
*before* any event of that instant. None of it costs a SimPy event. The forces change only
when a lift departs or arrives, so the recorder keeps the posture after each change
(``forces_changed``) and derives from that log, when the run ends, the personnel per
country at the record times and the ``forces`` spells. Sector queues and busy units change
at every incident, so they are filled forward instead: just before a change at time t,
every record time up to t not yet filled takes the state that held until then
(``RecordGrid.due``). Incident intensities vary between events (seasons, decaying
excitation), so ``finish`` evaluates them vectorised over the record times, from the
recorded forces and each process's own history. Counts of incidents per interval are
derived from the incident log.

An earlier version took every record as an urgent SimPy event; that was half the cost of a
replication (docs/performance.md).
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from sim.model.modulation import RateModulation
from sim.model.posture import Posture


def record_times(horizon: float, interval: float) -> np.ndarray:
    """0, Δ, 2Δ, … below the horizon, then the horizon itself."""
    times = np.arange(0.0, horizon, interval)
    return np.append(times, horizon)


class RecordGrid:
    """A cursor over the record times: which of them a change at ``now`` closes. Callers on
    the hot path compare ``now`` with ``next_time`` first and call ``due`` only when a record
    time has passed."""

    __slots__ = ("_times", "filled", "next_time")

    def __init__(self, times: list[float]) -> None:
        self._times = times
        self.filled = 0
        self.next_time = self._times[0]

    def due(self, now: float) -> tuple[int, int]:
        """Record times ≤ ``now`` not yet filled, as a range ``(first, stop)``."""
        first = self.filled
        stop = bisect_right(self._times, now, lo=first)
        self.filled = stop
        self.next_time = self._times[stop] if stop < len(self._times) else float("inf")
        return first, stop


class Recorder:
    """The forces' change log; queues and busy units at the record times; intensities once
    the run ends."""

    def __init__(self, times: np.ndarray, posture: Posture, sectors: int) -> None:
        self.times = times
        self.posture = posture
        self.change_days: list[float] = [-math.inf]  # the initial state holds before all
        self._states: list[list[int]] = [self._state()]
        self.backlog = np.zeros((len(times), sectors), dtype=np.int64)
        self.busy = np.zeros((len(times), sectors))
        self.intensity = np.zeros((len(times), sectors))
        record_list = times.tolist()
        self._sector_grids = [RecordGrid(record_list) for _ in range(sectors)]

    def _state(self) -> list[int]:
        """Personnel by (site, role), then in transit by role, flattened."""
        return [n for row in self.posture.counts for n in row] + list(self.posture.in_transit)

    def forces_changed(self, now: float) -> None:
        """Call just after the posture changes at ``now``."""
        self.change_days.append(now)
        self._states.append(self._state())

    def states(self) -> np.ndarray:
        """The posture after each change: (change, site + in transit, role)."""
        n_roles = len(self.posture.roles)
        return np.array(self._states, dtype=np.int64).reshape(len(self._states), -1, n_roles)

    def sector_changing(self, sector: int, state, now: float) -> None:
        """Call just before a sector's queue or busy units change at ``now``.

        ``state`` is the sector's ``SectorState``: waiting incidents and busy units.
        """
        grid = self._sector_grids[sector]
        if now < grid.next_time:  # no record time passed since the last change (most calls)
            return
        first, stop = grid.due(now)
        if stop > first:
            self.backlog[first:stop, sector] = state.waiting
            elapsed = self.times[first:stop] - state.last_change
            self.busy[first:stop, sector] = state.busy_area + state.busy * elapsed

    def finish(self, horizon: float, sectors, processes, modulation: RateModulation) -> None:
        """Fill the records left at the end of the run and evaluate the intensities."""
        for s, state in enumerate(sectors):
            self.sector_changing(s, state, horizon)
        # the state before any event at t: the last change strictly before t
        last = np.searchsorted(self.change_days[1:], self.times, side="left")
        per_site = self.states().sum(axis=2)  # summed over the few changes, then put on the grid
        country = np.array([*self.posture.country, "in_transit"])
        self.by_country = {  # personnel per country (and in transit) at the record times
            name: per_site[:, country == name].sum(axis=1)[last]
            for name in ("iraq", "syria", "out_of_theatre", "in_transit")
        }
        in_iraq, in_syria = self.by_country["iraq"], self.by_country["syria"]
        for s in range(len(sectors)):
            factor = modulation.factor_on(s, self.times, in_iraq, in_syria)
            for process in processes:
                if process.sector == s:
                    self.intensity[:, s] += process.intensity_on(self.times, factor)
