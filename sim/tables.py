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
        "site": "str",
        "role": "str",
        "start_day": "float64",
        "end_day": "float64",
        "start_date": DATE,
        "end_date": DATE,
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


Columns = dict[str, np.ndarray]


def _col(values, dtype=None) -> np.ndarray:
    return np.asarray(values, dtype=dtype)


def _spells(change_days: np.ndarray, states: np.ndarray, horizon: float):
    """Maximal intervals ``[start, end)`` over which each column of ``states`` is constant.

    ``states[k]`` holds from ``change_days[k]`` (the first from day 0) until the next change;
    of several changes at one instant only the last state held for any time.
    """
    days = np.maximum(change_days, 0.0)
    held = np.append(days[1:] != days[:-1], True)
    days, states = days[held], states[held]
    changed = np.ones(states.shape, dtype=bool)
    changed[1:] = states[1:] != states[:-1]
    column, k = np.nonzero(changed.T)  # spells of column 0 first, each in time order
    start = days[k]
    same_column_next = np.append(column[1:] == column[:-1], False)
    end = np.where(same_column_next, np.append(start[1:], horizon), horizon)
    return column, start, end, states[k, column]


def _forces(w: World, rep: int, dates: np.ndarray) -> dict[str, Columns]:
    p = w.posture
    states = w.recorder.states()  # (change, site + transit, role)
    n_r = states.shape[2]
    start_date = w.scenario.clock.start_date
    column, start, end, personnel = _spells(
        np.array(w.recorder.change_days), states.reshape(len(states), -1), w.scenario.horizon_days
    )
    sites = np.array([*p.sites, "in_transit"], dtype=object)
    forces = {
        "replication": np.full(len(column), rep),
        "site": sites[column // n_r],
        "role": np.array(p.roles, dtype=object)[column % n_r],
        "start_day": start,
        "end_day": end,
        "start_date": to_dates(start, start_date),
        "end_date": to_dates(end, start_date),
        "personnel": personnel,
    }
    per_site = w.recorder.forces.sum(axis=2)  # (record time, site + transit)
    n_t = len(w.times)
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
    return {"forces": forces, "posture": posture}


def _movements(w: World, rep: int) -> Columns:
    start = w.scenario.clock.start_date
    moves = w.movements
    depart = _col([m.depart_day for m in moves], float)
    arrive = _col([m.arrive_day for m in moves], float)
    return {
        "replication": np.full(len(moves), rep),
        "lift": _col([m.lift for m in moves], np.int64),
        "asset": _col([m.asset for m in moves], object),
        "owner": _col([m.owner for m in moves], object),
        "purpose": _col([m.purpose for m in moves], object),
        "origin": _col([m.origin for m in moves], object),
        "destination": _col([m.destination for m in moves], object),
        "depart_day": depart,
        "arrive_day": arrive,
        "depart_date": to_dates(depart, start),
        "arrive_date": to_dates(arrive, start),
        "personnel": _col([m.personnel for m in moves], np.int64),
    }


def _phases(w: World, rep: int) -> Columns:
    phases = list(w.drawdown.phases.values())
    return {
        "replication": np.full(len(phases), rep),
        "phase": _col([p.spec.name for p in phases], object),
        "start_day": _col(
            [np.nan if p.started_day is None else p.started_day for p in phases], float
        ),
        "complete_day": _col(
            [np.nan if p.complete_day is None else p.complete_day for p in phases], float
        ),
    }


def _policy(w: World, rep: int) -> Columns:
    events = w.drawdown.policy_events
    days = _col([e.day for e in events], float)
    return {
        "replication": np.full(len(events), rep),
        "rule": _col([e.rule for e in events], object),
        "day": days,
        "date": to_dates(days, w.scenario.clock.start_date),
        "action": _col([e.action for e in events], object),
        "signal_value": _col([e.signal_value for e in events], float),
    }


def _incidents(w: World, rep: int) -> Columns:
    log = w.border.log
    s = w.scenario
    processes = s.threats.processes
    proc = _col(log.process, np.int64)
    day = _col(log.day, float)
    start = _col(log.response_start, float)
    names = np.array([p.name for p in processes] or [""], dtype=object)
    sectors = np.array([p.sector for p in processes] or [""], dtype=object)
    actors = np.array([p.actor for p in processes] or [""], dtype=object)
    types = np.array(w.border.type_names, dtype=object)
    return {
        "replication": np.full(len(day), rep),
        "incident": np.arange(len(day)),
        "process": names[proc],
        "sector": sectors[proc],
        "actor": actors[proc],
        "type": types[_col(log.type, np.int64)],
        "day": day,
        "date": to_dates(day, s.clock.start_date),
        "severity": _col(log.severity, float),
        "parent": _col(log.parent, np.int64),
        "cluster": _col(log.cluster, np.int64),
        "detected": _col(log.detected, bool),
        "response_start_day": start,
        "response_end_day": _col(log.response_end, float),
        "wait_days": start - day,
        "outcome": np.array(OUTCOMES, dtype=object)[_col(log.outcome, np.int64)],
    }


def _daily(w: World, rep: int, dates: np.ndarray, incidents: Columns) -> Columns:
    sector_specs = w.scenario.border.sectors
    times = w.times
    n_i, n_s = len(times) - 1, len(sector_specs)
    # interval k (row k) is [times[k], times[k+1]): its record is the one at times[k+1]
    bucket = np.searchsorted(times, incidents["day"], side="right") - 1
    sector_of_process = np.array(
        [[s.name for s in sector_specs].index(p.sector) for p in w.scenario.threats.processes]
        or [0],
        dtype=np.int64,
    )
    log_process = _col(w.border.log.process, np.int64)
    flat = bucket * n_s + sector_of_process[log_process]
    size = n_i * n_s

    def count(mask=None, weights=None) -> np.ndarray:
        keep = flat if mask is None else flat[mask]
        weights_kept = None if weights is None else (weights if mask is None else weights[mask])
        return np.bincount(keep, weights=weights_kept, minlength=size)[:size]

    outcome = incidents["outcome"]
    units = np.array([s.response_units for s in sector_specs], dtype=float)
    busy = np.diff(w.recorder.busy, axis=0)  # unit-days per interval
    width = np.diff(times)[:, None]
    return {
        "replication": np.full(size, rep),
        "day": np.repeat(times[1:], n_s),
        "date": np.repeat(dates[1:], n_s),
        "sector": np.tile(np.array([s.name for s in sector_specs], dtype=object), n_i),
        "incidents": count().astype(np.int64),
        **{o: count(outcome == o).astype(np.int64) for o in OUTCOMES},
        "severity": count(weights=incidents["severity"]).astype(float),
        "backlog": w.recorder.backlog[1:].reshape(-1),
        "utilisation": (busy / (width * units[None, :])).reshape(-1),
        "intensity_per_day": w.recorder.intensity[1:].reshape(-1),
    }


def _mean_or_nan(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else math.nan


def _kpis(w: World, rep: int, incidents: Columns, daily: Columns) -> Columns:
    outcome = incidents["outcome"]
    severity = incidents["severity"]
    waits = incidents["wait_days"][~np.isnan(incidents["wait_days"])]
    interdicted = outcome == "interdicted"
    unstopped = (outcome == "missed") | (outcome == "undetected")
    row: dict[str, object] = {
        "replication": rep,
        "seed": w.root_seed,
        "below_threshold_day": w.below_threshold_day,
        "final_in_iraq": int(
            w.recorder.forces[-1, :-1][np.array(w.posture.country) == "iraq"].sum()
        ),
        "repositioning_triggers": sum(e.action == "hold" for e in w.drawdown.policy_events),
        "peak_moved_per_day": max(w.moved_per_day.values(), default=0),
        "incidents": len(outcome),
        "interdicted": int(interdicted.sum()),
        "missed": int((outcome == "missed").sum()),
        "undetected": int((outcome == "undetected").sum()),
        "interdiction_rate": _mean_or_nan(interdicted),
        "triggered_fraction": _mean_or_nan(incidents["parent"] >= 0),
        "severity_total": float(severity.sum()),
        "severity_unstopped": float(severity[unstopped].sum()),
        "mean_wait_days": _mean_or_nan(waits),
        "max_backlog": int(daily["backlog"].max()) if len(daily["backlog"]) else 0,
    }
    for name, phase in w.drawdown.phases.items():
        row[f"complete_day_{name}"] = math.nan if phase.complete_day is None else phase.complete_day
    return {key: np.array([value]) for key, value in row.items()}


def build_columns(w: World) -> dict[str, Columns]:
    """The replication's tables as columns of numpy arrays (cheap to concatenate)."""
    rep = w.replication
    dates = to_dates(w.times, w.scenario.clock.start_date)
    tables = _forces(w, rep, dates)
    tables["movements"] = _movements(w, rep)
    tables["phases"] = _phases(w, rep)
    tables["policy"] = _policy(w, rep)
    incidents = _incidents(w, rep)
    tables["incidents"] = incidents
    tables["daily"] = _daily(w, rep, dates, incidents)
    tables["kpis"] = _kpis(w, rep, incidents, tables["daily"])
    return tables


def to_frames(parts: list[dict[str, Columns]]) -> dict[str, pd.DataFrame]:
    """Concatenate the columns of several replications into one typed DataFrame per table."""
    frames = {}
    for name in parts[0]:
        schema = KPI_COLUMNS if name == "kpis" else TABLES[name]
        data = {}
        for column in parts[0][name]:
            joined = np.concatenate([part[name][column] for part in parts])
            data[column] = pd.array(joined, dtype=schema.get(column, "float64"))
        frames[name] = pd.DataFrame(data, copy=False)
    return frames
