"""Incident processes: homogeneous Poisson, time-varying Poisson, and Hawkes, which may
excite each other (a multivariate Hawkes process).

All are simulated by thinning against a bound, so the rate may depend on the live state of
the model (force levels read at the candidate time) and still be exact:

* ``poisson`` and ``nhpp`` — Lewis & Shedler (1979): candidates at rate λ̄, each kept
  with probability λ(t)/λ̄.
* ``hawkes`` — Ogata (1981): λ_j(t) = μ_j(t) + Σ over the events i that excite j of
  n_{ij}(t_i) φ_{ij}(t − t_i), each kernel φ a sum of exponentials, with the bound μ̄_j +
  (excitation now). The excitation only decays until the next event that excites j: one of
  j's own, drawn in j's loop, or one of another process, which interrupts j's wait so that
  it redraws its next candidate from that instant under the raised bound (exact by the
  memorylessness of the candidates). Each kept event is attributed to the background or to
  one earlier event, of any process, with probability proportional to its share of λ(t)
  (``sim.model.excitation``), which gives the branching structure exactly in distribution.

A process is at a border sector (its incidents go to the border's response) or at a place
(Syrian-side activity, recorded and answered by nobody). Each draws from its own named
streams, so changing one process never moves another's incidents unless they are coupled
through the forces or the excitation. The bound depends only on the process's definition,
the presence effects and its shocks' background multipliers, so scenarios that differ in
fortification, capacity or coordination thin the same candidates.

**Stationary start.** Hawkes processes start in steady state by default: every process of
the excitation graph is first run through a burn-in of ``W`` days before the start, on a
SimPy environment of its own, with its rates held at their values at the start and its own
``burn_in`` stream; only the excitation left at the start is kept (docs/model.md §4.5).

Each rate is written once over an ``Ops`` (``sim.model.ops``): thinning evaluates it at the
candidate events, the recorder over the record times (``ThreatProcesses.intensity_on``).
"""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import simpy
from simpy.events import ProcessGenerator

from sim.branching import stationary_rates
from sim.clock import to_day
from sim.config.excitation import burn_in_days, components, kernel_terms
from sim.config.schema import NHPP, Hawkes, IncidentSignal, Kernel, Poisson, Scenario
from sim.model.border import DAYS_PER_YEAR
from sim.model.displacement import Displacement
from sim.model.excitation import BEFORE_START, Excitation, ExcitationTerm
from sim.model.modulation import RateModulation
from sim.model.ops import ARRAY, SCALAR, Ops, Values
from sim.model.shocks import ShockState
from sim.model.signals import StepFunction
from sim.streams import Streams

BOUND_SLACK = 1.0 + 1e-9  # rounding allowed above the thinning bound
# A Hawkes process excited by others keeps room in its bound for this many of their events
# (their largest jump each): a weak link then rarely interrupts it (``HawkesProcess.excite``),
# at the price of a few more rejected candidates. The room is at most the process's own
# background bound, so it at most doubles its candidates.
HEADROOM_EVENTS = 2.0


class EventSink(Protocol):
    """Where a process's events go (the border response, or the activity log): ``emit``
    returns the event's id."""

    def emit(self, process: IncidentProcess, day: float, parent: int) -> int: ...


@dataclass(frozen=True)
class ThreatSetting:
    """What every incident process of a world shares."""

    modulation: RateModulation
    border: EventSink
    activity: EventSink
    displacement: Displacement | None
    horizon: float
    start: dt.date
    streams: Streams


@dataclass(frozen=True)
class Stage:
    """A stretch of simulated time: the run [0, T), or the burn-in [−W, 0) before it, on an
    environment of its own with the rates held at their values at day 0."""

    env: simpy.Environment
    begin: float
    end: float
    burn_in: bool

    @property
    def offset(self) -> float:
        """The environment's clock minus the model's day."""
        return -self.begin if self.burn_in else 0.0


def _unmodulated(day: float) -> float:
    return 1.0


def _over_bound(name: str, day: float, rate: float, bound: float) -> str:
    """Thinning is exact only below its bound: exceeding it is a bug in the bound."""
    return f"process '{name}': intensity {rate:g} above its thinning bound {bound:g} at day {day:g}"


@dataclass(slots=True)
class Link:
    """An edge of the excitation graph seen from its source: each event adds
    n · share · β to the target's term of decay β (``ratio`` None: the target's own n(t))."""

    target: HawkesProcess
    ratio: float | None
    weights: list[tuple[ExcitationTerm, float]]


class IncidentProcess(ABC):
    """What every process shares: identity, modulation, shocks, links and thinning."""

    def __init__(
        self,
        *,
        spec: Poisson | NHPP | Hawkes,
        sector: int | None,
        setting: ThreatSetting,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.sector = sector
        self.place = spec.place
        self.actor = spec.actor
        self.streams = setting.streams
        self.draws = setting.streams.buffered(f"threat/{spec.name}/arrivals")
        self.horizon = setting.horizon
        self.sink = setting.border if sector is not None else setting.activity
        self.displacement = setting.displacement if sector is not None else None
        modulation = setting.modulation if spec.modulated else None
        self.modulation = modulation
        # M(day) with the live presence, bound once: it is read at every candidate event
        self.factor_now: Callable[[float], float] = _unmodulated
        self.undeterred_now: Callable[[float], float] = _unmodulated
        if modulation is not None:
            self.factor_now = modulation.live_factor(sector, spec.place)
            self.undeterred_now = modulation.live_factor(sector, spec.place, deterred=False)
        self.shocks: list[ShockState] = []  # those that raise this process's background
        self.links: list[Link] = []  # the processes this one's events excite
        self.rate_bound = self.prepare(setting.start)

    @abstractmethod
    def prepare(self, start: dt.date) -> float:
        """Build what the kind's rate needs; return its largest base rate over the horizon."""

    def thinning_bound(self) -> float:
        """The bound of the (background) rate over the horizon, whatever the forces do."""
        presence = 1.0
        if self.modulation is not None:
            presence = self.modulation.upper_bound(self.sector, self.place)
        raised = math.prod(max(1.0, s.spec.background_multiplier) for s in self.shocks)
        return self.rate_bound * presence * raised

    @abstractmethod
    def base_rate(self, m: Ops, day: Values) -> Values:
        """The rate before modulation and shocks (for Hawkes, the background rate)."""

    def rate(self, m: Ops, day: Values, factor: Values) -> Values:
        """λ₀(t) · M(t) · Π shocks, given M there (1 for an unmodulated process)."""
        rate = self.base_rate(m, day) * factor
        for shock in self.shocks:
            rate = rate * shock.multiplier(m, day, shock.spec.background_multiplier)
        return rate

    def steady_rate(self) -> float:
        """The (background) rate the burn-in holds: at day 0 without any shock (a shock is an
        event of the run, not of the steady state before it)."""
        return self.base_rate(SCALAR, 0.0) * self.factor_now(0.0)

    def rate_now(self, day: float) -> float:
        """The (background) rate at ``day``, the current time of the simulation."""
        return self.rate(SCALAR, day, self.factor_now(day))

    def intensity(self, day: float) -> float:
        """λ(t) now, at ``day`` (the current time of the simulation)."""
        return self.rate_now(day)

    def deterred_now(self, day: float) -> float:
        """The part of the (background) rate that the sector's fortification deters now."""
        return self.rate(SCALAR, day, self.undeterred_now(day)) - self.rate_now(day)

    def branching_ratio(self, day: float) -> float:
        """n(t): events each event triggers in this process on average (none but Hawkes)."""
        return 0.0

    def background_at_start(self) -> float:
        """λ₀(0) · M(0) · shocks(0): the background with the initial posture."""
        return self.rate_now(0.0)

    def intensity_on(self, days: np.ndarray, factor: np.ndarray) -> Values:
        """λ(t) at each of ``days`` after the run, given M there; for the recorder."""
        return self.rate(ARRAY, days, 1.0 if self.modulation is None else factor)

    def uniforms(self, stage: Stage) -> Callable[[], float]:
        """The stream the stage draws from: arrivals in the run, its own in the burn-in."""
        if stage.burn_in:
            return self.streams.buffered(f"threat/{self.name}/burn_in").uniform
        return self.draws.uniform

    def occur(self, day: float, parent: int, stage: Stage) -> None:
        """An event at ``day``: recorded in the run, then felt by every process it excites."""
        event = BEFORE_START if stage.burn_in else self.sink.emit(self, day, parent)
        at = None if stage.burn_in else day  # where the branching ratios are read
        for link in self.links:
            link.target.excite(day, at, link, event, self)

    def run(self, stage: Stage) -> ProcessGenerator:
        """Lewis–Shedler thinning: used as is by the Poisson kinds."""
        bound = self.thinning_bound()
        if bound <= 0.0:
            return
        env, end, offset, log = stage.env, stage.end, stage.offset, math.log
        uniform, frozen = self.uniforms(stage), stage.burn_in
        displacing = self.displacement is not None and not frozen
        t = stage.begin
        while True:
            t += -log(uniform()) / bound  # an Exp(1) draw by inversion: one stream for all
            if t >= end:
                return
            yield env.timeout(t + offset - env.now)
            rate = self.steady_rate() if frozen else self.rate_now(t)
            if rate > bound * BOUND_SLACK:
                raise RuntimeError(_over_bound(self.name, t, rate, bound))
            u = uniform() * bound
            if u <= rate:
                self.occur(t, -1, stage)
            elif displacing and u <= rate + self.deterred_now(t):
                self.displacement.deterred(self, t)


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
    """Excited by its own events and by those of the processes linked to it, by Ogata's
    thinning; another process's event interrupts its wait (see the module docstring)."""

    spec: Hawkes

    def prepare(self, start: dt.date) -> float:
        s = self.spec
        self.background_steps = (
            StepFunction(s.background_steps, start) if s.background_steps else None
        )
        self.branching_steps = StepFunction(s.branching_steps, start) if s.branching_steps else None
        self.excitation = Excitation()
        self.raising: list[ShockState] = []  # shocks on its incoming branching ratios
        self.excited_by_others = False
        self.headroom = 0.0  # kept in the bound for other processes' events (``excite``)
        self.slack = 0.0  # what is left of it since the bound was drawn
        self.proc: simpy.Process | None = None  # its SimPy process in the current stage
        self.interrupting = False
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

    def branching_factor(self, day: float) -> float:
        """Π over the shocks on this process of their branching multiplier at ``day``."""
        factor = 1.0
        for shock in self.raising:
            factor *= shock.multiplier(SCALAR, day, shock.spec.branching_multiplier)
        return factor

    def excite(self, day: float, at: float | None, link: Link, event: int, source: object) -> None:
        """An event ``event`` at ``day`` of ``source`` feeds this process through ``link``
        (ratios read at ``at``; None in the burn-in: at the start, without shocks). Another
        process's event uses up the headroom its bound keeps; once that is gone, the wait is
        interrupted and the bound recomputed."""
        n = self.branching_ratio(at or 0.0) if link.ratio is None else link.ratio
        if at is not None:
            n *= self.branching_factor(at)
        added = 0.0
        for term, weight in link.weights:
            term.add(day, n * weight, event)
            added += n * weight
        if source is self:
            return
        self.slack -= added
        proc = self.proc
        if self.slack < 0.0 and proc is not None and not self.interrupting and proc.is_alive:
            self.interrupting = True
            proc.interrupt()

    def intensity(self, day: float) -> float:
        """Background now plus the excitation left by the events before."""
        return self.rate_now(day) + self.excitation.at(day)

    def intensity_on(self, days: np.ndarray, factor: np.ndarray) -> Values:
        """Background plus the excitation left by events strictly before each day."""
        return super().intensity_on(days, factor) + self.excitation.on(days)

    def run(self, stage: Stage) -> ProcessGenerator:
        background_bound = self.thinning_bound()
        env, end, offset, log = stage.env, stage.end, stage.offset, math.log
        uniform, frozen, excitation = self.uniforms(stage), stage.burn_in, self.excitation
        displacing = self.displacement is not None and not frozen
        self.proc, self.interrupting = env.active_process, False
        t = stage.begin
        headroom = self.headroom
        while True:
            bound = background_bound + excitation.at(t) + headroom
            self.slack = headroom
            candidate = t - log(uniform()) / bound if bound > 0.0 else math.inf
            try:
                if candidate < end:
                    yield env.timeout(candidate + offset - env.now)
                elif self.excited_by_others:
                    yield env.event()  # nothing more unless another process excites it
                else:
                    return
            except simpy.Interrupt:
                self.interrupting = False
                t = env.now - offset
                continue
            t = candidate
            background = self.steady_rate() if frozen else self.rate_now(t)
            rate = background + excitation.at(t)
            if rate > bound * BOUND_SLACK:
                raise RuntimeError(_over_bound(self.name, t, rate, bound))
            u = uniform() * bound
            if u <= rate:
                parent = -1
                if not frozen:
                    target = uniform() * rate
                    if target >= background:
                        parent = excitation.parent(t, target - background)
                self.occur(t, parent, stage)
            elif displacing and u <= rate + self.deterred_now(t):
                self.displacement.deterred(self, t)


KINDS: dict[str, type[IncidentProcess]] = {
    "poisson": PoissonProcess,
    "nhpp": NHPPProcess,
    "hawkes": HawkesProcess,
}


class ThreatProcesses:
    """The scenario's incident processes, linked into their excitation graph, with their
    shocks; their SimPy processes (after a burn-in), and their intensities."""

    def __init__(
        self,
        *,
        scenario: Scenario,
        env: simpy.Environment,
        setting: ThreatSetting,
        shocks: list[ShockState],
    ) -> None:
        threats = scenario.threats
        self.env = env
        self.horizon = setting.horizon
        sector_index = {s.name: i for i, s in enumerate(scenario.border.sectors)}
        self.sectors = len(sector_index)
        self.sector_names = list(sector_index)
        self.modulation = setting.modulation
        self.displacement = setting.displacement
        self.members: list[IncidentProcess] = [
            KINDS[spec.kind](
                spec=spec,
                sector=None if spec.sector is None else sector_index[spec.sector],
                setting=setting,
            )
            for spec in threats.processes
        ]
        by_name = {p.name: p for p in self.members}
        for shock in shocks:
            for name in shock.spec.processes:
                process = by_name[name]
                process.shocks.append(shock)
                if isinstance(process, HawkesProcess):
                    process.raising.append(shock)
        for process in self.members:
            if isinstance(process, HawkesProcess):
                process.links.append(_link(process, None, process.spec))
        for spec in threats.excitation:
            target = by_name[spec.target]
            assert isinstance(target, HawkesProcess)  # validated
            target.excited_by_others = True
            link = _link(target, spec.branching_ratio, spec)
            by_name[spec.source].links.append(link)
            largest = spec.branching_ratio * max(w for _, w in link.weights)
            target.headroom += HEADROOM_EVENTS * largest * max([1.0, *target_raising(target)])
        for process in self.members:  # never more room than the background's own bound, so
            if isinstance(process, HawkesProcess):  # a fast strong link cannot flood the
                process.headroom = min(process.headroom, process.thinning_bound())  # loop
        self.burn_in_days = burn_in_days(scenario)
        self.components = components(scenario)

    def branching_at_start(self) -> np.ndarray:
        """B(0)[target, source]: the branching matrix with the ratios at day 0."""
        index = {id(p): i for i, p in enumerate(self.members)}
        matrix = np.zeros((len(self.members), len(self.members)))
        for i, source in enumerate(self.members):
            for link in source.links:
                target = link.target
                n = target.branching_ratio(0.0) if link.ratio is None else link.ratio
                matrix[index[id(target)], i] += n * target.branching_factor(0.0)
        return matrix

    def processes(self) -> list[ProcessGenerator]:
        """One thinning loop per process, in the scenario's order, after the burn-in."""
        self.burn_in()
        stage = Stage(self.env, 0.0, self.horizon, burn_in=False)
        return [process.run(stage) for process in self.members]

    def burn_in(self) -> None:
        """Run each component of the excitation graph over its burn-in [−W, 0) on an
        environment of its own, with the rates at day 0, keeping the excitation left at the
        start (docs/model.md §4.5); components without one start empty."""
        for label in sorted(set(self.components)):
            members = [p for p, x in zip(self.members, self.components, strict=True) if x == label]
            days = self.burn_in_days[self.members.index(members[0])]
            if days <= 0.0:
                continue
            env = simpy.Environment()
            stage = Stage(env, -days, 0.0, burn_in=True)
            for process in members:
                env.process(process.run(stage))
            env.run(until=days)
            for process in members:
                if isinstance(process, HawkesProcess):
                    process.proc = None

    def expected_count(self, signal: IncidentSignal) -> float:
        """What an incidents signal is expected to count at the start: its window times the
        stationary rates (I − B(0))⁻¹ μ(0) of every process it counts (docs/model.md §3.6)."""
        sectors, actors = set(signal.sectors), set(signal.actors)
        background = np.array([p.background_at_start() for p in self.members])
        rates = stationary_rates(background, self.branching_at_start())
        return signal.window_days * sum(
            float(rate)
            for p, rate in zip(self.members, rates, strict=True)
            if p.sector is not None
            and (not sectors or self.sector_names[p.sector] in sectors)
            and (not actors or p.actor in actors)
        )

    def intensity_on(self, days: np.ndarray) -> np.ndarray:
        """Σ λ(t) over each sector's processes at each of ``days``, with the attempts
        displaced from the neighbouring sectors: (day, sector)."""
        presence = self.modulation.presence_at(days)
        total = np.zeros((len(days), self.sectors))
        for s in range(self.sectors):
            factor = self.modulation.factor(ARRAY, s, presence, days)
            for process in self.members:
                if process.sector == s:
                    total[:, s] += process.intensity_on(days, factor)
        if self.displacement is not None:
            total += self.displacement.intensity_on(days, self.members)
        return total


def target_raising(target: HawkesProcess) -> list[float]:
    """The branching multipliers of the shocks on ``target``: a jump may be that much larger."""
    return [shock.spec.branching_multiplier for shock in target.raising]


def _link(target: HawkesProcess, ratio: float | None, kernel: Kernel) -> Link:
    """The link to ``target`` with the kernel's terms (share · β for each decay β)."""
    weights = [(target.excitation.term(beta), share * beta) for share, beta in kernel_terms(kernel)]
    return Link(target, ratio, weights)
