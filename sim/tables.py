"""The tables one replication produces, with their documented columns.

Every table is tidy and labelled: a ``replication`` column, simulation ``day`` (days since
the scenario's start date) and the calendar ``date`` beside it, and names rather than codes.
``TABLES`` below is the reference for column names and dtypes (docs and tests read it).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.clock import to_dates
from sim.model.border import OUTCOMES

if TYPE_CHECKING:
    from sim.model.world import World

DATE = "datetime64[s]"
TABLES: dict[str, dict[str, str]] = {
    "forces": {
        "replication": "int64",
        "day": "float64",
        "date": DATE,
        "site": "str",
        "role": "str",
        "personnel": "int64",
    },
    "posture": {
        "replication": "int64",
        "day": "float64",
        "date": DATE,
        "in_iraq": "int64",
        "in_syria": "int64",
        "out_of_theatre": "int64",
        "in_transit": "int64",
    },
    "movements": {
        "replication": "int64",
        "lift": "int64",
        "asset": "str",
        "owner": "str",
        "purpose": "str",
        "origin": "str",
        "destination": "str",
        "depart_day": "float64",
        "arrive_day": "float64",
        "depart_date": DATE,
        "arrive_date": DATE,
        "personnel": "int64",
    },
    "phases": {
        "replication": "int64",
        "phase": "str",
        "start_day": "float64",
        "complete_day": "float64",
    },
    "policy": {
        "replication": "int64",
        "rule": "str",
        "day": "float64",
        "date": DATE,
        "action": "str",
        "signal_value": "float64",
    },
    "incidents": {
        "replication": "int64",
        "incident": "int64",
        "process": "str",
        "sector": "str",
        "actor": "str",
        "type": "str",
        "day": "float64",
        "date": DATE,
        "severity": "float64",
        "parent": "int64",
        "cluster": "int64",
        "detected": "bool",
        "response_start_day": "float64",
        "response_end_day": "float64",
        "wait_days": "float64",
        "outcome": "str",
    },
    "daily": {
        "replication": "int64",
        "day": "float64",
        "date": DATE,
        "sector": "str",
        "incidents": "int64",
        "interdicted": "int64",
        "missed": "int64",
        "undetected": "int64",
        "pending": "int64",
        "severity": "float64",
        "backlog": "int64",
        "utilisation": "float64",
        "intensity_per_day": "float64",
    },
}
KPI_COLUMNS = {
    "replication": "int64",
    "seed": "int64",
    "below_threshold_day": "float64",
    "final_in_iraq": "int64",
    "repositioning_triggers": "int64",
    "peak_moved_per_day": "int64",
    "incidents": "int64",
    "interdicted": "int64",
    "missed": "int64",
    "undetected": "int64",
    "interdiction_rate": "float64",
    "triggered_fraction": "float64",
    "severity_total": "float64",
    "severity_unstopped": "float64",
    "mean_wait_days": "float64",
    "max_backlog": "int64",
}
"""KPI columns present in every run; ``complete_day_<phase>`` columns follow, one per phase."""


def _frame(name: str, columns: dict[str, object]) -> pd.DataFrame:
    schema = TABLES[name]
    return pd.DataFrame({col: pd.Series(columns[col]).astype(schema[col]) for col in schema})


def _forces(w: World, rep: int, dates: np.ndarray) -> dict[str, pd.DataFrame]:
    p = w.posture
    data = w.recorder.forces  # (time, site + transit, role)
    n_t, n_s, n_r = data.shape
    sites = np.array([*p.sites, "in_transit"], dtype=object)
    forces = {
        "replication": np.full(data.size, rep),
        "day": np.repeat(w.times, n_s * n_r),
        "date": np.repeat(dates, n_s * n_r),
        "site": np.tile(np.repeat(sites, n_r), n_t),
        "role": np.tile(np.array(p.roles, dtype=object), n_t * n_s),
        "personnel": data.reshape(-1),
    }
    per_site = data.sum(axis=2)
    country = np.array(p.country)
    posture = {
        "replication": np.full(n_t, rep),
        "day": w.times,
        "date": dates,
        "in_iraq": per_site[:, :-1][:, country == "iraq"].sum(axis=1),
        "in_syria": per_site[:, :-1][:, country == "syria"].sum(axis=1),
        "out_of_theatre": per_site[:, :-1][:, country == "out_of_theatre"].sum(axis=1),
        "in_transit": per_site[:, -1],
    }
    return {"forces": _frame("forces", forces), "posture": _frame("posture", posture)}


def _movements(w: World, rep: int) -> pd.DataFrame:
    start = w.scenario.clock.start_date
    moves = w.movements
    depart = np.array([m.depart_day for m in moves], dtype=float)
    arrive = np.array([m.arrive_day for m in moves], dtype=float)
    return _frame(
        "movements",
        {
            "replication": np.full(len(moves), rep),
            "lift": [m.lift for m in moves],
            "asset": [m.asset for m in moves],
            "owner": [m.owner for m in moves],
            "purpose": [m.purpose for m in moves],
            "origin": [m.origin for m in moves],
            "destination": [m.destination for m in moves],
            "depart_day": depart,
            "arrive_day": arrive,
            "depart_date": to_dates(depart, start),
            "arrive_date": to_dates(arrive, start),
            "personnel": [m.personnel for m in moves],
        },
    )


def _incidents(w: World, rep: int) -> pd.DataFrame:
    log = w.border.log
    s = w.scenario
    processes = s.threats.processes
    proc = np.array(log.process, dtype=np.int64)
    day = np.array(log.day, dtype=float)
    start = np.array(log.response_start, dtype=float)
    names = np.array([p.name for p in processes] or [""], dtype=object)
    sectors = np.array([p.sector for p in processes] or [""], dtype=object)
    actors = np.array([p.actor for p in processes] or [""], dtype=object)
    types = np.array(w.border.type_names, dtype=object)
    return _frame(
        "incidents",
        {
            "replication": np.full(len(day), rep),
            "incident": np.arange(len(day)),
            "process": names[proc],
            "sector": sectors[proc],
            "actor": actors[proc],
            "type": types[np.array(log.type, dtype=np.int64)],
            "day": day,
            "date": to_dates(day, s.clock.start_date),
            "severity": log.severity,
            "parent": log.parent,
            "cluster": log.cluster,
            "detected": np.array(log.detected, dtype=bool),
            "response_start_day": start,
            "response_end_day": log.response_end,
            "wait_days": start - day,
            "outcome": np.array(OUTCOMES, dtype=object)[np.array(log.outcome, dtype=np.int64)],
        },
    )


def _daily(w: World, rep: int, dates: np.ndarray, incidents: pd.DataFrame) -> pd.DataFrame:
    sectors = [s.name for s in w.scenario.border.sectors]
    times = w.times
    n_i, n_s = len(times) - 1, len(sectors)
    # interval k (row k) is [times[k], times[k+1]): its snapshot is the one at times[k+1]
    bucket = np.searchsorted(times, incidents["day"].to_numpy(), side="right") - 1
    sector_code = pd.Categorical(incidents["sector"], categories=sectors).codes
    flat = bucket * n_s + sector_code
    size = n_i * n_s

    def count(mask=None, weights=None) -> np.ndarray:
        keep = flat if mask is None else flat[mask]
        w_ = None if weights is None else (weights if mask is None else weights[mask])
        return np.bincount(keep, weights=w_, minlength=size)[:size]

    outcome = incidents["outcome"].to_numpy()
    units = np.array([s.response_units for s in w.scenario.border.sectors], dtype=float)
    busy = np.diff(w.recorder.busy, axis=0)  # unit-days per interval
    width = np.diff(times)[:, None]
    return _frame(
        "daily",
        {
            "replication": np.full(size, rep),
            "day": np.repeat(times[1:], n_s),
            "date": np.repeat(dates[1:], n_s),
            "sector": np.tile(np.array(sectors, dtype=object), n_i),
            "incidents": count().astype(np.int64),
            **{o: count(outcome == o).astype(np.int64) for o in OUTCOMES},
            "severity": count(weights=incidents["severity"].to_numpy()),
            "backlog": w.recorder.backlog[1:].reshape(-1),
            "utilisation": (busy / (width * units[None, :])).reshape(-1),
            "intensity_per_day": w.recorder.intensity[1:].reshape(-1),
        },
    )


def _kpis(w: World, rep: int, incidents: pd.DataFrame, daily: pd.DataFrame) -> pd.DataFrame:
    outcome = incidents["outcome"]
    n = len(incidents)
    waits = incidents["wait_days"].dropna()
    row: dict[str, object] = {
        "replication": rep,
        "seed": w.root_seed,
        "below_threshold_day": w.below_threshold_day,
        "final_in_iraq": int(
            w.recorder.forces[-1, :-1][np.array(w.posture.country) == "iraq"].sum()
        ),
        "repositioning_triggers": sum(e.action == "hold" for e in w.drawdown.policy_events),
        "peak_moved_per_day": max(w.moved_per_day.values(), default=0),
        "incidents": n,
        "interdicted": int((outcome == "interdicted").sum()),
        "missed": int((outcome == "missed").sum()),
        "undetected": int((outcome == "undetected").sum()),
        "interdiction_rate": float((outcome == "interdicted").mean()) if n else math.nan,
        "triggered_fraction": float((incidents["parent"] >= 0).mean()) if n else math.nan,
        "severity_total": float(incidents["severity"].sum()),
        "severity_unstopped": float(
            incidents.loc[outcome.isin(["missed", "undetected"]), "severity"].sum()
        ),
        "mean_wait_days": float(waits.mean()) if len(waits) else math.nan,
        "max_backlog": int(daily["backlog"].max()) if len(daily) else 0,
    }
    frame = pd.DataFrame([row]).astype(KPI_COLUMNS)
    for name, phase in w.drawdown.phases.items():
        done = phase.complete_day
        frame[f"complete_day_{name}"] = math.nan if done is None else float(done)
    return frame


def build_tables(w: World) -> dict[str, pd.DataFrame]:
    rep = w.replication
    start = w.scenario.clock.start_date
    dates = to_dates(w.times, start)
    tables = _forces(w, rep, dates)
    tables["movements"] = _movements(w, rep)
    phases = list(w.drawdown.phases.values())
    tables["phases"] = _frame(
        "phases",
        {
            "replication": np.full(len(phases), rep),
            "phase": [p.spec.name for p in phases],
            "start_day": [math.nan if p.started_day is None else p.started_day for p in phases],
            "complete_day": [
                math.nan if p.complete_day is None else p.complete_day for p in phases
            ],
        },
    )
    events = w.drawdown.policy_events
    event_days = np.array([e.day for e in events], dtype=float)
    tables["policy"] = _frame(
        "policy",
        {
            "replication": np.full(len(events), rep),
            "rule": [e.rule for e in events],
            "day": event_days,
            "date": to_dates(event_days, start),
            "action": [e.action for e in events],
            "signal_value": [e.signal_value for e in events],
        },
    )
    incidents = _incidents(w, rep)
    tables["incidents"] = incidents
    tables["daily"] = _daily(w, rep, dates, incidents)
    tables["kpis"] = _kpis(w, rep, incidents, tables["daily"])
    return tables
