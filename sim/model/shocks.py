"""Shocks: a breakout or an offensive that raises named processes for a while.

A shock starts ``delay_days`` after its trigger: a date; the first day a partner's
coordination level is below a value (known from its schedule, so fixed before the run); or
the first moment coalition personnel in a country are at most a number (live: checked at
every change of the forces, through the lift's ``forces_changed`` hook, and at the start).
From its start ``t₀`` it has the profile

    g(t) = 1 for t₀ ≤ t < t₀ + D,   e^{−(t − t₀ − D)/δ} after (0 if δ = 0),   0 before,

and multiplies the background rate of each named process by 1 + (m_μ − 1) g(t) and every
branching ratio into it by 1 + (m_n − 1) g(t) (read at the parent event's time). The profile
is written once over ``Ops``, for thinning and for the recorded intensity.
"""

from __future__ import annotations

import datetime as dt

from sim.clock import to_day
from sim.config.schema import Shock
from sim.config.schema.threats import OnCoordination, OnDate, OnPresence
from sim.model.ops import Ops, Values
from sim.model.posture import Posture
from sim.model.signals import StepFunction


class ShockState:
    """One shock of a replication: when it starts (once known) and its profile."""

    def __init__(
        self,
        *,
        spec: Shock,
        start: dt.date,
        levels: dict[str, StepFunction],
        posture: Posture,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.posture = posture
        self.start_day: float | None = None
        trigger = spec.trigger
        if isinstance(trigger, OnDate):
            self.start_day = to_day(trigger.date, start) + spec.delay_days
        elif isinstance(trigger, OnCoordination):
            day = first_below(levels[trigger.partner], trigger.below)
            self.start_day = None if day is None else day + spec.delay_days
        else:
            self.forces_changed(0.0)

    def forces_changed(self, day: float) -> None:
        """Hook: the forces just changed; a presence trigger may fire (only the first time)."""
        trigger = self.spec.trigger
        if self.start_day is not None or not isinstance(trigger, OnPresence):
            return
        present = self.posture.in_iraq if trigger.country == "iraq" else self.posture.in_syria
        if present <= trigger.at_most:
            self.start_day = max(0.0, day) + self.spec.delay_days

    @property
    def live(self) -> bool:
        """Whether the shock can still start during the run (a presence trigger)."""
        return isinstance(self.spec.trigger, OnPresence)

    def profile(self, m: Ops, day: Values) -> Values:
        """g(day): 1 at full strength, fading after it, 0 before the start or never."""
        if self.start_day is None:
            return 0.0 * day
        s = self.spec
        since = day - self.start_day
        after = m.maximum(since - s.duration_days, 0.0)
        fading = m.exp(-after / s.decay_days) if s.decay_days > 0 else 0.0 * day
        return m.where(since < 0.0, 0.0, m.where(since < s.duration_days, 1.0, fading))

    def multiplier(self, m: Ops, day: Values, value: float) -> Values:
        """1 + (value − 1) · g(day)."""
        if value == 1.0:
            return 1.0
        return 1.0 + (value - 1.0) * self.profile(m, day)


def first_below(level: StepFunction, below: float) -> float | None:
    """The first day (from 0) on which a step function is below ``below``; None if never."""
    if level(0.0) < below:
        return 0.0
    for day, value in zip(level.days, level.values, strict=True):
        if day > 0.0 and value < below:
            return float(day)
    return None
