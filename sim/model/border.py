"""The border: incidents, their detection, and the Iraqi response units of each sector.

Every incident draws its marks (type, severity), its response (detection, handling time,
interdiction) and, with a geography, its place along the border (``sim.model.placement``)
from streams of its own process, always the same number of draws, so the streams stay
aligned across scenarios. Detection is independent across channels:

    P(detect) = 1 − (1 − surveillance_s)(1 − w_F · F_s(t)) · ISR_s(t)
                  · (1 − w_K · Σ_p w_{s,p} L_p(t))

where the ISR channel misses with ISR_s(t) = 1 − isr · min(1, P_Iraq/R) (headcount), or
Π_a (1 − d_a)^{count_a(t)} over the assets in range (``sim.model.surveillance``).

A detected incident waits for a response unit of its sector (a SimPy ``Resource``), is
handled for a sampled time, and is interdicted with probability p₀ · exp(−wait / τ).
Undetected incidents succeed. Unit-busy time is integrated exactly for utilisation.

The border keeps the incident log and records it as the ``incidents`` table, with the KPIs
counted from it (``record``), incidents per 100 km and year among them: a new column of
that table is one more entry of ``IncidentLog`` filled in ``emit`` or ``_respond``, one more
line in ``record``, and its entry in ``sim.tables.SCHEMA``.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import simpy
from simpy.events import ProcessGenerator

from sim.clock import to_dates
from sim.config.schema import Scenario, Sector
from sim.model.durations import sampler
from sim.model.events import EventIds
from sim.model.geometry import Geometry
from sim.model.hooks import Hook
from sim.model.modulation import RateModulation
from sim.model.ops import Values
from sim.model.placement import SectorPlacement
from sim.model.posture import Posture
from sim.model.results import Results
from sim.model.signals import StepFunction
from sim.model.surveillance import Surveillance
from sim.streams import BufferedDraws, Streams
from sim.tables import PER_SECTOR, Columns, Labels

DAYS_PER_YEAR = 365.25
OUTCOMES = ("interdicted", "missed", "undetected", "pending")
INTERDICTED, MISSED, UNDETECTED, PENDING = range(len(OUTCOMES))


class IncidentSource(Protocol):
    """What the border needs to know of the process an incident comes from."""

    name: str
    sector: int | None
    actor: str


@dataclass
class SectorState:
    """One sector's response units, incidents waiting for one, and the running integral of
    busy units."""

    name: str
    units: simpy.Resource
    handling: Callable[[float], float]
    waiting: int = 0
    busy: int = 0
    busy_area: float = 0.0
    last_change: float = 0.0

    def busy_until(self, now: Values) -> Values:
        """Unit-days of work done up to ``now`` (or up to each of the record times)."""
        return self.busy_area + self.busy * (now - self.last_change)

    def change_busy(self, now: float, delta: int) -> None:
        self.busy_area = self.busy_until(now)
        self.last_change = now
        self.busy += delta


@dataclass
class IncidentLog:
    """Column buffers, one entry per incident (ids from the replication's ``EventIds``)."""

    incident: list[int] = field(default_factory=list)
    process: list[int] = field(default_factory=list)
    sector: list[int] = field(default_factory=list)
    displaced: list[bool] = field(default_factory=list)
    day: list[float] = field(default_factory=list)
    type: list[int] = field(default_factory=list)
    severity: list[float] = field(default_factory=list)
    parent: list[int] = field(default_factory=list)
    cluster: list[int] = field(default_factory=list)
    detected: list[bool] = field(default_factory=list)
    response_start: list[float] = field(default_factory=list)
    response_end: list[float] = field(default_factory=list)
    outcome: list[int] = field(default_factory=list)
    border_km: list[float] = field(default_factory=list)


class BorderResponse:
    """Creates incidents for the processes and runs their detection and response.

    Hooks: ``sector_changing(sector, now)`` just before a sector's queue or busy units change
    (the sector recorder fills its records then); ``occurred(day, sector, actor)`` at every
    incident, detected or not (the signals count them)."""

    def __init__(
        self,
        *,
        scenario: Scenario,
        env: simpy.Environment,
        posture: Posture,
        modulation: RateModulation,
        surveillance: Surveillance,
        geometry: Geometry,
        streams: Streams,
        ids: EventIds,
    ) -> None:
        self.env = env
        self.ids = ids
        self.posture = posture
        self.modulation = modulation
        self.surveillance = surveillance
        self.geometry = geometry
        self.streams = streams
        self.start = scenario.clock.start_date
        self.horizon = scenario.horizon_days
        self.sector_changing: Hook[[int, float]] = Hook("sector_changing")
        self.occurred: Hook[[float, str, str]] = Hook("occurred")
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
        weight, breaks = border.detection.fortification_weight, modulation.breaks
        self.sector_static = [  # (1 − v_s)(1 − w_F · F_s(t)), constant between the breaks
            StepFunction.from_points(
                breaks, [(1.0 - s.surveillance) * (1.0 - weight * fortified(d)) for d in breaks]
            )
            for s, fortified in zip(border.sectors, modulation.fortified, strict=True)
        ]
        self.placements = placements(border.sectors, geometry)
        self.detection = border.detection
        interdiction = border.response.interdiction
        self.interdict_p0 = interdiction.base_probability
        self.interdict_tau = interdiction.decay_days
        types = scenario.threats.incident_types
        self.type_names = tuple(t.name for t in types)
        self.type_cumulative = [sum(t.share for t in types[: i + 1]) for i in range(len(types))]
        self.severity = [sampler(t.severity) for t in types]
        self.log = IncidentLog()
        self._streams: dict[str, tuple[BufferedDraws, BufferedDraws, BufferedDraws | None]] = {}
        processes = scenario.threats.processes
        self.process_index = {p.name: i for i, p in enumerate(processes)}
        self.process_names = tuple(p.name for p in processes)
        self.process_actor = Labels.of([p.actor for p in processes])

    def detection_probability(self, sector: int, day: float) -> float:
        d = self.detection
        miss = self.sector_static[sector](day)
        if d.coalition_isr:
            presence = min(1.0, self.posture.in_iraq / d.coalition_reference_personnel)
            miss *= 1.0 - d.coalition_isr * presence
        elif d.isr_assets:
            miss *= self.surveillance.miss[sector]
        if d.coordination_weight:
            miss *= 1.0 - d.coordination_weight * self.modulation.coordination[sector](day)
        return 1.0 - miss

    def _draws(self, process: str) -> tuple[BufferedDraws, BufferedDraws, BufferedDraws | None]:
        """The process's marks, response and place streams, made at its first incident (no
        place stream without a geography: nothing is drawn then)."""
        if process not in self._streams:
            self._streams[process] = (
                self.streams.buffered(f"threat/{process}/marks"),
                self.streams.buffered(f"threat/{process}/response"),
                self.streams.buffered(f"threat/{process}/place") if self.placements else None,
            )
        return self._streams[process]

    def emit(self, process: IncidentSource, day: float, parent: int) -> int:
        """Record an incident of ``process`` at ``day`` in its sector; return its id."""
        assert process.sector is not None  # processes at places go to the activity log
        return self._incident(process, day, parent, process.sector, process.name)

    def emit_displaced(self, process: IncidentSource, day: float, sector: int) -> int:
        """Record an attempt of ``process`` displaced to ``sector`` (marks, response and
        place from the process's ``displaced`` streams); return its id."""
        return self._incident(process, day, -1, sector, f"{process.name}/displaced")

    def _incident(
        self, process: IncidentSource, day: float, parent: int, sector: int, streams: str
    ) -> int:
        marks, response, place = self._draws(streams)
        cumulative = self.type_cumulative  # the first type whose cumulative share ≥ u
        kind = min(bisect_left(cumulative, marks.uniform()), len(cumulative) - 1)
        severity = self.severity[kind](marks.uniform())
        u_detect, u_handling, u_interdict = (
            response.uniform(),
            response.uniform(),
            response.uniform(),
        )
        detected = u_detect < self.detection_probability(sector, day)
        if place is None:
            km = math.nan
        else:
            km = self.placements[sector].km(place.uniform(), place.uniform())

        log = self.log
        row = len(log.day)
        incident, cluster = self.ids.new(parent)
        log.incident.append(incident)
        log.process.append(self.process_index[process.name])
        log.sector.append(sector)
        log.displaced.append(streams != process.name)
        log.day.append(day)
        log.type.append(kind)
        log.severity.append(severity)
        log.parent.append(parent)
        log.cluster.append(cluster)
        log.detected.append(detected)
        log.response_start.append(math.nan)
        log.response_end.append(math.nan)
        log.outcome.append(PENDING if detected else UNDETECTED)
        log.border_km.append(km)
        self.occurred.announce(day, self.sectors[sector].name, process.actor)
        if detected:
            handling = self.sectors[sector].handling(u_handling)
            self.env.process(self._respond(row, sector, handling, u_interdict))
        return incident

    def _respond(
        self, row: int, sector: int, handling: float, u_interdict: float
    ) -> ProcessGenerator:
        state = self.sectors[sector]
        log, env, changing = self.log, self.env, self.sector_changing.announce
        changing(sector, env.now)
        state.waiting += 1
        with state.units.request() as request:
            yield request
            now = env.now
            changing(sector, now)
            state.waiting -= 1
            state.change_busy(now, +1)
            wait = now - log.day[row]
            log.response_start[row] = now
            yield env.timeout(handling)
            changing(sector, env.now)
            state.change_busy(env.now, -1)
        log.response_end[row] = env.now
        p = self.interdict_p0
        if self.interdict_tau is not None:
            p *= math.exp(-wait / self.interdict_tau)
        log.outcome[row] = INTERDICTED if u_interdict < p else MISSED

    def record(self, results: Results) -> None:
        """The ``incidents`` table, and the KPIs counted from it."""
        log = self.log
        process = np.asarray(log.process, np.int64)
        day = np.asarray(log.day, float)
        start = np.asarray(log.response_start, float)
        sector_names = tuple(s.name for s in self.sectors)
        incidents: Columns = {
            "incident": np.asarray(log.incident, np.int64),
            "process": Labels(process, self.process_names),
            "sector": Labels(np.asarray(log.sector, np.int64), sector_names),
            "displaced": np.asarray(log.displaced, bool),
            "actor": Labels(self.process_actor.codes[process], self.process_actor.names),
            "type": Labels(np.asarray(log.type, np.int64), self.type_names),
            "day": day,
            "date": to_dates(day, self.start),
            "severity": np.asarray(log.severity, float),
            "parent": np.asarray(log.parent, np.int64),
            "cluster": np.asarray(log.cluster, np.int64),
            "detected": np.asarray(log.detected, bool),
            "response_start_day": start,
            "response_end_day": np.asarray(log.response_end, float),
            "wait_days": start - day,
            "outcome": Labels(np.asarray(log.outcome, np.int64), OUTCOMES),
            **self._positions(np.asarray(log.border_km, float)),
        }
        results.add_table("incidents", incidents)
        results.add_kpis(incident_kpis(incidents, self.horizon))
        results.add_kpis(per_100km_year(incidents["sector"], self.geometry.lengths, self.horizon))

    def _positions(self, border_km: np.ndarray) -> Columns:
        """Km along the border and the latitude and longitude there (NaN without a line)."""
        line = self.geometry.line
        if line is None or not len(border_km):
            return {"border_km": border_km, "latitude": border_km, "longitude": border_km}
        latitude, longitude = line.at(border_km)
        return {"border_km": border_km, "latitude": latitude, "longitude": longitude}


def _mean_or_nan(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else math.nan


def placements(sectors: list[Sector], geometry: Geometry) -> list[SectorPlacement]:
    """Where each sector's incidents may happen; none without a geography (no place then)."""
    if geometry.line is None:
        return []
    return [
        SectorPlacement.of(sector, span)
        for sector, span in zip(sectors, geometry.spans, strict=True)
    ]


def per_100km_year(sector: Labels, lengths: list[float], horizon: float) -> dict[str, float]:
    """Incidents per 100 km of border and per year: over all sectors (their total length),
    and one column per sector (its own length)."""
    years = horizon / DAYS_PER_YEAR
    counts = np.bincount(sector.codes, minlength=len(sector.names))
    kpis = {"incidents_per_100km_year": len(sector) / (sum(lengths) / 100.0) / years}
    for name, count, length in zip(sector.names, counts, lengths, strict=True):
        kpis[PER_SECTOR + name] = int(count) / (length / 100.0) / years
    return kpis


WEEK_DAYS, MONTH_DAYS = 7.0, 30.0  # the peak windows' widths


def incident_kpis(incidents: Columns, horizon: float) -> dict[str, float]:
    """Counts by outcome, interdiction, clustering, severity, waits and peak windows of one
    replication that ran to ``horizon`` (T: waits still running then are censored there)."""
    outcome = incidents["outcome"]
    severity = incidents["severity"]
    day = incidents["day"]
    started = ~np.isnan(incidents["wait_days"])
    waits = incidents["wait_days"][started]
    waiting = incidents["detected"] & np.isnan(incidents["response_start_day"])
    interdicted = outcome.equals("interdicted")
    unstopped = outcome.equals("missed") | outcome.equals("undetected")
    return {
        "incidents": len(outcome),
        "interdicted": int(interdicted.sum()),
        "missed": int(outcome.equals("missed").sum()),
        "undetected": int(outcome.equals("undetected").sum()),
        "interdiction_rate": _mean_or_nan(interdicted),
        "triggered_fraction": _mean_or_nan(incidents["parent"] != -1),
        "displaced": int(incidents["displaced"].sum()),
        "severity_total": float(severity.sum()),
        "severity_unstopped": float(severity[unstopped].sum()),
        "mean_wait_days": _mean_or_nan(waits),
        "waiting_at_horizon": int(waiting.sum()),
        "mean_wait_censored_days": restricted_mean_wait(waits, horizon - day[waiting]),
        "peak_week_incidents": peak_window_count(day, WEEK_DAYS),
        "worst_30d_incidents": peak_window_count(day, MONTH_DAYS),
    }


def restricted_mean_wait(observed: np.ndarray, censored: np.ndarray) -> float:
    """The Kaplan–Meier restricted mean of waits ``observed`` in full and waits ``censored``
    on the right (still running at T, so at least T − day): ∫ S(t) dt from 0 to the longest
    wait seen, observed or censored (a lower bound of the mean when that one is censored).
    Without censored waits this is the plain mean; NaN without any wait at all.

    S is scipy's Kaplan–Meier estimate (``scipy.stats.ecdf``), a right-continuous step
    function, so the integral is exact: S at each step's start times the step's length.
    scipy.stats is imported only when a wait is censored (0.6 s once a process): without
    censoring the estimate is the plain mean, computed as such."""
    if not len(censored):
        return _mean_or_nan(observed)
    from scipy.stats import CensoredData, ecdf

    survival = ecdf(CensoredData(uncensored=observed, right=censored)).sf
    steps = np.unique(np.concatenate([[0.0], observed, censored]))
    return float(np.sum(survival.evaluate(steps[:-1]) * np.diff(steps)))


def peak_window_count(times: np.ndarray, width: float) -> int:
    """The most of ``times`` in any window [t, t + width): the busiest window starts at one
    of the times, so it is the largest count of times from each sorted time on (0 if none)."""
    if not len(times):
        return 0
    ordered = np.sort(times)
    ends = np.searchsorted(ordered, ordered + width, side="left")
    return int((ends - np.arange(len(ordered))).max())
