"""What one replication records, and how it becomes tidy, labelled tables.

Snapshots are taken at ``0, Δ, 2Δ, …`` and at the horizon, each *before* any event of that
instant (the recorder's events are scheduled urgent), so a snapshot at day t is the state
over the end of the interval that closes at t. Counts of incidents per interval are derived
afterwards from the incident log, which is cheaper than counting inside the simulation.
"""

from __future__ import annotations

import numpy as np
import simpy
from simpy.core import URGENT

from sim.model.border import BorderResponse
from sim.model.modulation import Modulation
from sim.model.posture import Posture


def record_times(horizon: float, interval: float) -> np.ndarray:
    """0, Δ, 2Δ, … below the horizon, then the horizon itself."""
    times = np.arange(0.0, horizon, interval)
    return np.append(times, horizon)


class Recorder:
    """Takes snapshots of forces and sectors at the record times."""

    def __init__(
        self,
        env: simpy.Environment,
        times: np.ndarray,
        posture: Posture,
        border: BorderResponse,
        processes,
        modulation: Modulation,
    ) -> None:
        self.env = env
        self.times = times
        self.posture = posture
        self.border = border
        self.modulation = modulation
        n_sites, n_roles, n_sectors = len(posture.sites), len(posture.roles), len(border.sectors)
        self.forces = np.zeros((len(times), n_sites + 1, n_roles), dtype=np.int64)
        self.backlog = np.zeros((len(times), n_sectors), dtype=np.int64)
        self.busy = np.zeros((len(times), n_sectors))
        self.intensity = np.zeros((len(times), n_sectors))
        self.by_sector = [[p for p in processes if p.sector == s] for s in range(n_sectors)]
        self.taken = 0
        env.process(self._run())

    def _run(self):
        for t in self.times[:-1]:
            event = simpy.Event(self.env)
            event._ok = True
            event._value = None
            self.env.schedule(event, URGENT, t - self.env.now)
            yield event
            self.snapshot(t)

    def snapshot(self, t: float) -> None:
        """Record the state now (the last call, at the horizon, comes after ``env.run``)."""
        k = self.taken
        self.forces[k, :-1, :] = self.posture.counts
        self.forces[k, -1, :] = self.posture.in_transit
        for s, sector in enumerate(self.border.sectors):
            self.backlog[k, s] = len(sector.units.queue)
            self.busy[k, s] = sector.busy_until(t)
            factor = self.modulation.factor(s, t)
            self.intensity[k, s] = sum(p.intensity(t, factor) for p in self.by_sector[s])
        self.taken += 1
