"""What one replication records over time: every change of the forces, and the state at the
record times ``0, Δ, 2Δ, …`` and the horizon.

A record at day t is the state over the end of the interval that closes at t: the state
*before* any event of that instant. None of it costs a SimPy event. The forces change only
when a lift departs or arrives, so ``ForcesRecorder`` keeps the posture after each change
(the lift's ``forces_changed`` hook) and derives from that log, when the run ends, the
personnel per country at the record times and the ``forces`` spells. Sector queues and busy
units change at every incident, so ``SectorRecorder`` fills them forward instead: just
before a change at time t (the border's ``sector_changing`` hook), every record time up to t
not yet filled takes the state that held until then (``RecordGrid.due``). Incident
intensities vary between events (seasons, decaying excitation), so they are evaluated once
the run is over, over the record times, by the same formulas the thinning uses at candidate
incidents (``ThreatProcesses.intensity_on``). Counts of incidents per interval are derived
from the ``incidents`` table.

An earlier version took every record as an urgent SimPy event; that was half the cost of a
replication (docs/performance.md).
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sim.clock import to_dates
from sim.config.schema import Forces, Sector
from sim.model.border import OUTCOMES, SectorState
from sim.model.posture import Posture
from sim.model.results import Results
from sim.tables import Columns, Labels


def record_times(horizon: float, interval: float) -> np.ndarray:
    """0, Δ, 2Δ, … below the horizon, then the horizon itself."""
    times = np.arange(0.0, horizon, interval)
    return np.append(times, horizon)


@dataclass(frozen=True)
class RecordTimes:
    """The record times of a run (days) and their calendar dates."""

    days: np.ndarray
    dates: np.ndarray
    start: dt.date

    @classmethod
    def every(cls, interval: float, horizon: float, start: dt.date) -> RecordTimes:
        days = record_times(horizon, interval)
        return cls(days, to_dates(days, start), start)

    @property
    def horizon(self) -> float:
        return float(self.days[-1])


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


def spells(
    change_days: np.ndarray, states: np.ndarray, horizon: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Maximal intervals ``[start, end)`` over which each column of ``states`` is constant.

    ``states[k]`` holds from ``change_days[k]`` (the first from day 0) until the next change;
    of several changes at one instant only the last state held for any time. The first state
    is always kept: it holds at day 0 before any event, so changes at day 0 leave a spell
    ``[0, 0)`` for it (``forces_at`` reads it at day 0, as ``posture`` records it).
    Returns (column, start, end, value) of every spell, column by column in time order.
    """
    days = np.maximum(change_days, 0.0)
    held = np.append(days[1:] != days[:-1], True)
    held[0] = True
    days, states = days[held], states[held]
    changed = np.ones(states.shape, dtype=bool)
    changed[1:] = states[1:] != states[:-1]
    column, k = np.nonzero(changed.T)  # spells of column 0 first, each in time order
    start = days[k]
    same_column_next = np.append(column[1:] == column[:-1], False)
    end = np.where(same_column_next, np.append(start[1:], horizon), horizon)
    return column, start, end, states[k, column]


class ForcesRecorder:
    """Watches the forces: the posture after every change, and when in-Iraq personnel first
    fall below the threshold. Listens to ``Lift.forces_changed``."""

    def __init__(self, *, times: RecordTimes, forces: Forces, posture: Posture) -> None:
        self.times = times
        self.posture = posture
        self.threshold = forces.in_iraq_threshold_personnel
        self.change_days: list[float] = [-math.inf]  # the initial state holds before all
        self._states: list[list[int]] = [self._state()]
        self.below_threshold_day = math.nan
        self._check_threshold(0.0)

    def _state(self) -> list[int]:
        """Personnel by (site, role), then in transit by role, flattened."""
        return [n for row in self.posture.counts for n in row] + list(self.posture.in_transit)

    def _check_threshold(self, day: float) -> None:
        if math.isnan(self.below_threshold_day) and self.posture.in_iraq < self.threshold:
            self.below_threshold_day = day

    def forces_changed(self, day: float) -> None:
        """Hook: the posture just changed at ``day``."""
        self.change_days.append(day)
        self._states.append(self._state())
        self._check_threshold(day)

    def states(self) -> np.ndarray:
        """The posture after each change: (change, site + in transit, role)."""
        n_roles = len(self.posture.roles)
        return np.array(self._states, dtype=np.int64).reshape(len(self._states), -1, n_roles)

    def record(self, results: Results) -> None:
        """The ``forces`` spells and the ``posture`` series; the threshold day, final in Iraq."""
        p, times = self.posture, self.times
        states = self.states()
        n_r = states.shape[2]
        change_days = np.array(self.change_days)
        column, start, end, personnel = spells(
            change_days, states.reshape(len(states), -1), times.horizon
        )
        results.add_table(
            "forces",
            {
                "site": Labels(column // n_r, (*p.sites, "in_transit")),
                "role": Labels(column % n_r, tuple(p.roles)),
                "start_day": start,
                "end_day": end,
                "start_date": to_dates(start, times.start),
                "end_date": to_dates(end, times.start),
                "personnel": personnel,
            },
        )
        # the state before any event at t: the last change strictly before t
        last = np.searchsorted(change_days[1:], times.days, side="left")
        per_site = states.sum(axis=2)  # summed over the few changes, then put on the grid
        country = np.array([*p.country, "in_transit"])
        by_country = {
            name: per_site[:, country == name].sum(axis=1)[last]
            for name in ("iraq", "syria", "out_of_theatre", "in_transit")
        }
        results.add_table(
            "posture",
            {
                "day": times.days,
                "date": times.dates,
                "in_iraq": by_country["iraq"],
                "in_syria": by_country["syria"],
                "out_of_theatre": by_country["out_of_theatre"],
                "in_transit": by_country["in_transit"],
            },
        )
        results.add_kpis(
            {
                "below_threshold_day": self.below_threshold_day,
                "final_in_iraq": int(by_country["iraq"][-1]),
            }
        )


class IntensitySource(Protocol):
    """Σ λ over each sector's incident processes at given days (``ThreatProcesses``)."""

    def intensity_on(self, days: np.ndarray) -> np.ndarray: ...


class SectorRecorder:
    """Watches the sectors: queues and busy units at the record times, and the ``daily``
    series. Listens to ``BorderResponse.sector_changing``."""

    def __init__(
        self,
        *,
        times: RecordTimes,
        sectors: list[Sector],
        states: Sequence[SectorState],
        intensity: IntensitySource,
    ) -> None:
        self.times = times
        self.names = tuple(s.name for s in sectors)
        self.units = np.array([s.response_units for s in sectors], dtype=float)
        self.states = states
        self.intensity = intensity
        n = len(times.days)
        self.backlog = np.zeros((n, len(sectors)), dtype=np.int64)
        self.busy = np.zeros((n, len(sectors)))
        record_list = times.days.tolist()
        self._grids = [RecordGrid(record_list) for _ in sectors]

    def sector_changing(self, sector: int, now: float) -> None:
        """Hook: a sector's queue or busy units are about to change at ``now``."""
        grid = self._grids[sector]
        if now < grid.next_time:  # no record time passed since the last change (most calls)
            return
        first, stop = grid.due(now)
        if stop > first:
            state = self.states[sector]
            self.backlog[first:stop, sector] = state.waiting
            self.busy[first:stop, sector] = state.busy_until(self.times.days[first:stop])

    def record(self, results: Results) -> None:
        """The ``daily`` table (after the incidents are recorded) and the largest backlog."""
        for sector in range(len(self.names)):  # the records left at the end of the run
            self.sector_changing(sector, self.times.horizon)
        daily = self.daily(results.table("incidents"))
        results.add_table("daily", daily)
        backlog = daily["backlog"]
        results.add_kpis({"max_backlog": int(backlog.max()) if len(backlog) else 0})

    def daily(self, incidents: Columns) -> Columns:
        """One row per interval ``[t_{k−1}, t_k)`` and sector, labelled ``t_k``."""
        times, dates = self.times.days, self.times.dates
        n_i, n_s = len(times) - 1, len(self.names)
        # interval k (row k) is [times[k], times[k+1]): its record is the one at times[k+1]
        bucket = np.searchsorted(times, incidents["day"], side="right") - 1
        flat = bucket * n_s + incidents["sector"].codes  # codes are indices of the sectors
        size = n_i * n_s

        def count(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
            keep = flat if mask is None else flat[mask]
            kept = None if weights is None else (weights if mask is None else weights[mask])
            return np.bincount(keep, weights=kept, minlength=size)[:size]

        outcome = incidents["outcome"]
        busy = np.diff(self.busy, axis=0)  # unit-days per interval
        width = np.diff(times)[:, None]
        intensity = self.intensity.intensity_on(times)
        return {
            "day": np.repeat(times[1:], n_s),
            "date": np.repeat(dates[1:], n_s),
            "sector": Labels(np.tile(np.arange(n_s), n_i), self.names),
            "incidents": count().astype(np.int64),
            **{o: count(outcome.equals(o)).astype(np.int64) for o in OUTCOMES},
            "severity": count(weights=incidents["severity"]).astype(float),
            "backlog": self.backlog[1:].reshape(-1),
            "utilisation": (busy / (width * self.units[None, :])).reshape(-1),
            "intensity_per_day": intensity[1:].reshape(-1),
        }
