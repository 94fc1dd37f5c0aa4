"""The branching matrix of a multivariate Hawkes process, and what follows from it.

``B[j, i]`` is the mean number of events of process ``j`` that one event of process ``i``
triggers directly (the integral of the kernel from i to j). With background rates ``μ``:

* the process is stable (clusters are finite) exactly when the spectral radius ρ(B) < 1;
* its stationary rate vector is ``Λ = (I − B)⁻¹ μ`` (each event's offspring add ``B Λ``);
* the expected number of events of each process in the cluster of one event of process
  ``i`` is column ``i`` of ``(I − B)⁻¹``.

Config checks (stability, expected counts) and the model (a rule's expected count at the
start) both read these, so each formula is written once, here.
"""

from __future__ import annotations

import numpy as np

MAX_CYCLES = 10_000  # simple cycles visited when naming the strongest one


def spectral_radius(branching: np.ndarray) -> float:
    """ρ(B), the largest modulus of B's eigenvalues (0 for an empty matrix)."""
    if branching.size == 0:
        return 0.0
    return float(np.max(np.abs(np.linalg.eigvals(branching))))


def stationary_rates(background: np.ndarray, branching: np.ndarray) -> np.ndarray:
    """Λ = (I − B)⁻¹ μ: each process's long-run rate with constant backgrounds ``μ``."""
    identity = np.eye(len(background))
    return np.linalg.solve(identity - branching, background)


def cluster_sizes(branching: np.ndarray) -> np.ndarray:
    """(I − B)⁻¹: entry [j, i] is the mean number of events of j in the cluster of one
    event of i (the event itself included when j = i)."""
    return np.linalg.inv(np.eye(len(branching)) - branching)


def strongest_cycle(branching: np.ndarray) -> tuple[list[int], float]:
    """The simple cycle i → j → … → i with the largest geometric mean branching ratio (the
    one that drives ρ(B) up most), and that mean; ([], 0) without any cycle.

    Cycles are enumerated depth first from their smallest node, at most ``MAX_CYCLES`` of
    them: scenarios have a handful of processes."""
    size = len(branching)
    best: tuple[list[int], float] = ([], 0.0)
    visited = 0

    def extend(path: list[int], product: float) -> None:
        nonlocal best, visited
        here = path[-1]
        for nxt in range(path[0], size):
            weight = branching[nxt, here]  # an event at `here` triggers events at `nxt`
            if weight <= 0.0 or visited >= MAX_CYCLES:
                continue
            if nxt == path[0]:
                visited += 1
                mean = (product * weight) ** (1.0 / len(path))
                if mean > best[1]:
                    best = (list(path), mean)
            elif nxt not in path:
                extend([*path, nxt], product * weight)

    for start in range(size):
        extend([start], 1.0)
    return best
