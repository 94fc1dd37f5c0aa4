"""Named signals that policy rules and phase conditions watch.

``incidents`` signals count incidents in a trailing window (optionally only some sectors and
actors); the border model reports each incident to every signal. ``scheduled`` signals
follow a fixed schedule, for tests and for exogenous warnings.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import deque
from collections.abc import Sequence

import numpy as np

from sim.clock import to_day
from sim.config.schema import IncidentSignal, ScheduledSignal, Step


class StepFunction:
    """A piecewise-constant function of simulation day built from a schedule."""

    __slots__ = ("_padded", "days", "values")

    def __init__(self, steps: Sequence[Step], start: dt.date) -> None:
        self.days = [to_day(step.date, start) for step in steps]
        self.values = [step.value for step in steps]
        self._padded = self.values[:1] + self.values  # the first value holds before its day

    @classmethod
    def from_points(cls, days: list[float], values: list[float]) -> StepFunction:
        """The function that takes ``values[i]`` from ``days[i]`` (days increasing)."""
        made = cls.__new__(cls)
        made.days, made.values = list(days), list(values)
        made._padded = made.values[:1] + made.values
        return made

    def __call__(self, day: float) -> float:
        return self._padded[bisect.bisect_right(self.days, day)]

    def on(self, days: np.ndarray) -> np.ndarray:
        """The function at every one of ``days`` (vectorised ``__call__``)."""
        i = np.searchsorted(self.days, days, side="right") - 1
        return np.asarray(self.values, dtype=float)[np.maximum(i, 0)]

    def max_on(self, horizon: float) -> float:
        """The largest value taken anywhere in [0, horizon]."""
        first = max(bisect.bisect_right(self.days, 0.0) - 1, 0)
        last = max(bisect.bisect_right(self.days, horizon) - 1, 0)
        return max(self.values[first : last + 1])


class TrailingCount:
    """Incidents in the last ``window_days`` in the chosen sectors and actors."""

    def __init__(self, spec: IncidentSignal) -> None:
        self.window = spec.window_days
        self.sectors = set(spec.sectors) or None
        self.actors = set(spec.actors) or None
        self.times: deque[float] = deque()

    def observe(self, day: float, sector: str, actor: str) -> None:
        if (self.sectors is None or sector in self.sectors) and (
            self.actors is None or actor in self.actors
        ):
            self.times.append(day)
            self._forget(day)  # a signal nobody reads must not keep every incident

    def _forget(self, day: float) -> None:
        while self.times and self.times[0] <= day - self.window:
            self.times.popleft()

    def __call__(self, day: float) -> float:
        self._forget(day)
        return float(len(self.times))


class Signals:
    """All named signals of a scenario."""

    def __init__(
        self, *, specs: dict[str, IncidentSignal | ScheduledSignal], start: dt.date
    ) -> None:
        self.counters = {
            name: TrailingCount(spec) for name, spec in specs.items() if spec.kind == "incidents"
        }
        self.functions = {
            name: StepFunction(spec.values, start)
            for name, spec in specs.items()
            if spec.kind == "scheduled"
        }

    def value(self, name: str, day: float) -> float:
        if name in self.counters:
            return self.counters[name](day)
        return self.functions[name](day)

    def observe(self, day: float, sector: str, actor: str) -> None:
        for counter in self.counters.values():
            counter.observe(day, sector, actor)
