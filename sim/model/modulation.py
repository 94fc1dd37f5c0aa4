"""Factors that scale incident rates: coalition presence, Iraqi capacity, fortification and
coordination with partners across the border.

The modulated rate of a process in sector s is its base rate times

    M_s(t) = (1 − e_F · F_s) · (1 − e_K · Σ_p w_{s,p} · L_p(t))   fortification × coordination
           · (1 + e_I · (1 − min(1, P_Iraq(t) / R_I)))            coalition in Iraq (live)
           · (1 + e_S · (1 − min(1, P_Syria(t) / R_S)))           coalition in Syria (live)
           · (1 − e_C · C(t))                                     capacity, linear over the plan

where every factor can be switched off (a factor switched off is 1). Fortification ×
coordination is piecewise constant, one step function per sector. The two presence factors
change only when the forces do, so they are computed once per change of the posture (the
lift's ``forces_changed`` hook), kept live for the candidate incidents and logged, so that
``presence_at`` puts them on the record times afterwards.

Thinning needs a bound of M_s over the horizon. ``upper_bound`` is deliberately not the
tightest one: only the presence factors can exceed 1, so it is their value with no coalition
at all, Π (1 + e) over the enabled presence factors, whatever the fortification, capacity
plan or coordination levels. Two scenarios that differ only in those then thin the same
candidate incidents (common random numbers): they keep identical incidents wherever their
rates agree, and a Poisson process's incidents under the lower rate are a subset of those
under the higher one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from sim.clock import to_day
from sim.config.schema import Modulation, Sector
from sim.config.schema.threats import PresenceFactor
from sim.model.ops import SCALAR, Ops, Values
from sim.model.posture import Posture
from sim.model.signals import StepFunction


def presence_factor(spec: PresenceFactor | None, personnel: float) -> float:
    """1 + e · (1 − min(1, P / R)): incidents rise as the coalition leaves; 1 when off."""
    if spec is None:
        return 1.0
    return 1.0 + spec.effect * (1.0 - min(1.0, personnel / spec.reference_personnel))


def coordination_level(
    partners: dict[str, float], levels: dict[str, StepFunction], day: float
) -> float:
    """Σ_p w_{s,p} L_p(t): a sector's weighted coordination level (partners without a level
    schedule are ignored)."""
    return sum(w * levels[p](day) for p, w in partners.items() if p in levels)


@dataclass(slots=True)
class Presence:
    """The two presence factors: live floats during the run, arrays over the record times."""

    iraq: Values
    syria: Values


class RateModulation:
    """Evaluates M_s(t) for each sector, live at candidate incidents or over record times."""

    def __init__(
        self, *, spec: Modulation, sectors: list[Sector], start: dt.date, posture: Posture
    ) -> None:
        self.posture = posture
        self.iraq = spec.coalition_iraq if spec.coalition_iraq.enabled else None
        self.syria = spec.coalition_syria if spec.coalition_syria.enabled else None
        cap = spec.iraqi_capacity
        self.capacity = cap if cap.enabled and cap.effect > 0 else None
        if self.capacity:
            self.cap_t0 = to_day(cap.plan_start, start)
            self.cap_t1 = to_day(cap.plan_end, start)
        levels = {
            name: StepFunction(steps, start) for name, steps in spec.coordination.levels.items()
        }
        # every partner level is constant between these days, and so is all built on them
        self.breaks = sorted({0.0, *(d for f in levels.values() for d in f.days)})
        self.coordination = [  # Σ_p w_{s,p} L_p(t), read by detection too
            StepFunction.from_points(
                self.breaks,
                [coordination_level(sector.partners, levels, day) for day in self.breaks],
            )
            for sector in sectors
        ]
        self.sector_steps = self._sector_steps(spec, sectors)
        self.live = Presence(*self._presence_now())
        self._change_days: list[float] = [-math.inf]  # the initial posture holds before all
        self._logged: list[tuple[float, float]] = [(self.live.iraq, self.live.syria)]

    def _sector_steps(self, spec: Modulation, sectors: list[Sector]) -> list[StepFunction]:
        """Fortification × coordination, one step function per sector."""
        coordination = spec.coordination.effect if spec.coordination.enabled else 0.0
        fortification = spec.fortification.effect if spec.fortification.enabled else 0.0
        return [
            StepFunction.from_points(
                self.breaks,
                [
                    (1.0 - fortification * sector.fortification)
                    * (1.0 - coordination * self.coordination[s](day))
                    for day in self.breaks
                ],
            )
            for s, sector in enumerate(sectors)
        ]

    def _presence_now(self) -> tuple[float, float]:
        p = self.posture
        return presence_factor(self.iraq, p.in_iraq), presence_factor(self.syria, p.in_syria)

    def forces_changed(self, day: float) -> None:
        """Hook: the posture just changed at ``day``; the presence factors follow it."""
        iraq, syria = self._presence_now()
        self.live.iraq, self.live.syria = iraq, syria
        self._change_days.append(day)
        self._logged.append((iraq, syria))

    def presence_at(self, days: np.ndarray) -> Presence:
        """The presence factors at each of ``days``, before any change of that instant."""
        last = np.searchsorted(self._change_days[1:], days, side="left")
        logged = np.array(self._logged)[last]
        return Presence(logged[:, 0], logged[:, 1])

    def capacity_level(self, m: Ops, day: Values) -> Values:
        """C(t): the start level before the plan, the end level after it, linear between."""
        cap = self.capacity
        frac = (day - self.cap_t0) / (self.cap_t1 - self.cap_t0)
        inside = cap.start_level + frac * (cap.end_level - cap.start_level)
        return m.where(
            day <= self.cap_t0, cap.start_level, m.where(day >= self.cap_t1, cap.end_level, inside)
        )

    def factor(self, m: Ops, sector: int, presence: Presence, day: Values) -> Values:
        """M_s(day) given the presence factors then."""
        f = m.step(self.sector_steps[sector], day) * presence.iraq * presence.syria
        if self.capacity is not None:
            f = f * (1.0 - self.capacity.effect * self.capacity_level(m, day))
        return f

    def live_factor(self, sector: int) -> Callable[[float], float]:
        """M_s(day) with the live presence: what thinning reads at every candidate incident."""
        return partial(self.factor, SCALAR, sector, self.live)

    def upper_bound(self, sector: int) -> float:
        """A bound of M_s(t) over the horizon, whatever the forces do: the presence factors
        with no coalition at all (the other factors never exceed 1; see the module docstring)."""
        return presence_factor(self.iraq, 0) * presence_factor(self.syria, 0)
