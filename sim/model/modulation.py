"""Factors that scale incident rates: coalition presence (country-wide, or felt where the
forces are), Iraqi capacity, fortification and coordination with partners across the border.

The modulated rate of a process in sector s is its base rate times

    M_s(t) = (1 − e_F · F_s(t)) · (1 − e_K · Σ_p w_{s,p} · L_p(t))   fortification × coordination
           · (1 + e_I · (1 − min(1, P_Iraq(t) / R_I)))            coalition in Iraq (live)
           · (1 + e_S · (1 − min(1, P_Syria(t) / R_S)))           coalition in Syria (live)
           · (1 + e_L · (1 − min(1, P_s(t) / R_L)))               presence felt at s (live)
           · (1 − e_C · C(t))                                     capacity, linear over the plan

where every factor can be switched off (a factor switched off is 1). F_s(t) is the sector's
fortified share, or min(1, fortified km(t) / its length) from a schedule, and

    P_s(t) = Σ_sites Σ_roles w_role · n_{site,role}(t) · K(d_{site,s}),
    K(d) = exp(−d / scale_km) for d ≤ radius_km, else 0,

the presence felt at s, with d_{site,s} the distance from the site to the nearest point of
the sector's stretch of border (``sim.model.geometry``; a site without coordinates and
personnel in transit count nowhere). Fortification × coordination is piecewise constant,
one step function per sector on the merged breakpoints of both. The presence factors change
only when the forces do, so they are computed once per change of the posture (the lift's
``forces_changed`` hook; the local ones for every sector at once, by the same formula),
kept live for the candidate incidents and logged, so that ``presence_at`` puts them on the
record times afterwards.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from sim.clock import to_day
from sim.config.schema import Modulation, Sector, Site
from sim.config.schema.geography import LocalPresence
from sim.config.schema.threats import PresenceFactor
from sim.model.geometry import Geometry
from sim.model.ops import ARRAY, SCALAR, Ops, Values
from sim.model.posture import Posture
from sim.model.signals import StepFunction


def rise(m: Ops, effect: float, presence: Values, reference: float) -> Values:
    """1 + e · (1 − min(1, P / R)): incidents rise as the presence falls, by e at none."""
    return 1.0 + effect * (1.0 - m.minimum(1.0, presence / reference))


def presence_factor(spec: PresenceFactor | None, personnel: float) -> float:
    """A country-wide presence factor at ``personnel``; 1 when off."""
    if spec is None:
        return 1.0
    return rise(SCALAR, spec.effect, personnel, spec.reference_personnel)


def presence_kernel(
    spec: LocalPresence, geometry: Geometry, sites: list[Site], places: list[str]
) -> np.ndarray:
    """K(d) by (site, sector or place): exp(−d / scale) within the radius, else 0 (and 0 for
    a site without coordinates); the sectors' columns first, then the places'."""
    kernel = np.zeros((len(sites), len(geometry.lengths) + len(places)))
    for i, site in enumerate(sites):
        if site.lat is not None:
            d = np.concatenate(
                [geometry.distances(site.name), geometry.point_distances(site.name, places)]
            )
            kernel[i] = np.where(d <= spec.radius_km, np.exp(-d / spec.scale_km), 0.0)
    return kernel


def felt_presence(counts: list[list[int]], weights: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """P_s = Σ_sites Σ_roles w_role · n_{site,role} · K(d_{site,s}), for every sector."""
    return (np.asarray(counts, dtype=float) @ weights) @ kernel


def coordination_level(
    partners: dict[str, float], levels: dict[str, StepFunction], day: float
) -> float:
    """Σ_p w_{s,p} L_p(t): a sector's weighted coordination level (partners without a level
    schedule are ignored)."""
    return sum(w * levels[p](day) for p, w in partners.items() if p in levels)


def fortified_share(sector: Sector, length: float, km: StepFunction | None, day: float) -> float:
    """F_s(t): the sector's fortified share, or min(1, fortified km(t) / its length)."""
    if km is None:
        return float(sector.fortification or 0.0)
    return min(1.0, km(day) / length)


@dataclass(slots=True)
class Presence:
    """The presence factors: live floats during the run, arrays over the record times.
    ``local`` has one entry per sector (None when local presence is off)."""

    iraq: Values
    syria: Values
    local: Sequence[Values] | None = None


class RateModulation:
    """Evaluates M_s(t) for each sector, live at candidate incidents or over record times."""

    def __init__(
        self,
        *,
        spec: Modulation,
        sectors: list[Sector],
        sites: list[Site],
        geometry: Geometry,
        start: dt.date,
        posture: Posture,
        places: list[str],
    ) -> None:
        self.posture = posture
        self.sectors = len(sectors)
        self.places = {name: len(sectors) + i for i, name in enumerate(places)}
        self.iraq = spec.coalition_iraq if spec.coalition_iraq.enabled else None
        self.syria = spec.coalition_syria if spec.coalition_syria.enabled else None
        self.local = spec.local_presence if spec.local_presence.enabled else None
        if self.local is not None:
            self.kernel = presence_kernel(self.local, geometry, sites, places)
            weights = self.local.role_weights
            self.role_weights = np.array([weights.get(role, 1.0) for role in posture.roles])
        cap = spec.iraqi_capacity
        self.capacity = cap if cap.enabled and cap.effect > 0 else None
        if self.capacity:
            self.cap_t0 = to_day(cap.plan_start, start)
            self.cap_t1 = to_day(cap.plan_end, start)
        self._levels(spec, sectors, geometry.lengths, start)
        self.sector_steps = self._sector_steps(spec, fortified=True)
        self.undeterred_steps = self._sector_steps(spec, fortified=False)
        self.live = Presence(*self._presence_now())
        self._change_days: list[float] = [-math.inf]  # the initial posture holds before all
        self._logged: list[tuple[float, float]] = [(self.live.iraq, self.live.syria)]
        self._logged_local: list[list[float]] = [] if self.live.local is None else [self.live.local]

    def _levels(
        self, spec: Modulation, sectors: list[Sector], lengths: list[float], start: dt.date
    ) -> None:
        """Coordination levels Σ_p w_{s,p} L_p(t) and fortified shares F_s(t), read by
        detection too: step functions on the days where any of them may change."""
        self.partner_levels = levels = {
            name: StepFunction(steps, start) for name, steps in spec.coordination.levels.items()
        }  # L_p(t) of each partner, read by coordination triggers of shocks too
        km = [StepFunction(s.fortified_km, start) if s.fortified_km else None for s in sectors]
        changes = [f.days for f in (*levels.values(), *km) if f is not None]
        self.breaks = sorted({0.0, *(day for days in changes for day in days)})
        self.coordination = [
            StepFunction.from_points(
                self.breaks,
                [coordination_level(sector.partners, levels, day) for day in self.breaks],
            )
            for sector in sectors
        ]
        self.fortified = [
            StepFunction.from_points(
                self.breaks, [fortified_share(sector, length, f, day) for day in self.breaks]
            )
            for sector, length, f in zip(sectors, lengths, km, strict=True)
        ]

    def _sector_steps(self, spec: Modulation, fortified: bool) -> list[StepFunction]:
        """Fortification × coordination, one step function per sector (coordination alone
        without the fortification: the rate of attempts before it deters them)."""
        coordination = spec.coordination.effect if spec.coordination.enabled else 0.0
        enabled = fortified and spec.fortification.enabled
        fortification = spec.fortification.effect if enabled else 0.0
        return [
            StepFunction.from_points(
                self.breaks,
                [
                    (1.0 - fortification * fortified(day))
                    * (1.0 - coordination * self.coordination[s](day))
                    for day in self.breaks
                ],
            )
            for s, fortified in enumerate(self.fortified)
        ]

    def _presence_now(self) -> tuple[float, float, list[float] | None]:
        p = self.posture
        iraq, syria = presence_factor(self.iraq, p.in_iraq), presence_factor(self.syria, p.in_syria)
        if self.local is None:
            return iraq, syria, None
        felt = felt_presence(p.counts, self.role_weights, self.kernel)
        return iraq, syria, rise(ARRAY, self.local.effect, felt, self.local.reference).tolist()

    def forces_changed(self, day: float) -> None:
        """Hook: the posture just changed at ``day``; the presence factors follow it."""
        live = self.live
        live.iraq, live.syria, live.local = self._presence_now()
        self._change_days.append(day)
        self._logged.append((live.iraq, live.syria))
        if live.local is not None:
            self._logged_local.append(live.local)

    def presence_at(self, days: np.ndarray) -> Presence:
        """The presence factors at each of ``days``, before any change of that instant."""
        last = np.searchsorted(self._change_days[1:], days, side="left")
        logged = np.array(self._logged)[last]
        local = np.array(self._logged_local)[last].T if self.local is not None else None
        return Presence(logged[:, 0], logged[:, 1], local)

    def capacity_level(self, m: Ops, day: Values) -> Values:
        """C(t): the start level before the plan, the end level after it, linear between."""
        cap = self.capacity
        frac = (day - self.cap_t0) / (self.cap_t1 - self.cap_t0)
        inside = cap.start_level + frac * (cap.end_level - cap.start_level)
        return m.where(
            day <= self.cap_t0, cap.start_level, m.where(day >= self.cap_t1, cap.end_level, inside)
        )

    def factor(
        self, m: Ops, sector: int, presence: Presence, day: Values, deterred: bool = True
    ) -> Values:
        """M_s(day) given the presence factors then (without the fortification's deterrence
        when ``deterred`` is false)."""
        steps = self.sector_steps if deterred else self.undeterred_steps
        f = m.step(steps[sector], day) * presence.iraq * presence.syria
        if presence.local is not None:
            f = f * presence.local[sector]
        if self.capacity is not None:
            f = f * (1.0 - self.capacity.effect * self.capacity_level(m, day))
        return f

    def place_factor(self, m: Ops, place: str, presence: Presence, day: Values) -> Values:
        """M at a place (Syrian-side activity): the coalition in Syria and the presence felt
        there; the sector factors (capacity, fortification, coordination) do not apply."""
        f = presence.syria
        if presence.local is not None:
            f = f * presence.local[self.places[place]]
        return f

    def live_factor(
        self, sector: int | None, place: str | None = None, deterred: bool = True
    ) -> Callable[[float], float]:
        """M(day) with the live presence: what thinning reads at every candidate event."""
        if sector is None:
            return partial(self.place_factor, SCALAR, place, self.live)
        return partial(self.factor, SCALAR, sector, self.live, deterred=deterred)

    def upper_bound(self, sector: int | None, place: str | None = None) -> float:
        """A bound of M(t) over the horizon, whatever the forces do: the presence factors
        with no coalition at all (the other factors never exceed 1; see the module docstring)."""
        bound = presence_factor(self.syria, 0)
        if sector is not None:
            bound = bound * presence_factor(self.iraq, 0)
        if self.local is not None:
            bound = bound * (1.0 + self.local.effect)
        return bound
