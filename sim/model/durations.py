"""Sampling the configured distributions (durations and severities) from a named stream.

Every sampler consumes exactly one uniform draw per value, whatever the distribution, so a
stream stays aligned across scenarios that change a distribution's parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

from sim.config.schema import Exponential, Fixed, LogNormal, Pareto
from sim.streams import BufferedDraws

_NORMAL = NormalDist()


def sampler(spec: Fixed | Exponential | LogNormal | Pareto) -> Callable[[float], float]:
    """A function from one U(0, 1) draw to one value of ``spec``."""
    if isinstance(spec, Fixed):
        value = spec.value
        return lambda u: value
    if isinstance(spec, Exponential):
        mean = spec.mean
        return lambda u: -mean * math.log(u)
    if isinstance(spec, LogNormal):
        median, sigma = spec.median, spec.sigma

        def lognormal(u: float) -> float:
            try:
                return median * math.exp(sigma * _NORMAL.inv_cdf(u))
            except OverflowError:  # beyond the largest float (a huge sigma)
                return math.inf

        return lognormal
    if isinstance(spec, Pareto):
        x_min, tail = spec.x_min, -1.0 / (spec.alpha - 1.0)

        def pareto(u: float) -> float:
            try:
                return x_min * u**tail
            except OverflowError:  # beyond the largest float (alpha close to 1)
                return math.inf

        return pareto
    raise TypeError(f"no sampler for {type(spec).__name__}")


class DurationSampler:
    """Draws values of one distribution from one buffered stream."""

    __slots__ = ("_draws", "_f")

    def __init__(self, spec: Fixed | Exponential | LogNormal, draws: BufferedDraws) -> None:
        self._f = sampler(spec)
        self._draws = draws

    def __call__(self) -> float:
        return self._f(self._draws.uniform())
