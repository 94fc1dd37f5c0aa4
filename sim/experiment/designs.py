"""Design points of a sweep: full grids, Latin hypercubes (scipy.stats.qmc), and the Sobol
(Saltelli) and Morris samples of SALib, which its analyses need in their own order."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from sim.config.schema.sweep import Sweep


def salib_problem(sweep: Sweep) -> dict:
    return {
        "num_vars": len(sweep.parameters),
        "names": [p.column for p in sweep.parameters],
        "bounds": [list(p.range) for p in sweep.parameters],
    }


def _grid_values(p) -> list:
    if p.values is not None:
        return list(p.values)
    values = np.linspace(p.range[0], p.range[1], p.levels)
    return np.rint(values).astype(np.int64).tolist() if p.integer else values.tolist()


def sample(sweep: Sweep) -> np.ndarray:
    """The points of a sampled design (lhs, sobol, morris) as drawn: floats, one row per
    point, before integer parameters are rounded.

    SALib's analyses take this sample, not the rounded one: Morris reads each step's
    direction from it, and rounding could merge or flatten steps (and gives an integer
    array, which SALib refuses). Seeded, so the analysis redraws exactly what was run.
    """
    if sweep.design == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(sweep.parameters), seed=sweep.seed).random(sweep.samples)
        low = np.array([p.range[0] for p in sweep.parameters])
        high = np.array([p.range[1] for p in sweep.parameters])
        values = qmc.scale(unit, low, high)
    elif sweep.design == "sobol":
        from SALib.sample import sobol

        values = sobol.sample(
            salib_problem(sweep), sweep.samples, calc_second_order=False, seed=sweep.seed
        )
    elif sweep.design == "morris":
        from SALib.sample import morris

        values = morris.sample(
            salib_problem(sweep), sweep.samples, num_levels=sweep.morris_levels, seed=sweep.seed
        )
    else:
        raise ValueError(f"a {sweep.design} design is not sampled")
    return np.asarray(values, dtype=float)


def design_points(sweep: Sweep) -> pd.DataFrame:
    """One row per design point (``point`` 0, 1, …), one column per parameter (its
    ``column`` name)."""
    names = [p.column for p in sweep.parameters]
    if sweep.design == "grid":
        rows = list(itertools.product(*(_grid_values(p) for p in sweep.parameters)))
        frame = pd.DataFrame(rows, columns=names)
    else:
        frame = pd.DataFrame(sample(sweep), columns=names)
        for p in sweep.parameters:
            if p.integer:
                frame[p.column] = frame[p.column].round().astype(np.int64)
    frame.insert(0, "point", np.arange(len(frame), dtype=np.int64))
    return frame
