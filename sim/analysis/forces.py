"""Personnel by site and role on any grid of days, from the ``forces`` spells.

The ``forces`` table stores each (site, role) series exactly, as spells ``[start_day,
end_day)`` of constant personnel: a few hundred rows per replication instead of one per
record time, site and role (30,000 for the baseline). ``forces_at`` puts the series back on
whatever days a figure or a comparison needs, with the recorder's convention: the value at
day t is the state *before* any event of that instant.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np

from sim.analysis.bands import as_numpy, factorize

if TYPE_CHECKING:
    import pandas as pd

KEYS = ["replication", "site", "role"]


def forces_at(forces: pd.DataFrame, days) -> pd.DataFrame:
    """Personnel by site and role on given days, from a run's ``forces`` table.

    Parameters
    ----------
    forces
        The ``forces`` table (``sim.load_results(run_dir).table("forces")``): spells of
        constant personnel.
    days
        Days since the start (numbers); those outside ``[0, horizon]`` are dropped.

    Returns
    -------
    pandas.DataFrame
        Columns ``replication, day, date, site, role, personnel``, by replication, then day,
        then site and role in the order of the spells.
    """
    import pandas as pd  # here: the run figures use site_totals, and no pandas

    columns = ["replication", "day", "date", "site", "role", "personnel"]
    if forces.empty:
        return pd.DataFrame({c: pd.Series(dtype=forces.get(c, pd.Series()).dtype) for c in columns})
    horizon = forces["end_day"].max()
    days = np.unique(np.asarray(days, dtype=float))
    days = days[(days >= 0.0) & (days <= horizon)]
    keys = forces[KEYS].drop_duplicates()
    grid = keys.merge(pd.DataFrame({"day": days}), how="cross").sort_values("day", kind="stable")
    spells = forces[[*KEYS, "start_day", "personnel"]].sort_values("start_day", kind="stable")
    # before any event at t > 0 holds the last spell starting strictly before t ...
    found = pd.merge_asof(
        grid, spells, left_on="day", right_on="start_day", by=KEYS, allow_exact_matches=False
    )
    # ... and at day 0 the first spell, the state at the start (it may last no time at all)
    first = spells.drop_duplicates(KEYS, keep="first").set_index(KEYS)["personnel"]
    at_start = found["day"] == 0.0
    found.loc[at_start, "personnel"] = first.reindex(
        pd.MultiIndex.from_frame(found.loc[at_start, KEYS])
    ).to_numpy()
    found = found.sort_values(["replication", "day"], kind="stable").reset_index(drop=True)
    origin = (forces["start_date"] - pd.to_timedelta(forces["start_day"], unit="D")).iloc[0]
    found["date"] = (origin + pd.to_timedelta(found["day"], unit="D")).astype("datetime64[s]")
    found["personnel"] = found["personnel"].astype("int64")
    return found[columns]


def site_totals(
    forces: Mapping, days, cells: int = 4_000_000
) -> tuple[np.ndarray, np.ndarray, Iterator[tuple[np.ndarray, np.ndarray]]]:
    """Personnel of each site (all roles) in each replication on each of ``days``: what
    ``forces_at`` gives summed over roles, as arrays, in chunks of replications.

    ``forces`` maps the ``forces`` columns to arrays (a DataFrame does). Returns ``(sites,
    days, chunks)``: the site names (sorted), the days kept (sorted, in ``[0, horizon]``)
    and an iterator of ``(values, present)`` per chunk of replications, ``values[r, s, d]``
    the personnel and ``present[r, s]`` whether replication ``r`` has site ``s`` at all.
    A chunk holds about ``cells`` values, so memory stays bounded for any run.
    """
    rep, _ = factorize(forces["replication"])
    site, sites = factorize(forces["site"])
    role, roles = factorize(forces["role"])
    start = as_numpy(forces["start_day"]).astype(float)
    end = as_numpy(forces["end_day"]).astype(float)
    personnel = as_numpy(forces["personnel"]).astype(float)  # whole numbers: exact sums
    keep = (rep >= 0) & (site >= 0) & (role >= 0)  # a missing key drops, as in groupby
    if not keep.all():
        rep, site, role, start, end, personnel = (
            a[keep] for a in (rep, site, role, start, end, personnel)
        )
    horizon = end.max() if len(end) else 0.0
    days = np.unique(np.asarray(days, dtype=float))
    days = days[(days >= 0.0) & (days <= horizon)]
    n_sites, n_days = len(sites), len(days)
    # a spell [start, end) holds the value *before* any event at t for start < t <= end ...
    first_day = np.searchsorted(days, start, side="right")
    past_day = np.searchsorted(days, end, side="right")
    # ... and day 0 holds each series' first spell, the state at the start
    order = np.argsort(start, kind="stable")
    key = (rep[order] * n_sites + site[order]) * len(roles) + role[order]
    at_start = np.zeros(len(start), dtype=bool)
    if n_days and days[0] == 0.0:
        at_start[order[np.unique(key, return_index=True)[1]]] = True
    replications = int(rep.max()) + 1 if len(rep) else 0
    step = max(1, cells // max(1, n_sites * (n_days + 1)))

    def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        by_rep = np.argsort(rep, kind="stable")
        bounds = np.searchsorted(rep[by_rep], np.arange(0, replications + step, step))
        for low, (a, b) in enumerate(itertools.pairwise(bounds)):
            rows = by_rep[a:b]
            count = min(step, replications - low * step)
            series = (rep[rows] - low * step) * n_sites + site[rows]
            cell = series * (n_days + 1)
            size = count * n_sites * (n_days + 1)
            p = personnel[rows]
            diff = np.bincount(cell + first_day[rows], p, size)
            diff -= np.bincount(cell + past_day[rows], p, size)
            zero = at_start[rows]
            diff += np.bincount(cell[zero], p[zero], size)
            diff -= np.bincount(cell[zero] + 1, p[zero], size)
            values = diff.reshape(count, n_sites, n_days + 1).cumsum(axis=2)[:, :, :n_days]
            present = np.bincount(series, minlength=count * n_sites).reshape(count, n_sites)
            yield values, present > 0

    return sites, days, chunks()
