"""Hawkes series with known parameters, drawn by the cluster construction, for checking the
fits and for the fits' parametric bootstrap: immigrants arrive as a Poisson process of rate
μ (constant, or constant on each piece between breakpoints), and every event has a
Poisson(n) number of children, each after an Exp(β) delay (Hawkes & Oakes 1974). This is
not the model's thinning algorithm, so fits checked on it are checked against an independent
construction of the same law. ``warm_up`` days are simulated before the window (at the first
piece's rate) and dropped, so the series starts stationary."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def hawkes_series(
    mu: float | Sequence[float],
    n: float,
    beta: float,
    horizon: float,
    rng: np.random.Generator,
    warm_up: float | None = None,
    breaks: Sequence[float] = (),
) -> np.ndarray:
    """Sorted event times in [0, horizon) of a Hawkes process stationary at 0; ``mu`` is one
    rate, or one per piece of [0, horizon) cut at ``breaks``."""
    rates = np.atleast_1d(np.asarray(mu, float))
    if len(rates) != len(breaks) + 1:
        raise ValueError(f"{len(rates)} background rates for {len(breaks)} breakpoints")
    start = -(warm_up if warm_up is not None else 20.0 / (beta * (1.0 - n)))
    edges = [start, *breaks, horizon]
    immigrants = np.concatenate(
        [
            rng.uniform(low, high, rng.poisson(rate * (high - low)))
            for rate, low, high in zip(rates, edges[:-1], edges[1:], strict=True)
        ]
    )
    events, generation = [immigrants], immigrants
    while len(generation):
        children = rng.poisson(n, len(generation))
        parents = np.repeat(generation, children)
        generation = parents + rng.exponential(1.0 / beta, len(parents))
        generation = generation[generation < horizon]
        events.append(generation)
    times = np.sort(np.concatenate(events))
    return times[times >= 0.0]
