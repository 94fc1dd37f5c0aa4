"""One replication: the SimPy world built from a scenario, run to the horizon.

``simulate`` is the single function everything else maps over replications. ``World`` builds
every part from its spec, then connects them through their hooks, then starts their SimPy
processes, runs ``env.run(until=horizon)`` and collects what each part records:

    part              processes             announces (hook)          records
    Lift              one per asset         forces_changed, delivered movements
    OrderBook         -                     dropped                   -
    Drawdown          phases, rules         phase_started             phases, policy
    Surveillance      -                     -                         -
    RateModulation    -                     -                         -
    BorderResponse    (one per response)    sector_changing, occurred incidents
    ActivityLog       -                     -                         activity
    ShockState        -                     -                         -
    Displacement      -                     -                         -
    ThreatProcesses   one per process       -                         -
    ForcesRecorder    -                     -                         forces, posture
    SectorRecorder    -                     -                         daily

The scenario's geometry (sector lengths, and with a geography the distances from places to
sectors) is computed once per scenario and shared by its replications (``geometry_of``).
The drawdown is built last: a rule's thresholds relative to the expected count read the
incident processes.

The order in which processes start decides which of two events at one instant runs first,
so it is fixed: the drawdown's, then the lift's, then the incident processes'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from sim.config.schema import Forces, Scenario
from sim.model.activity import ActivityLog
from sim.model.border import BorderResponse
from sim.model.displacement import Displacement
from sim.model.drawdown import Drawdown
from sim.model.events import EventIds
from sim.model.geometry import geometry_of
from sim.model.lift import Lift, OrderBook
from sim.model.modulation import RateModulation
from sim.model.posture import Posture
from sim.model.processes import ThreatProcesses, ThreatSetting
from sim.model.recorder import ForcesRecorder, RecordTimes, SectorRecorder
from sim.model.results import Recording, Results
from sim.model.shocks import ShockState
from sim.model.signals import Signals
from sim.model.surveillance import Surveillance
from sim.streams import Streams
from sim.tables import Columns, to_frames

if TYPE_CHECKING:
    import pandas as pd


class World:
    """Every part of one replication, connected on one SimPy environment."""

    def __init__(self, scenario: Scenario, replication: int, root_seed: int) -> None:
        self.scenario = scenario
        self.replication = replication
        self.root_seed = root_seed
        self.env = simpy.Environment()
        streams = Streams(root_seed, replication)
        start = scenario.clock.start_date
        self.times = RecordTimes.every(
            scenario.clock.record_interval_days, scenario.horizon_days, start
        )
        self.geometry = geometry_of(scenario)
        self._build_forces(scenario.forces, streams)
        self._build_threats(streams)
        self._build_drawdown(scenario.forces)
        self.forces_recorder = ForcesRecorder(
            times=self.times, forces=scenario.forces, posture=self.posture
        )
        self.sector_recorder = SectorRecorder(
            times=self.times,
            sectors=scenario.border.sectors,
            states=self.border.sectors,
            intensity=self.threats,
        )
        # the border before the sector recorder: the daily series count the incidents
        self.recording: tuple[Recording, ...] = (
            self.forces_recorder,
            self.lift,
            self.drawdown,
            self.border,
            self.activity,
            self.sector_recorder,
        )
        self._connect()
        self._start()

    def _build_forces(self, forces: Forces, streams: Streams) -> None:
        start, env = self.scenario.clock.start_date, self.env
        self.posture = posture = Posture(forces=forces)
        self.signals = Signals(specs=self.scenario.signals, start=start)
        self.book = OrderBook(env=env, posture=posture)
        self.lift = Lift(
            env=env,
            assets=forces.lift,
            posture=posture,
            book=self.book,
            streams=streams,
            start=start,
        )
        self.surveillance = Surveillance(
            assets=self.scenario.border.detection.isr_assets,
            phases=forces.phases,
            geometry=self.geometry,
        )

    def _build_threats(self, streams: Streams) -> None:
        scenario, env, threats = self.scenario, self.env, self.scenario.threats
        start, horizon = scenario.clock.start_date, scenario.horizon_days
        places = sorted({p.place for p in threats.processes if p.place is not None})
        self.modulation = RateModulation(
            spec=threats.modulation,
            sectors=scenario.border.sectors,
            sites=scenario.forces.sites,
            geometry=self.geometry,
            start=start,
            posture=self.posture,
            places=places,
        )
        ids = EventIds()
        self.border = BorderResponse(
            scenario=scenario,
            env=env,
            posture=self.posture,
            modulation=self.modulation,
            surveillance=self.surveillance,
            geometry=self.geometry,
            streams=streams,
            ids=ids,
        )
        self.activity = ActivityLog(
            processes=[p.name for p in threats.processes],
            places={name: self.geometry.places[name] for name in places},
            ids=ids,
            start=start,
        )
        self.shocks = [
            ShockState(
                spec=spec,
                start=start,
                levels=self.modulation.partner_levels,
                posture=self.posture,
            )
            for spec in threats.shocks
        ]
        displacement = None
        if threats.displacement.enabled and threats.displacement.share > 0:
            displacement = Displacement(
                spec=threats.displacement,
                sectors=len(scenario.border.sectors),
                env=env,
                border=self.border,
                streams=streams,
                horizon=horizon,
            )
        setting = ThreatSetting(
            self.modulation, self.border, self.activity, displacement, horizon, start, streams
        )
        self.threats = ThreatProcesses(
            scenario=scenario, env=env, setting=setting, shocks=self.shocks
        )

    def _build_drawdown(self, forces: Forces) -> None:
        signals = self.scenario.signals
        relative = {r.signal for r in forces.repositioning if r.hold_above is None}
        self.drawdown = Drawdown(
            env=self.env,
            forces=forces,
            start=self.scenario.clock.start_date,
            posture=self.posture,
            book=self.book,
            signals=self.signals,
            expected={
                name: self.threats.expected_count(spec)
                for name, spec in signals.items()
                if name in relative and spec.kind == "incidents"
            },
        )

    def _connect(self) -> None:
        self.lift.forces_changed.connect(self.forces_recorder.forces_changed)
        self.lift.forces_changed.connect(self.modulation.forces_changed)
        for shock in self.shocks:
            if shock.live:  # a shock on coalition presence watches the forces
                self.lift.forces_changed.connect(shock.forces_changed)
        self.lift.delivered.connect(self.drawdown.delivered)
        self.book.dropped.connect(self.drawdown.settled)
        if self.surveillance.moves:  # only phases that move ISR assets matter to it
            self.drawdown.phase_started.connect(self.surveillance.phase_started)
        self.border.sector_changing.connect(self.sector_recorder.sector_changing)
        if self.signals.counters:  # only signals that count incidents listen to them
            self.border.occurred.connect(self.signals.observe)

    def _start(self) -> None:
        for part in (self.drawdown, self.lift, self.threats):
            for process in part.processes():
                self.env.process(process)

    def run(self) -> dict[str, Columns]:
        """Run to the horizon; return the tables as columns (see ``sim.tables``)."""
        self.env.run(until=self.scenario.horizon_days)
        results = Results(self.replication, self.root_seed)
        for part in self.recording:
            part.record(results)
        return results.columns()


def simulate(
    scenario: Scenario, replication: int = 0, root_seed: int | None = None
) -> dict[str, pd.DataFrame]:
    """Run one replication and return its tables.

    Parameters
    ----------
    scenario
        A validated ``Scenario``.
    replication
        The replication number: its random streams are drawn from ``root_seed`` and it.
    root_seed
        Default: the scenario's ``run.seed``.

    Returns
    -------
    dict of str to pandas.DataFrame
        Every table (``kpis``, ``incidents``, ``posture``, ``daily``, …), typed as a run
        folder's (``sim.tables.SCHEMA``). For many replications, ``sim.evaluate`` is cheaper.
    """
    return to_frames([simulate_columns(scenario, replication, root_seed)])


def simulate_columns(
    scenario: Scenario, replication: int = 0, root_seed: int | None = None
) -> dict[str, Columns]:
    """Run one replication and return its tables as numpy columns, cheap to concatenate."""
    seed = scenario.run.seed if root_seed is None else root_seed
    return World(scenario, replication, seed).run()
