"""The excitation a Hawkes process carries: one exponential term per decay of its kernels.

A term holds Σ α_e e^{−β(t − t_e)} over the events that fed it (the process's own and those
of processes that excite it, ``threats.excitation``). Its level is kept by the usual
recursion (decay to the new event, add α), so reading it costs O(1). Parent attribution
needs the event whose share of the level holds a uniform target; the term keeps prefix sums
of α_e e^{β(t_e − t_ref)} (rebased when the exponent grows large), so a binary search finds
it in O(log n) however many events are alive: no quadratic cost as rates grow.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

REBASE_EXPONENT = 300.0  # e^300 ≈ 1e130: prefix sums stay far from overflow
MAX_EXPONENT = 700.0  # math.exp raises past about 709
BEFORE_START = -2  # the id of an event of the burn-in (docs/model.md §4.5)


class ExcitationTerm:
    """Σ α_e e^{−β(t − t_e)}: one decay β of the kernels into one process."""

    __slots__ = ("beta", "cumulative", "days", "events", "last", "level", "levels", "ref")

    def __init__(self, beta: float) -> None:
        self.beta = beta
        self.level = 0.0  # at day `last`, just after the latest event
        self.last = -math.inf
        self.ref = 0.0  # prefix sums hold α_e e^{β(t_e − ref)}
        self.cumulative = [0.0]
        self.events: list[int] = []
        self.days: list[float] = []  # every event's day and the level just after it
        self.levels: list[float] = []

    def at(self, day: float) -> float:
        """The excitation left at ``day`` (at or after the latest event)."""
        return self.level * math.exp(-self.beta * (day - self.last))

    def add(self, day: float, alpha: float, event: int) -> None:
        """An event at ``day`` adds ``alpha``."""
        self.level = self.at(day) + alpha if self.events else alpha
        self.last = day
        if self.beta * (day - self.ref) > REBASE_EXPONENT:
            scale = math.exp(-self.beta * (day - self.ref))
            self.cumulative = [c * scale for c in self.cumulative]
            self.ref = day
        self.cumulative.append(self.cumulative[-1] + alpha * math.exp(self.beta * (day - self.ref)))
        self.events.append(event)
        self.days.append(day)
        self.levels.append(self.level)

    def parent(self, day: float, target: float) -> int:
        """The event whose share of the excitation at ``day`` holds ``target`` (0 ≤ target <
        ``at(day)``), counting from the newest event back, as a walk would."""
        if target <= 0.0:
            return self.events[-1]
        scaled = target * math.exp(min(self.beta * (day - self.ref), MAX_EXPONENT))
        k = bisect_right(self.cumulative, self.cumulative[-1] - scaled) - 1
        return self.events[min(max(k, 0), len(self.events) - 1)]

    def on(self, days: np.ndarray) -> np.ndarray:
        """The excitation at each of ``days`` left by the events strictly before it."""
        last = np.searchsorted(self.days, days, side="left") - 1
        out = np.zeros(len(days))
        seen = last >= 0
        if seen.any():
            before = last[seen]
            elapsed = days[seen] - np.asarray(self.days)[before]
            out[seen] = np.asarray(self.levels)[before] * np.exp(-self.beta * elapsed)
        return out


class Excitation:
    """Every term of one process, by decay; the total and the attribution over them."""

    __slots__ = ("by_decay", "terms")

    def __init__(self) -> None:
        self.terms: list[ExcitationTerm] = []
        self.by_decay: dict[float, ExcitationTerm] = {}

    def term(self, beta: float) -> ExcitationTerm:
        """The term of decay ``beta`` (made at first use: kernels sharing a decay share it)."""
        found = self.by_decay.get(beta)
        if found is None:
            found = self.by_decay[beta] = ExcitationTerm(beta)
            self.terms.append(found)
        return found

    def at(self, day: float) -> float:
        terms = self.terms
        if len(terms) == 1:  # the usual case: one decay
            return terms[0].at(day)
        return sum(term.at(day) for term in terms)

    def parent(self, day: float, target: float) -> int:
        """The event that holds ``target`` within the total excitation at ``day``."""
        for term in self.terms:
            share = term.at(day)
            if target < share or term is self.terms[-1]:
                return term.parent(day, min(target, share))
            target -= share
        raise AssertionError("attribution without excitation")

    def on(self, days: np.ndarray) -> np.ndarray:
        out = np.zeros(len(days))
        for term in self.terms:
            out += term.on(days)
        return out
