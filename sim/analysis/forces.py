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
    horizon = forces["end_day"].max() if len(forces) else 0.0
    days = np.unique(np.asarray(days, dtype=float))
    days = days[(days >= 0.0) & (days <= horizon)]
    # the spell holding just before t has start_day < t; at day 0 it is the one from day 0
    probe = np.where(days > 0.0, days, np.nextafter(0.0, 1.0))
    keys = forces[KEYS].drop_duplicates()
    grid = keys.merge(pd.DataFrame({"day": days, "_probe": probe}), how="cross")
    grid = grid.sort_values("_probe", kind="stable")
    spells = forces[[*KEYS, "start_day", "personnel"]].sort_values("start_day", kind="stable")
    found = pd.merge_asof(
        grid,
        spells,
        left_on="_probe",
        right_on="start_day",
        by=KEYS,
        allow_exact_matches=False,
    )
    found = found.sort_values(["replication", "day"], kind="stable").reset_index(drop=True)
    origin = (forces["start_date"] - pd.to_timedelta(forces["start_day"], unit="D")).iloc[0]
    found["date"] = (origin + pd.to_timedelta(found["day"], unit="D")).astype("datetime64[s]")
    found["personnel"] = found["personnel"].astype("int64")
    return found[["replication", "day", "date", "site", "role", "personnel"]]
