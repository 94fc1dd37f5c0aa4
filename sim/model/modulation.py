"""Factors that scale incident rates: coalition presence, Iraqi capacity, fortification and
coordination with partners across the border.

The modulated rate of a process in sector s is its base rate times

    M_s(t) = (1 + e_I · (1 − min(1, P_Iraq(t) / R_I)))       coalition in Iraq (live)
           · (1 + e_S · (1 − min(1, P_Syria(t) / R_S)))      coalition in Syria (live)
           · (1 − e_C · C(t))                                Iraqi capacity, linear over the plan
           · (1 − e_F · F_s)                                 fortification of the sector
           · (1 − e_K · Σ_p w_{s,p} · L_p(t))                coordination with partners

where every factor can be switched off. Thinning needs a bound of M_s over the horizon.
``upper_bound`` is deliberately not the tightest one: only the presence factors can exceed
1, so it is Π (1 + e) over the enabled presence factors, whatever the fortification,
capacity plan or coordination levels. Two scenarios that differ only in those then thin the
same candidate incidents (common random numbers): they keep identical incidents wherever
their rates agree, and a Poisson process's incidents under the lower rate are a subset of
those under the higher one.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.clock import to_day
from sim.config.schema import Scenario
from sim.model.posture import Posture
from sim.model.signals import StepFunction


class RateModulation:
    """Evaluates M_s(t) for each sector against the live posture."""

    def __init__(self, scenario: Scenario, posture: Posture) -> None:
        m = scenario.threats.modulation
        start: dt.date = scenario.clock.start_date
        self.horizon = scenario.horizon_days
        self.posture = posture
        self.iraq = m.coalition_iraq if m.coalition_iraq.enabled else None
        self.syria = m.coalition_syria if m.coalition_syria.enabled else None
        cap = m.iraqi_capacity
        self.capacity = cap if cap.enabled and cap.effect > 0 else None
        if self.capacity:
            self.cap_t0 = to_day(cap.plan_start, start)
            self.cap_t1 = to_day(cap.plan_end, start)
        self.partner_levels = {
            name: StepFunction(steps, start) for name, steps in m.coordination.levels.items()
        }
        coordination_effect = m.coordination.effect if m.coordination.enabled else 0.0
        fortification_effect = m.fortification.effect if m.fortification.enabled else 0.0
        self.sector_partners = [
            [
                (self.partner_levels[p], w)
                for p, w in sector.partners.items()
                if p in self.partner_levels
            ]
            for sector in scenario.border.sectors
        ]
        self.coordination_effect = coordination_effect
        self.static = [
            1.0 - fortification_effect * sector.fortification for sector in scenario.border.sectors
        ]
        # fortification × coordination is piecewise constant: one step function per sector
        breaks = sorted({0.0, *(d for f in self.partner_levels.values() for d in f.days)})
        self.sector_steps = [
            StepFunction.from_points(
                breaks,
                [
                    self.static[s] * (1.0 - coordination_effect * self.coordination_level(s, day))
                    for day in breaks
                ],
            )
            for s in range(len(self.static))
        ]

    def capacity_level(self, day: float) -> float:
        cap = self.capacity
        if day <= self.cap_t0:
            return cap.start_level
        if day >= self.cap_t1:
            return cap.end_level
        frac = (day - self.cap_t0) / (self.cap_t1 - self.cap_t0)
        return cap.start_level + frac * (cap.end_level - cap.start_level)

    def capacity_level_on(self, days: np.ndarray) -> np.ndarray:
        """``capacity_level`` at each of ``days`` (the same three cases, vectorised)."""
        cap = self.capacity
        frac = (days - self.cap_t0) / (self.cap_t1 - self.cap_t0)
        inside = cap.start_level + frac * (cap.end_level - cap.start_level)
        after = np.where(days >= self.cap_t1, cap.end_level, inside)
        return np.where(days <= self.cap_t0, cap.start_level, after)

    def coordination_level(self, sector: int, day: float) -> float:
        """Σ_p w_{s,p} L_p(t): the sector's weighted coordination level."""
        return sum(w * level(day) for level, w in self.sector_partners[sector])

    def factor(self, sector: int, day: float) -> float:
        """M_s(day) with the live posture (called at every candidate incident)."""
        f = self.sector_steps[sector](day)
        iraq, syria = self.iraq, self.syria
        if iraq is not None:
            f *= 1.0 + iraq.effect * (
                1.0 - min(1.0, self.posture.in_iraq / iraq.reference_personnel)
            )
        if syria is not None:
            f *= 1.0 + syria.effect * (
                1.0 - min(1.0, self.posture.in_syria / syria.reference_personnel)
            )
        if self.capacity is not None:
            f *= 1.0 - self.capacity.effect * self.capacity_level(day)
        return f

    def factor_on(
        self, sector: int, days: np.ndarray, in_iraq: np.ndarray, in_syria: np.ndarray
    ) -> np.ndarray:
        """M_s at each of ``days`` given the personnel then (``factor``, vectorised: the
        recorder evaluates it over the record times once the run is over)."""
        f = self.sector_steps[sector].on(days)
        if self.iraq is not None:
            f = f * (
                1.0
                + self.iraq.effect
                * (1.0 - np.minimum(1.0, in_iraq / self.iraq.reference_personnel))
            )
        if self.syria is not None:
            f = f * (
                1.0
                + self.syria.effect
                * (1.0 - np.minimum(1.0, in_syria / self.syria.reference_personnel))
            )
        if self.capacity is not None:
            f = f * (1.0 - self.capacity.effect * self.capacity_level_on(days))
        return f

    def upper_bound(self, sector: int) -> float:
        """A bound of M_s(t) over [0, horizon], whatever the forces do, that depends only on
        the presence effects (the other factors never exceed 1; see the module docstring)."""
        f = 1.0
        if self.iraq is not None:
            f *= 1.0 + self.iraq.effect
        if self.syria is not None:
            f *= 1.0 + self.syria.effect
        return f
