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
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

MAX_STEPS = 200_000  # path extensions tried when naming the strongest cycle


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
    """A simple cycle i → j → … → i with the largest geometric mean branching ratio, and
    that mean; ([], 0) without any cycle.

    Cycles lie within strongly connected components, so the search keeps to the component
    with the largest spectral radius (the one that makes ρ(B) too large) and stops after
    ``MAX_STEPS`` extensions of a path, so a dense hostile matrix cannot make it run for long:
    it then names the best cycle found so far."""
    count, labels = connected_components(
        csr_matrix(branching > 0.0), directed=True, connection="strong"
    )
    groups = [np.flatnonzero(labels == c) for c in range(count)]
    members = max(groups, key=lambda g: spectral_radius(branching[np.ix_(g, g)]))
    best: tuple[list[int], float] = ([], 0.0)
    steps = 0

    def extend(path: list[int], product: float) -> None:
        nonlocal best, steps
        here = path[-1]
        for nxt in members:
            weight = branching[nxt, here]  # an event at `here` triggers events at `nxt`
            steps += 1
            if nxt < path[0] or weight <= 0.0 or steps > MAX_STEPS:
                continue
            if nxt == path[0]:
                mean = (product * weight) ** (1.0 / len(path))
                if mean > best[1]:
                    best = (list(path), mean)
            elif nxt not in path:
                extend([*path, int(nxt)], product * weight)

    for start in members:
        extend([int(start)], 1.0)
    return best
