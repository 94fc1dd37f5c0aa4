"""Hawkes series with known parameters, drawn by the cluster construction, for checking the
fits: immigrants arrive as a Poisson process of rate μ, and every event has a Poisson(n)
number of children, each after an Exp(β) delay (Hawkes & Oakes 1974). This is not the
model's thinning algorithm, so fits checked on it are checked against an independent
construction of the same law. Events before 0 are not simulated, so a series starts empty;
``warm_up`` days are simulated before the window and dropped to make it stationary."""

from __future__ import annotations

import numpy as np


def hawkes_series(
    mu: float,
    n: float,
    beta: float,
    horizon: float,
    rng: np.random.Generator,
    warm_up: float | None = None,
) -> np.ndarray:
    """Sorted event times in [0, horizon) of a stationary Hawkes process."""
    start = -(warm_up if warm_up is not None else 20.0 / (beta * (1.0 - n)))
    immigrants = rng.uniform(start, horizon, rng.poisson(mu * (horizon - start)))
    events, generation = [immigrants], immigrants
    while len(generation):
        children = rng.poisson(n, len(generation))
        parents = np.repeat(generation, children)
        generation = parents + rng.exponential(1.0 / beta, len(parents))
        generation = generation[generation < horizon]
        events.append(generation)
    times = np.sort(np.concatenate(events))
    return times[times >= 0.0]
