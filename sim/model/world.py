"""One replication: the SimPy world built from a scenario, run to the horizon.

``simulate`` is the single function everything else maps over replications: it builds the
posture, order book, lift assets, drawdown, signals, modulation, border response, incident
processes and recorder, runs ``env.run(until=horizon)`` and returns the replication's tables.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import simpy

from sim.config.schema import Scenario
from sim.model.border import BorderResponse
from sim.model.drawdown import Drawdown
from sim.model.durations import DurationSampler
from sim.model.lift import LiftAssetProcess, Movement, Order, OrderBook
from sim.model.modulation import RateModulation
from sim.model.posture import Posture
from sim.model.processes import build_processes
from sim.model.signals import Signals
from sim.recorder import Recorder, record_times
from sim.streams import BufferedDraws, Streams
from sim.tables import build_columns, to_frames

if TYPE_CHECKING:
    import pandas as pd


class World:
    """Every part of one replication, wired together on one SimPy environment."""

    def __init__(self, scenario: Scenario, replication: int, root_seed: int) -> None:
        self.scenario = scenario
        self.replication = replication
        self.root_seed = root_seed
        self.env = env = simpy.Environment()
        streams = Streams(root_seed, replication)
        self.draws_for = lambda name: BufferedDraws(streams(name))
        self.posture = Posture(scenario.forces)
        self.times = record_times(scenario.horizon_days, scenario.clock.record_interval_days)
        self.recorder = Recorder(self.times, self.posture, len(scenario.border.sectors))
        self.signals = Signals(scenario.signals, scenario.clock.start_date)
        self.book = OrderBook(env, self.posture)
        self.drawdown = Drawdown(env, scenario, self.posture, self.book, self.signals)
        self.movements: list[Movement] = []
        self.moved_per_day: dict[int, int] = defaultdict(int)
        self.below_threshold_day = math.nan
        self._check_threshold()
        for asset in scenario.forces.lift:
            transit = DurationSampler(
                asset.transit_days, self.draws_for(f"lift/{asset.name}/transit")
            )
            LiftAssetProcess(
                env,
                asset,
                self.book,
                transit,
                on_depart=self._departed(asset.name),
                on_arrive=self._arrived,
                dropped=self.drawdown.on_settled,
                site_index=self.posture.site_index,
            )
        self.modulation = RateModulation(scenario, self.posture)
        self.border = BorderResponse(
            env,
            scenario,
            self.posture,
            self.modulation,
            self.signals,
            self.draws_for,
            before_change=self.recorder.sector_changing,
        )
        self.processes = build_processes(
            env, scenario, self.modulation, self.draws_for, self.border.emit
        )

    def _check_threshold(self) -> None:
        threshold = self.scenario.forces.in_iraq_threshold_personnel
        if math.isnan(self.below_threshold_day) and self.posture.in_iraq < threshold:
            self.below_threshold_day = self.env.now

    def _departed(self, asset: str):
        def on_depart(order: Order, load: list[int], transit: float) -> None:
            now = self.env.now
            self.posture.depart(order.origin, load)
            self.recorder.forces_changed(now)
            n = sum(load)
            self.moved_per_day[math.floor(now + 1e-9)] += n
            sites = self.posture.sites
            self.movements.append(
                Movement(
                    len(self.movements),
                    asset,
                    order.owner,
                    order.purpose,
                    sites[order.origin],
                    sites[order.destination],
                    now,
                    now + transit,
                    n,
                )
            )
            self._check_threshold()

        return on_depart

    def _arrived(self, order: Order, load: list[int]) -> None:
        self.posture.arrive(order.destination, load)
        self.recorder.forces_changed(self.env.now)
        self.drawdown.on_settled(order, sum(load))
        self.drawdown.on_arrival(order.destination)

    def run(self) -> dict[str, dict[str, np.ndarray]]:
        """Run to the horizon; return the tables as columns (see ``sim.tables``)."""
        horizon = self.scenario.horizon_days
        self.env.run(until=horizon)
        self.recorder.finish(horizon, self.border.sectors, self.processes, self.modulation)
        return build_columns(self)


def simulate(
    scenario: Scenario, replication: int = 0, root_seed: int | None = None
) -> dict[str, pd.DataFrame]:
    """Run one replication and return its tables (name -> DataFrame)."""
    return to_frames([simulate_columns(scenario, replication, root_seed)])


def simulate_columns(
    scenario: Scenario, replication: int = 0, root_seed: int | None = None
) -> dict[str, dict[str, np.ndarray]]:
    """Run one replication and return its tables as numpy columns, cheap to concatenate."""
    seed = scenario.run.seed if root_seed is None else root_seed
    return World(scenario, replication, seed).run()
