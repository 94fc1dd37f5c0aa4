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
process's own definition and the presence effects (``RateModulation.upper_bound``), so scenarios
that differ in fortification, capacity or coordination thin the same candidates.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from functools import partial

import numpy as np
import simpy

from sim.clock import to_day
from sim.config.schema import NHPP, Hawkes, Poisson, Scenario
from sim.model.modulation import RateModulation
from sim.model.signals import StepFunction
from sim.streams import BufferedDraws

Emit = Callable[["IncidentProcess", float, int], int]
DAYS_PER_YEAR = 365.25
NEGLIGIBLE_EXCITATION = 1e-12
BOUND_SLACK = 1.0 + 1e-9  # rounding allowed above the thinning bound


def _unmodulated(day: float) -> float:
    return 1.0


def _over_bound(name: str, day: float, rate: float, bound: float) -> str:
    """Thinning is exact only below its bound: exceeding it is a bug in the bound."""
    return f"process '{name}': intensity {rate:g} above its thinning bound {bound:g} at day {day:g}"


class IncidentProcess(ABC):
    """What every process shares: identity, modulation, and the thinning loop."""

    def __init__(
        self,
        env: simpy.Environment,
        spec: Poisson | NHPP | Hawkes,
        sector: int,
        modulation: RateModulation,
        draws: BufferedDraws,
        horizon: float,
        emit: Emit,
    ) -> None:
        self.env = env
        self.spec = spec
        self.name = spec.name
        self.sector = sector
        self.actor = spec.actor
        self.draws = draws
        self.horizon = horizon
        self.emit = emit
        self.modulation = modulation if spec.modulated else None
        # M_s(day), bound once: it is evaluated at every candidate incident
        self.modulation_factor: Callable[[float], float] = (
            _unmodulated if self.modulation is None else partial(modulation.factor, sector)
        )

    def modulation_bound(self) -> float:
        return 1.0 if self.modulation is None else self.modulation.upper_bound(self.sector)

    rate_bound: float  # the largest base rate over the horizon, set by each kind

    @abstractmethod
    def base_rate(self, day: float) -> float:
        """The rate before modulation (for Hawkes, the background rate)."""

    @abstractmethod
    def base_rate_on(self, days: np.ndarray) -> np.ndarray:
        """``base_rate`` at each of ``days`` (vectorised, for the recorder)."""

    def intensity(self, day: float) -> float:
        """λ(t) at ``day`` (the current time of the simulation); the thinning loops compute
        the same product inline."""
        return self.base_rate(day) * self.modulation_factor(day)

    def intensity_on(self, days: np.ndarray, sector_factor: np.ndarray) -> np.ndarray:
        """λ(t) at each of ``days`` after the run, given M_s there; for the recorder."""
        rate = self.base_rate_on(days)
        return rate if self.modulation is None else rate * sector_factor

    def run(self):
        """Lewis–Shedler thinning: used as is by the Poisson kinds."""
        bound = self.rate_bound * self.modulation_bound()
        if bound <= 0.0:
            return
        env, horizon, uniform, log = self.env, self.horizon, self.draws.uniform, math.log
        base_rate, factor = self.base_rate, self.modulation_factor
        t = 0.0
        while True:
            t += -log(uniform()) / bound  # an Exp(1) draw by inversion: one stream for all
            if t >= horizon:
                return
            yield env.timeout(t - env.now)
            rate = base_rate(t) * factor(t)
            if rate > bound * BOUND_SLACK:
                raise RuntimeError(_over_bound(self.name, t, rate, bound))
            if uniform() * bound <= rate:
                self.emit(self, t, -1)


class PoissonProcess(IncidentProcess):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rate_bound = self.spec.rate_per_day

    def base_rate(self, day: float) -> float:
        return self.spec.rate_per_day

    def base_rate_on(self, days: np.ndarray) -> np.ndarray:
        return np.full(len(days), float(self.spec.rate_per_day))


class NHPPProcess(IncidentProcess):
    """λ(t) = λ0 · max(0, 1 + trend · t/365.25) · (1 + A cos(2π (t − peak)/P)) · step(t)."""

    def __init__(self, *args, start, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        s: NHPP = self.spec
        self.steps = StepFunction(s.steps, start) if s.steps else None
        peak = s.seasonal_peak_date or start
        self.peak = to_day(peak, start)
        trend_max = max(self._trend(0.0), self._trend(self.horizon))
        step_max = self.steps.max_on(self.horizon) if self.steps else 1.0
        self.rate_bound = s.rate_per_day * trend_max * (1.0 + s.seasonal_amplitude) * step_max

    def _trend(self, day: float) -> float:
        return max(0.0, 1.0 + self.spec.trend_per_year * day / DAYS_PER_YEAR)

    def base_rate(self, day: float) -> float:
        s: NHPP = self.spec
        rate = s.rate_per_day * self._trend(day)
        if s.seasonal_amplitude:
            phase = 2.0 * math.pi * (day - self.peak) / s.seasonal_period_days
            rate *= 1.0 + s.seasonal_amplitude * math.cos(phase)
        if self.steps is not None:
            rate *= self.steps(day)
        return rate

    def base_rate_on(self, days: np.ndarray) -> np.ndarray:
        s: NHPP = self.spec
        rate = s.rate_per_day * np.maximum(0.0, 1.0 + s.trend_per_year * days / DAYS_PER_YEAR)
        if s.seasonal_amplitude:
            phase = 2.0 * math.pi * (days - self.peak) / s.seasonal_period_days
            rate = rate * (1.0 + s.seasonal_amplitude * np.cos(phase))
        if self.steps is not None:
            rate = rate * self.steps.on(days)
        return rate


class HawkesProcess(IncidentProcess):
    """Self-exciting incidents with an exponential kernel, by Ogata's thinning."""

    def __init__(self, *args, start, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        s: Hawkes = self.spec
        self.beta = s.decay_per_day
        self.background_steps = (
            StepFunction(s.background_steps, start) if s.background_steps else None
        )
        self.branching_steps = StepFunction(s.branching_steps, start) if s.branching_steps else None
        step_max = self.background_steps.max_on(self.horizon) if self.background_steps else 1.0
        self.rate_bound = s.background_rate_per_day * step_max
        self.excitation = 0.0  # Σ α_i e^{−β(t − t_i)} at time self.last
        self.last = 0.0
        # (time, α, incident id) of incidents whose excitation is not yet negligible, oldest
        # first; pruned from the front as they fade, so each incident costs O(1) to keep
        self.recent: deque[tuple[float, float, int]] = deque()
        self.kept_days: list[float] = []  # every incident, and the excitation just after it
        self.kept_excitation: list[float] = []

    def base_rate(self, day: float) -> float:
        rate = self.spec.background_rate_per_day
        if self.background_steps is not None:
            rate *= self.background_steps(day)
        return rate

    def base_rate_on(self, days: np.ndarray) -> np.ndarray:
        rate = np.full(len(days), float(self.spec.background_rate_per_day))
        if self.background_steps is not None:
            rate = rate * self.background_steps.on(days)
        return rate

    def branching_ratio(self, day: float) -> float:
        if self.branching_steps is not None:
            return self.branching_steps(day)
        return self.spec.branching_ratio

    def excitation_at(self, day: float) -> float:
        return self.excitation * math.exp(-self.beta * (day - self.last))

    def intensity(self, day: float) -> float:
        return super().intensity(day) + self.excitation_at(day)

    def intensity_on(self, days: np.ndarray, sector_factor: np.ndarray) -> np.ndarray:
        """Background plus the excitation left by incidents strictly before each day."""
        last = np.searchsorted(self.kept_days, days, side="left") - 1
        seen = last >= 0
        excitation = np.zeros(len(days))
        if seen.any():
            before = last[seen]
            elapsed = days[seen] - np.asarray(self.kept_days)[before]
            excitation[seen] = np.asarray(self.kept_excitation)[before] * np.exp(
                -self.beta * elapsed
            )
        return super().intensity_on(days, sector_factor) + excitation

    def run(self):
        background_bound = self.rate_bound * self.modulation_bound()
        env, beta, horizon, exp, log = self.env, self.beta, self.horizon, math.exp, math.log
        uniform, base_rate, factor = self.draws.uniform, self.base_rate, self.modulation_factor
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
            background = base_rate(t) * factor(t)
            excitation = self.excitation * exp(-beta * (t - self.last))
            rate = background + excitation
            if rate > bound * BOUND_SLACK:
                raise RuntimeError(_over_bound(self.name, t, rate, bound))
            if uniform() * bound > rate:
                continue
            parent = self._attribute(t, background, rate, uniform())
            incident = self.emit(self, t, parent)
            alpha = self.branching_ratio(t) * beta
            excitation = self.excitation = excitation + alpha
            self.last = t
            self.recent.append((t, alpha, incident))
            self.kept_days.append(t)
            self.kept_excitation.append(self.excitation)

    def _attribute(self, t: float, background: float, rate: float, u: float) -> int:
        """The parent of an incident at ``t``: -1 for the background, else an incident id."""
        target = u * rate
        if target < background:
            return -1
        target -= background
        beta, recent = self.beta, self.recent
        while (
            recent and recent[0][1] * math.exp(-beta * (t - recent[0][0])) <= NEGLIGIBLE_EXCITATION
        ):
            recent.popleft()
        for when, alpha, incident in reversed(recent):  # the newest carry most excitation
            target -= alpha * math.exp(-beta * (t - when))
            if target <= 0.0:
                return incident
        return recent[0][2] if recent else -1


def build_processes(
    env: simpy.Environment,
    scenario: Scenario,
    modulation: RateModulation,
    draws_for: Callable[[str], BufferedDraws],
    emit: Emit,
) -> list[IncidentProcess]:
    """One process object (and SimPy process) per configured incident process."""
    sector_index = {s.name: i for i, s in enumerate(scenario.border.sectors)}
    start = scenario.clock.start_date
    made: list[IncidentProcess] = []
    for spec in scenario.threats.processes:
        args = (
            env,
            spec,
            sector_index[spec.sector],
            modulation,
            draws_for(f"threat/{spec.name}/arrivals"),
            scenario.horizon_days,
            emit,
        )
        if spec.kind == "poisson":
            process: IncidentProcess = PoissonProcess(*args)
        elif spec.kind == "nhpp":
            process = NHPPProcess(*args, start=start)
        else:
            process = HawkesProcess(*args, start=start)
        made.append(process)
        env.process(process.run())
    return made
