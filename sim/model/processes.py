"""Incident processes: homogeneous Poisson, time-varying Poisson, and Hawkes.

All three are simulated by thinning against a bound that holds over the whole horizon, so
the rate may depend on the live state of the model (force levels read at the candidate
time) and still be exact:

* ``poisson`` and ``nhpp`` — Lewis & Shedler (1979): candidates at rate λ̄, each kept
  with probability λ(t)/λ̄.
* ``hawkes`` — Ogata (1981): λ(t) = μ(t) + Σ α_i e^{−β(t − t_i)}, with the bound
  μ̄ + (excitation now), which only decays until the next incident. Each kept incident is
  attributed to the background or to one earlier incident with probability proportional to
  its share of λ(t), which gives the branching structure (parents, clusters) exactly in
  distribution. α_i = n(t_i) β, so the branching ratio n can change on dates.

Each process draws from its own named stream, so changing one process never moves another's
incidents unless they are coupled through the forces. The bound depends only on the
process's own definition and the presence effects (``RateModulation.upper_bound``), so
scenarios that differ in fortification, capacity or coordination thin the same candidates.

Each rate is written once over an ``Ops`` (``sim.model.ops``): thinning evaluates it at the
candidate incidents, the recorder over the record times (``ThreatProcesses.intensity_on``).
"""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import simpy
from simpy.events import ProcessGenerator

from sim.clock import to_day
from sim.config.schema import NHPP, Hawkes, IncidentSignal, Poisson, Scenario
from sim.model.border import DAYS_PER_YEAR, IncidentSource
from sim.model.modulation import RateModulation
from sim.model.ops import ARRAY, SCALAR, Ops, Values
from sim.model.signals import StepFunction
from sim.streams import BufferedDraws, Streams

NEGLIGIBLE_EXCITATION = 1e-12
BOUND_SLACK = 1.0 + 1e-9  # rounding allowed above the thinning bound


class IncidentSink(Protocol):
    """Where a process's incidents go (the border response): ``emit`` returns the id."""

    def emit(self, process: IncidentSource, day: float, parent: int) -> int: ...


@dataclass(frozen=True)
class ThreatSetting:
    """What every incident process of a world shares."""

    env: simpy.Environment
    modulation: RateModulation
    sink: IncidentSink
    horizon: float
    start: dt.date


def _unmodulated(day: float) -> float:
    return 1.0


def _over_bound(name: str, day: float, rate: float, bound: float) -> str:
    """Thinning is exact only below its bound: exceeding it is a bug in the bound."""
    return f"process '{name}': intensity {rate:g} above its thinning bound {bound:g} at day {day:g}"


def decayed(m: Ops, level: Values, beta: float, elapsed: Values) -> Values:
    """Excitation ``level`` left after ``elapsed`` days: level · e^{−β·elapsed}."""
    return level * m.exp(-beta * elapsed)


class IncidentProcess(ABC):
    """What every process shares: identity, modulation, and the thinning loop."""

    def __init__(
        self,
        *,
        spec: Poisson | NHPP | Hawkes,
        sector: int,
        draws: BufferedDraws,
        setting: ThreatSetting,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.sector = sector
        self.actor = spec.actor
        self.draws = draws
        self.env = setting.env
        self.horizon = setting.horizon
        self.sink = setting.sink
        self.modulation = setting.modulation if spec.modulated else None
        # M_s(day) with the live presence, bound once: it is read at every candidate incident
        self.factor_now: Callable[[float], float] = (
            _unmodulated if self.modulation is None else self.modulation.live_factor(sector)
        )
        self.rate_bound = self.prepare(setting.start)

    @abstractmethod
    def prepare(self, start: dt.date) -> float:
        """Build what the kind's rate needs; return its largest base rate over the horizon."""

    def modulation_bound(self) -> float:
        return 1.0 if self.modulation is None else self.modulation.upper_bound(self.sector)

    @abstractmethod
    def base_rate(self, m: Ops, day: Values) -> Values:
        """The rate before modulation (for Hawkes, the background rate)."""

    def rate(self, m: Ops, day: Values, factor: Values) -> Values:
        """λ₀(t) · M_s(t) given M_s there (1 for an unmodulated process)."""
        return self.base_rate(m, day) * factor

    def intensity(self, day: float) -> float:
        """λ(t) now, at ``day`` (the current time of the simulation)."""
        return self.rate(SCALAR, day, self.factor_now(day))

    def branching_ratio(self, day: float) -> float:
        """n(t): incidents each incident triggers on average (none but for Hawkes)."""
        return 0.0

    def expected_rate_at_start(self) -> float:
        """Incidents a day expected at the start with the initial posture: λ₀(0) · M_s(0),
        over 1 − n(0) for Hawkes (its stationary rate with the background then)."""
        return self.rate(SCALAR, 0.0, self.factor_now(0.0)) / (1.0 - self.branching_ratio(0.0))

    def intensity_on(self, days: np.ndarray, factor: np.ndarray) -> Values:
        """λ(t) at each of ``days`` after the run, given M_s there; for the recorder."""
        return self.rate(ARRAY, days, 1.0 if self.modulation is None else factor)

    def run(self) -> ProcessGenerator:
        """Lewis–Shedler thinning: used as is by the Poisson kinds."""
        bound = self.rate_bound * self.modulation_bound()
        if bound <= 0.0:
            return
        env, horizon, uniform, log = self.env, self.horizon, self.draws.uniform, math.log
        intensity, emit = self.intensity, self.sink.emit
        t = 0.0
        while True:
            t += -log(uniform()) / bound  # an Exp(1) draw by inversion: one stream for all
            if t >= horizon:
                return
            yield env.timeout(t - env.now)
            rate = intensity(t)
            if rate > bound * BOUND_SLACK:
                raise RuntimeError(_over_bound(self.name, t, rate, bound))
            if uniform() * bound <= rate:
                emit(self, t, -1)


class PoissonProcess(IncidentProcess):
    """λ(t) = λ0: a constant rate."""

    spec: Poisson

    def prepare(self, start: dt.date) -> float:
        return self.spec.rate_per_day

    def base_rate(self, m: Ops, day: Values) -> Values:
        return self.spec.rate_per_day


class NHPPProcess(IncidentProcess):
    """λ(t) = λ0 · max(0, 1 + trend · t/365.25) · (1 + A cos(2π (t − peak)/P)) · step(t)."""

    spec: NHPP

    def prepare(self, start: dt.date) -> float:
        s = self.spec
        self.steps = StepFunction(s.steps, start) if s.steps else None
        self.peak = to_day(s.seasonal_peak_date or start, start)
        trend_max = max(self.trend(SCALAR, 0.0), self.trend(SCALAR, self.horizon))
        step_max = self.steps.max_on(self.horizon) if self.steps else 1.0
        return s.rate_per_day * trend_max * (1.0 + s.seasonal_amplitude) * step_max

    def trend(self, m: Ops, day: Values) -> Values:
        return m.maximum(0.0, 1.0 + self.spec.trend_per_year * day / DAYS_PER_YEAR)

    def base_rate(self, m: Ops, day: Values) -> Values:
        s = self.spec
        rate = s.rate_per_day * self.trend(m, day)
        if s.seasonal_amplitude:
            phase = 2.0 * math.pi * (day - self.peak) / s.seasonal_period_days
            rate = rate * (1.0 + s.seasonal_amplitude * m.cos(phase))
        if self.steps is not None:
            rate = rate * m.step(self.steps, day)
        return rate


class HawkesProcess(IncidentProcess):
    """Self-exciting incidents with an exponential kernel, by Ogata's thinning."""

    spec: Hawkes

    def prepare(self, start: dt.date) -> float:
        s = self.spec
        self.beta = s.decay_per_day
        self.background_steps = (
            StepFunction(s.background_steps, start) if s.background_steps else None
        )
        self.branching_steps = StepFunction(s.branching_steps, start) if s.branching_steps else None
        self.excitation = 0.0  # Σ α_i e^{−β(t − t_i)} at time self.last
        self.last = 0.0
        # (time, α, incident id) of incidents whose excitation is not yet negligible, oldest
        # first; pruned from the front as they fade, so each incident costs O(1) to keep
        self.recent: deque[tuple[float, float, int]] = deque()
        self.kept_days: list[float] = []  # every incident, and the excitation just after it
        self.kept_excitation: list[float] = []
        step_max = self.background_steps.max_on(self.horizon) if self.background_steps else 1.0
        return s.background_rate_per_day * step_max

    def base_rate(self, m: Ops, day: Values) -> Values:
        rate = self.spec.background_rate_per_day
        if self.background_steps is not None:
            rate = rate * m.step(self.background_steps, day)
        return rate

    def branching_ratio(self, day: float) -> float:
        if self.branching_steps is not None:
            return self.branching_steps(day)
        return self.spec.branching_ratio

    def intensity(self, day: float) -> float:
        """Background now plus the excitation left since the last incident."""
        return super().intensity(day) + decayed(SCALAR, self.excitation, self.beta, day - self.last)

    def intensity_on(self, days: np.ndarray, factor: np.ndarray) -> Values:
        """Background plus the excitation left by incidents strictly before each day."""
        last = np.searchsorted(self.kept_days, days, side="left") - 1
        seen = last >= 0
        excitation = np.zeros(len(days))
        if seen.any():
            before = last[seen]
            elapsed = days[seen] - np.asarray(self.kept_days)[before]
            excitation[seen] = decayed(
                ARRAY, np.asarray(self.kept_excitation)[before], self.beta, elapsed
            )
        return super().intensity_on(days, factor) + excitation

    def run(self) -> ProcessGenerator:
        background_bound = self.rate_bound * self.modulation_bound()
        env, beta, horizon, log = self.env, self.beta, self.horizon, math.log
        uniform, rate_at, factor = self.draws.uniform, self.rate, self.factor_now
        t = 0.0
        excitation = 0.0  # the excitation at t: after a rejection it only decays
        while True:
            bound = background_bound + excitation
            if bound <= 0.0:
                return
            t += -log(uniform()) / bound  # an Exp(1) draw by inversion: one stream for all
            if t >= horizon:
                return
            yield env.timeout(t - env.now)
            background = rate_at(SCALAR, t, factor(t))
            excitation = decayed(SCALAR, self.excitation, beta, t - self.last)
            rate = background + excitation
            if rate > bound * BOUND_SLACK:
                raise RuntimeError(_over_bound(self.name, t, rate, bound))
            if uniform() * bound > rate:
                continue
            parent = self._attribute(t, background, rate, uniform())
            excitation = self._keep(t, self.sink.emit(self, t, parent), excitation)

    def _keep(self, t: float, incident: int, excitation: float) -> float:
        """Add the excitation of the incident just kept at ``t``; return the new total."""
        alpha = self.branching_ratio(t) * self.beta
        self.excitation = excitation + alpha
        self.last = t
        self.recent.append((t, alpha, incident))
        self.kept_days.append(t)
        self.kept_excitation.append(self.excitation)
        return self.excitation

    def _attribute(self, t: float, background: float, rate: float, u: float) -> int:
        """The parent of an incident at ``t``: -1 for the background, else an incident id."""
        target = u * rate
        if target < background:
            return -1
        target -= background
        beta, recent = self.beta, self.recent
        while (
            recent
            and decayed(SCALAR, recent[0][1], beta, t - recent[0][0]) <= NEGLIGIBLE_EXCITATION
        ):
            recent.popleft()
        for when, alpha, incident in reversed(recent):  # the newest carry most excitation
            target -= decayed(SCALAR, alpha, beta, t - when)
            if target <= 0.0:
                return incident
        return recent[0][2] if recent else -1


KINDS: dict[str, type[IncidentProcess]] = {
    "poisson": PoissonProcess,
    "nhpp": NHPPProcess,
    "hawkes": HawkesProcess,
}


class ThreatProcesses:
    """The scenario's incident processes: their SimPy processes, and their intensities."""

    def __init__(
        self,
        *,
        scenario: Scenario,
        env: simpy.Environment,
        modulation: RateModulation,
        sink: IncidentSink,
        streams: Streams,
    ) -> None:
        setting = ThreatSetting(
            env, modulation, sink, scenario.horizon_days, scenario.clock.start_date
        )
        sector_index = {s.name: i for i, s in enumerate(scenario.border.sectors)}
        self.sectors = len(sector_index)
        self.sector_names = list(sector_index)
        self.modulation = modulation
        self.members: list[IncidentProcess] = [
            KINDS[spec.kind](
                spec=spec,
                sector=sector_index[spec.sector],
                draws=streams.buffered(f"threat/{spec.name}/arrivals"),
                setting=setting,
            )
            for spec in scenario.threats.processes
        ]

    def processes(self) -> list[ProcessGenerator]:
        """One thinning loop per incident process, in the scenario's order."""
        return [process.run() for process in self.members]

    def expected_count(self, signal: IncidentSignal) -> float:
        """What an incidents signal is expected to count at the start: its window times the
        expected rate at the start of every process it counts (docs/model.md §3.6)."""
        sectors, actors = set(signal.sectors), set(signal.actors)
        return signal.window_days * sum(
            p.expected_rate_at_start()
            for p in self.members
            if (not sectors or self.sector_names[p.sector] in sectors)
            and (not actors or p.actor in actors)
        )

    def intensity_on(self, days: np.ndarray) -> np.ndarray:
        """Σ λ(t) over each sector's processes at each of ``days``: (day, sector)."""
        presence = self.modulation.presence_at(days)
        total = np.zeros((len(days), self.sectors))
        for s in range(self.sectors):
            factor = self.modulation.factor(ARRAY, s, presence, days)
            for process in self.members:
                if process.sector == s:
                    total[:, s] += process.intensity_on(days, factor)
        return total
