"""Mean and 95% t-based confidence bands of a recorded series across replications.

``mean_band`` works on a long table (one row per replication and group); ``Band`` works on
arrays with replications along the first axis, for figures that must be drawn fast from
many replications. Both use the same t-interval, so a figure and a table agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import special  # the t quantile only: scipy.stats costs ~0.4 s to import

if TYPE_CHECKING:
    import pandas as pd


def t_quantile(probability: float, dof) -> np.ndarray:
    """The ``probability`` quantile of Student's t with ``dof`` degrees of freedom (what
    ``scipy.stats.t.ppf`` computes, by the same function)."""
    return special.stdtrit(dof, probability)


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
    half = t_quantile(0.5 + level / 2, dof) * out["std"].fillna(0).to_numpy() / np.sqrt(out["n"])
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out


def as_numpy(values) -> np.ndarray:
    """``values`` (numpy, pandas or pyarrow) as a numpy array.

    A pyarrow array of numbers or timestamps without missing values is read from its data
    buffer, as the Arrow format lays it out; strings through Python. pyarrow's own
    ``to_numpy`` goes through its pandas bridge, which imports pandas: 0.3 s to start and
    0.1 s to end a process that draws the run figures and needs no pandas otherwise.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        return np.asarray(values)
    kind = values.type
    dtype = None
    if pa.types.is_timestamp(kind) and kind.tz is None:
        dtype = np.dtype(f"datetime64[{kind.unit}]")
    elif pa.types.is_integer(kind) or pa.types.is_floating(kind):
        dtype = np.dtype(kind.to_pandas_dtype())
    if dtype is not None and not values.null_count:
        if not len(values):
            return np.empty(0, dtype)
        data = values.buffers()[1]
        return np.frombuffer(data, dtype, len(values), values.offset * dtype.itemsize)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return np.array(values.to_pylist(), dtype=object)
    return values.to_numpy(zero_copy_only=False)


def factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """Each value's index among the distinct values, and those values, sorted; -1 for a
    missing value. ``values`` is numpy, pandas or pyarrow: hashing in pyarrow keeps this
    fast for a million strings."""
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(values)
    if pa.types.is_dictionary(values.type):  # sectors and sites: compare their names
        values = values.cast(values.type.value_type)
    distinct = pc.drop_null(pc.unique(values))
    distinct = distinct.take(pc.array_sort_indices(distinct))
    codes = pc.index_in(values, value_set=distinct)
    if codes.null_count:
        codes = pc.fill_null(codes, -1)
    return as_numpy(codes).astype(np.int64), as_numpy(distinct)


@dataclass
class Band:
    """Count, mean and sum of squared deviations across replications, per cell of a grid.

    Fill it with ``add`` (replications along the first axis; ``present`` marks the values
    that exist), in one go or in chunks of replications: chunks merge exactly (Chan et
    al.'s pairwise update), so a figure of a million replications needs no more memory
    than one chunk.
    """

    n: np.ndarray
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> Band:
        return cls(np.zeros(shape, np.int64), np.zeros(shape), np.zeros(shape))

    @classmethod
    def of(cls, values: np.ndarray, present: np.ndarray | None = None) -> Band:
        band = cls.empty(np.shape(values)[1:])
        band.add(values, present)
        return band

    def add(self, values: np.ndarray, present: np.ndarray | None = None) -> None:
        values = np.asarray(values, dtype=float)
        if present is None:
            present = np.ones(values.shape, dtype=bool)
        present = np.broadcast_to(present, values.shape)
        n = present.sum(axis=0)
        safe = np.maximum(n, 1)
        mean = np.where(present, values, 0.0).sum(axis=0) / safe
        m2 = np.where(present, values - mean, 0.0)
        m2 = (m2 * m2).sum(axis=0)
        total = self.n + n
        delta = mean - self.mean
        weight = np.divide(n, total, out=np.zeros(total.shape), where=total > 0)
        self.m2 = self.m2 + m2 + delta * delta * self.n * weight
        self.mean = self.mean + delta * weight
        self.n = total

    def interval(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, and the low and high ends of its t-interval (NaN where there is no value;
        no width where there is one replication, as ``mean_band``)."""
        n = self.n
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n > 0, self.mean, np.nan)
            std = np.where(n > 1, np.sqrt(self.m2 / (n - 1)), 0.0)
            half = t_quantile(0.5 + level / 2, np.maximum(n - 1, 1)) * std / np.sqrt(n)
        return mean, mean - half, mean + half
