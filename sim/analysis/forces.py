"""Personnel by site and role on any grid of days, from the ``forces`` spells.

The ``forces`` table stores each (site, role) series exactly, as spells ``[start_day,
end_day)`` of constant personnel: a few hundred rows per replication instead of one per
record time, site and role (30,000 for the baseline). ``forces_at`` puts the series back on
whatever days a figure or a comparison needs, with the recorder's convention: the value at
day t is the state *before* any event of that instant.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["replication", "site", "role"]


def forces_at(forces: pd.DataFrame, days) -> pd.DataFrame:
    """Rows (replication, day, date, site, role, personnel) at each of ``days``.

    ``days`` outside ``[0, horizon]`` are dropped. Rows come by replication, then day,
    then site and role in the order of the spells.
    """
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
