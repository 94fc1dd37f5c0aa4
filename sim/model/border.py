"""The border: incidents, their detection, and the Iraqi response units of each sector.

Every incident draws its marks (type, severity) and its response (detection, handling time,
interdiction) from streams of its own process, always the same number of draws, so the
streams stay aligned across scenarios. Detection is independent across channels:

    P(detect) = 1 − (1 − surveillance_s)(1 − w_F · F_s)(1 − isr · min(1, P_Iraq/R))
                  · (1 − w_K · Σ_p w_{s,p} L_p(t))

A detected incident waits for a response unit of its sector (a SimPy ``Resource``), is
handled for a sampled time, and is interdicted with probability p₀ · exp(−wait / τ).
Undetected incidents succeed. Unit-busy time is integrated exactly for utilisation.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field

import simpy

from sim.config.schema import Scenario
from sim.model.durations import sampler
from sim.model.modulation import RateModulation
from sim.model.posture import Posture
from sim.model.signals import Signals
from sim.streams import BufferedDraws

OUTCOMES = ("interdicted", "missed", "undetected", "pending")
INTERDICTED, MISSED, UNDETECTED, PENDING = range(len(OUTCOMES))


@dataclass
class SectorState:
    """One sector's response units, incidents waiting for one, and the running integral of
    busy units."""

    name: str
    units: simpy.Resource
    handling: object
    waiting: int = 0
    busy: int = 0
    busy_area: float = 0.0
    last_change: float = 0.0

    def busy_until(self, now: float) -> float:
        """Unit-days of work done up to ``now``."""
        return self.busy_area + self.busy * (now - self.last_change)

    def change_busy(self, now: float, delta: int) -> None:
        self.busy_area = self.busy_until(now)
        self.last_change = now
        self.busy += delta


@dataclass
class IncidentLog:
    """Column buffers, one entry per incident (ids are row numbers)."""

    process: list[int] = field(default_factory=list)
    day: list[float] = field(default_factory=list)
    type: list[int] = field(default_factory=list)
    severity: list[float] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    cluster: list[int] = field(default_factory=list)
    detected: list[bool] = field(default_factory=list)
    response_start: list[float] = field(default_factory=list)
    response_end: list[float] = field(default_factory=list)
    outcome: list[int] = field(default_factory=list)


class BorderResponse:
    """Creates incidents for the processes and runs their detection and response."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        posture: Posture,
        modulation: RateModulation,
        signals: Signals,
        draws_for,
        before_change=None,
    ) -> None:
        """``before_change(sector, state, now)`` is told just before a sector's queue or busy
        units change (the recorder's hook)."""
        self.env = env
        self.before_change = before_change or (lambda sector, state, now: None)
        self.posture = posture
        self.modulation = modulation
        self.signals = signals
        self.draws_for = draws_for
        border = scenario.border
        default_handling = border.response.handling_days
        self.sectors = [
            SectorState(
                s.name,
                simpy.Resource(env, capacity=s.response_units),
                sampler(s.handling_days or default_handling),
            )
            for s in border.sectors
        ]
        self.sector_static = [
            (1.0 - s.surveillance) * (1.0 - border.detection.fortification_weight * s.fortification)
            for s in border.sectors
        ]
        self.detection = border.detection
        interdiction = border.response.interdiction
        self.interdict_p0 = interdiction.base_probability
        self.interdict_tau = interdiction.decay_days
        types = scenario.threats.incident_types
        self.type_names = [t.name for t in types]
        self.type_cumulative = [sum(t.share for t in types[: i + 1]) for i in range(len(types))]
        self.severity = [sampler(t.severity) for t in types]
        self.log = IncidentLog()
        self._streams: dict[str, tuple[BufferedDraws, BufferedDraws]] = {}
        self.process_index = {p.name: i for i, p in enumerate(scenario.threats.processes)}

    def detection_probability(self, sector: int, day: float) -> float:
        d = self.detection
        miss = self.sector_static[sector]
        if d.coalition_isr:
            presence = min(1.0, self.posture.in_iraq / d.coalition_reference_personnel)
            miss *= 1.0 - d.coalition_isr * presence
        if d.coordination_weight:
            miss *= 1.0 - d.coordination_weight * self.modulation.coordination_level(sector, day)
        return 1.0 - miss

    def emit(self, process, day: float, parent: int) -> int:
        """Record an incident of ``process`` at ``day``; return its id."""
        name = process.name
        if name not in self._streams:
            self._streams[name] = (
                self.draws_for(f"threat/{name}/marks"),
                self.draws_for(f"threat/{name}/response"),
            )
        marks, response = self._streams[name]
        cumulative = self.type_cumulative  # the first type whose cumulative share ≥ u
        kind = min(bisect_left(cumulative, marks.uniform()), len(cumulative) - 1)
        severity = self.severity[kind](marks.uniform())
        u_detect, u_handling, u_interdict = (
            response.uniform(),
            response.uniform(),
            response.uniform(),
        )
        sector = process.sector
        detected = u_detect < self.detection_probability(sector, day)

        log = self.log
        incident = len(log.day)
        log.process.append(self.process_index[name])
        log.day.append(day)
        log.type.append(kind)
        log.severity.append(severity)
        log.parent.append(parent)
        log.cluster.append(incident if parent < 0 else log.cluster[parent])
        log.detected.append(detected)
        log.response_start.append(math.nan)
        log.response_end.append(math.nan)
        log.outcome.append(PENDING if detected else UNDETECTED)
        if self.signals.counters:
            self.signals.observe(day, self.sectors[sector].name, process.actor)
        if detected:
            handling = self.sectors[sector].handling(u_handling)
            self.env.process(self._respond(incident, sector, handling, u_interdict))
        return incident

    def _respond(self, incident: int, sector: int, handling: float, u_interdict: float):
        state = self.sectors[sector]
        log, env, before_change = self.log, self.env, self.before_change
        before_change(sector, state, env.now)
        state.waiting += 1
        with state.units.request() as request:
            yield request
            now = env.now
            before_change(sector, state, now)
            state.waiting -= 1
            state.change_busy(now, +1)
            wait = now - log.day[incident]
            log.response_start[incident] = now
            yield env.timeout(handling)
            before_change(sector, state, env.now)
            state.change_busy(env.now, -1)
        log.response_end[incident] = env.now
        p = self.interdict_p0
        if self.interdict_tau is not None:
            p *= math.exp(-wait / self.interdict_tau)
        log.outcome[incident] = INTERDICTED if u_interdict < p else MISSED
