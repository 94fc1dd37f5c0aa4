"""Simulation time.

The model keeps time as a float number of days since the scenario's ``start_date``;
scenario files speak in ISO dates. These two helpers are the only place that converts
between them, so no other module does date arithmetic of its own.
"""

from __future__ import annotations

import datetime as dt

import numpy as np


def to_day(date: dt.date, start: dt.date) -> float:
    """Days from ``start`` to ``date`` (negative when ``date`` comes first)."""
    return float((date - start).days)


def to_dates(days: np.ndarray, start: dt.date) -> np.ndarray:
    """Timestamps for an array of simulation days, to the second, as ``datetime64[ms]``: the
    unit the tables keep, which Parquet, pandas, pyarrow and DuckDB all read alike."""
    origin = np.datetime64(start, "s")
    days = np.asarray(days, dtype=float)
    finite = np.isfinite(days)
    seconds = np.round(np.where(finite, days, 0.0) * 86_400.0).astype("int64")
    dates = (origin + seconds.astype("timedelta64[s]")).astype("datetime64[ms]")
    dates[~finite] = np.datetime64("NaT")  # never (an arrival after an infinite transit)
    return dates
