"""Displacement: attempts a sector's fortification deters try again next door.

A candidate event that the fortification factor rejects (it would have been kept at the rate
before fortification, ``u · λ̄ ∈ (λ, λ_undeterred]``) is a deterred attempt, so deterred
attempts form a Poisson stream of rate λ_undeterred − λ (the background part of a Hawkes
process: the excitation is not modulated). With probability ``share`` such an attempt is
made again ``delay_days`` later at one of the sector's neighbours along the border (the
sectors before and after it in the list, north to south), each equally likely. One uniform
of the process's own stream ``threat/<process>/displacement`` decides both, so switching
displacement on moves no other draw. A displaced attempt is an incident of the neighbour
(answered, counted by signals, flagged ``displaced``) with marks of its own streams; it
starts its own cluster and excites nothing (docs/model.md §4.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import simpy

from sim.config.schema import Displacement as DisplacementSpec
from sim.model.modulation import RateModulation
from sim.model.ops import ARRAY, Values
from sim.streams import BufferedDraws, Streams


class Deterrable(Protocol):
    """What displacement needs of a process at a sector."""

    name: str
    sector: int | None
    modulation: RateModulation | None

    def rate(self, m: object, day: Values, factor: Values) -> Values: ...


class DisplacedSink(Protocol):
    """The border: it records a displaced attempt at another sector."""

    def emit_displaced(self, process: Deterrable, day: float, sector: int) -> int: ...


class Displacement:
    """Moves deterred attempts to neighbouring sectors after a delay."""

    def __init__(
        self,
        *,
        spec: DisplacementSpec,
        sectors: int,
        env: simpy.Environment,
        border: DisplacedSink,
        streams: Streams,
        horizon: float,
    ) -> None:
        self.share = spec.share
        self.delay = spec.delay_days
        self.env = env
        self.border = border
        self.streams = streams
        self.horizon = horizon
        self.neighbours = [[n for n in (s - 1, s + 1) if 0 <= n < sectors] for s in range(sectors)]
        self._draws: dict[str, BufferedDraws] = {}

    def deterred(self, process: Deterrable, day: float) -> None:
        """A deterred attempt of ``process`` at ``day``: maybe again next door, later."""
        draws = self._draws.get(process.name)
        if draws is None:
            draws = self._draws[process.name] = self.streams.buffered(
                f"threat/{process.name}/displacement"
            )
        u = draws.uniform()
        neighbours = self.neighbours[process.sector or 0]
        if u >= self.share or not neighbours or day + self.delay >= self.horizon:
            return
        sector = neighbours[min(int(u / self.share * len(neighbours)), len(neighbours) - 1)]
        when = day + self.delay
        later = self.env.timeout(self.delay)
        later.callbacks.append(lambda _: self.border.emit_displaced(process, when, sector))

    def intensity_on(self, days: np.ndarray, processes: Sequence[Deterrable]) -> np.ndarray:
        """The rate of displaced attempts arriving at each sector on each of ``days``:
        share / |neighbours| of each neighbour's deterred rate ``delay_days`` earlier."""
        out = np.zeros((len(days), len(self.neighbours)))
        before = days - self.delay
        inside = before >= 0.0
        if not inside.any():
            return out
        shifted = before[inside]
        for process in processes:
            modulation, s = process.modulation, process.sector
            if modulation is None or s is None or not self.neighbours[s]:
                continue
            presence = modulation.presence_at(shifted)
            kept = modulation.factor(ARRAY, s, presence, shifted)
            undeterred = modulation.factor(ARRAY, s, presence, shifted, deterred=False)
            deterred = process.rate(ARRAY, shifted, undeterred) - process.rate(ARRAY, shifted, kept)
            for n in self.neighbours[s]:
                out[inside, n] += self.share / len(self.neighbours[s]) * deterred
        return out
