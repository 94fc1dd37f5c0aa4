"""A run's incidents (and Syrian-side activity) in the columns of an ACLED or UCDP GED export.

Simulated data can then go through the calibration pipeline, and through any tool built for
those datasets. Every row says it is synthetic: ACLED's ``notes`` and ``source`` and GED's
``source_article`` name withdrawal-sim, the run and the replication. Positions are the
incidents' places along the border (docs/model.md §6.4) and the activity processes' places,
so the run needs a geography. Dates are the day of each event; the model's incident types
map to ACLED event types (``EVENT_TYPES``) and to GED's type of violence 2 (non-state).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config.errors import Position, Problem, ScenarioError
from sim.experiment.results import load_results
from sim.experiment.store import atomic_write_bytes

ACTOR_NAMES = {"isis": "Islamic State (Iraq)", "al_qaeda": "Al Qaeda"}
EVENT_TYPES = {"attack": "Explosions/Remote violence", "infiltration": "Strategic developments"}
ACTIVITY_TYPE = "Battles"
IRAQI_FORCES = "Military Forces of Iraq (2022-)"


def _events(run_dir: Path, replication: int) -> tuple[pd.DataFrame, str]:
    run = load_results(run_dir)
    name = run.manifest.scenario or run_dir.name
    if replication not in set(run.kpis["replication"]):
        raise ScenarioError(
            [
                Problem(
                    Position(str(run_dir)),
                    ("replication",),
                    f"no replication {replication} in this run "
                    f"(it has {run.kpis['replication'].nunique()})",
                )
            ]
        )
    incidents = run.incidents[run.incidents["replication"] == replication]
    if incidents["latitude"].isna().any():
        raise ScenarioError(
            [Problem(Position(str(run_dir)), (), "the run has no geography: no positions")]
        )
    activity = run.activity[run.activity["replication"] == replication]
    rows = pd.concat(
        [
            pd.DataFrame(
                {
                    "id": incidents["incident"].to_numpy(),
                    "date": incidents["date"].dt.strftime("%Y-%m-%d").to_numpy(),
                    "actor": incidents["actor"].astype(str).to_numpy(),
                    "type": incidents["type"].astype(str).map(EVENT_TYPES).fillna("Battles"),
                    "where": incidents["sector"].astype(str).to_numpy(),
                    "latitude": incidents["latitude"].to_numpy(),
                    "longitude": incidents["longitude"].to_numpy(),
                    "country": "Iraq",
                    "detected": incidents["detected"].to_numpy(),
                }
            ),
            pd.DataFrame(
                {
                    "id": activity["event"].to_numpy(),
                    "date": activity["date"].dt.strftime("%Y-%m-%d").to_numpy(),
                    "actor": activity["actor"].astype(str).to_numpy(),
                    "type": ACTIVITY_TYPE,
                    "where": activity["place"].astype(str).to_numpy(),
                    "latitude": activity["latitude"].to_numpy(),
                    "longitude": activity["longitude"].to_numpy(),
                    "country": "Syria",
                    "detected": False,
                }
            ),
        ],
        ignore_index=True,
    )
    return rows.sort_values("id", ignore_index=True), name


def _acled(rows: pd.DataFrame, note: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id_cnty": [f"SIM{i}" for i in rows["id"]],
            "event_date": rows["date"],
            "year": rows["date"].str[:4],
            "time_precision": 1,
            "event_type": rows["type"],
            "sub_event_type": rows["type"],
            "actor1": rows["actor"].map(ACTOR_NAMES).fillna(rows["actor"]),
            "assoc_actor_1": "",
            "actor2": np.where(rows["detected"], IRAQI_FORCES, ""),
            "iso": np.where(rows["country"] == "Iraq", 368, 760),
            "country": rows["country"],
            "admin1": rows["where"],
            "admin2": "",
            "admin3": "",
            "latitude": rows["latitude"].round(5),
            "longitude": rows["longitude"].round(5),
            "geo_precision": 1,
            "source": "withdrawal-sim (synthetic)",
            "notes": note,
            "fatalities": 0,
        }
    )


def _ged(rows: pd.DataFrame, note: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": rows["id"],
            "type_of_violence": 2,
            "side_a": rows["actor"].map(ACTOR_NAMES).fillna(rows["actor"]),
            "side_b": np.where(rows["detected"], IRAQI_FORCES, ""),
            "where_prec": 1,
            "date_prec": 1,
            "date_start": rows["date"],
            "date_end": rows["date"],
            "country": rows["country"],
            "adm_1": rows["where"],
            "latitude": rows["latitude"].round(5),
            "longitude": rows["longitude"].round(5),
            "best": 0,
            "low": 0,
            "high": 0,
            "source_article": note,
        }
    )


def export_events(
    run_dir: str | Path, out: str | Path, format_name: str = "acled", replication: int = 0
) -> Path:
    """Write replication ``replication`` of the run at ``run_dir`` to ``out`` (CSV)."""
    run_dir, out = Path(run_dir), Path(out)
    rows, scenario = _events(run_dir, replication)
    note = (
        f"SYNTHETIC: simulated by withdrawal-sim, scenario {scenario}, run {run_dir.name}, "
        f"replication {replication}; not an observed event"
    )
    table = (_acled if format_name == "acled" else _ged)(rows, note)
    atomic_write_bytes(out, table.to_csv(index=False, quoting=csv.QUOTE_MINIMAL).encode("utf-8"))
    return out
