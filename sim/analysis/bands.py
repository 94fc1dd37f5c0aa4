"""Mean and 95% t-based confidence bands of a recorded series across replications."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def mean_band(frame: pd.DataFrame, value: str, by: list[str], level: float = 0.95) -> pd.DataFrame:
    """Per group of ``by``: n, mean, the t-interval of the mean, and the 5th/95th percentiles.

    ``frame`` holds one row per replication and group (sum first if it does not).
    """
    grouped = frame.groupby(by, sort=True, observed=True)[value]
    out = grouped.agg(n="count", mean="mean", std="std").reset_index()
    q = grouped.quantile([0.05, 0.95]).unstack()
    out["p05"] = q[0.05].to_numpy()
    out["p95"] = q[0.95].to_numpy()
    dof = np.maximum(out["n"].to_numpy() - 1, 1)
    half = stats.t.ppf(0.5 + level / 2, dof) * out["std"].fillna(0).to_numpy() / np.sqrt(out["n"])
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out
