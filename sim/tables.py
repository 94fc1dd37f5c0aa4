"""The tables one replication produces, with their documented columns.

Every table is tidy and labelled: a ``replication`` column, simulation ``day`` (days since
the scenario's start date) and the calendar ``date`` beside it, and names rather than codes.
``TABLES`` below is the reference for column names and dtypes (docs and tests read it).

A replication's tables are first built as numpy columns, names as ``Labels`` (integer codes
into a list of names), which cost little to build, to send from a worker and to join.
``to_arrow`` joins the columns of many replications into typed Arrow tables, which the store
writes as Parquet without passing through pandas; ``to_frames`` gives the same tables as
DataFrames for the in-memory API.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.clock import to_dates
from sim.model.border import OUTCOMES

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from sim.model.world import World


@dataclass(frozen=True)
class Labels:
    """A column of names stored as codes into ``names``."""

    codes: np.ndarray
    names: tuple[str, ...]

    @classmethod
    def of(cls, values: Sequence[str]) -> Labels:
        names, codes = np.unique(np.asarray(values, dtype=object), return_inverse=True)
        return cls(codes.reshape(-1), tuple(names))

    def __len__(self) -> int:
        return len(self.codes)

    def equals(self, name: str) -> np.ndarray:
        """Rows whose name is ``name``."""
        if name not in self.names:
            return np.zeros(len(self.codes), dtype=bool)
        return self.codes == self.names.index(name)


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


Columns = dict[str, np.ndarray | Labels]


def _col(values, dtype=None) -> np.ndarray:
    return np.asarray(values, dtype=dtype)


def _spells(change_days: np.ndarray, states: np.ndarray, horizon: float):
    """Maximal intervals ``[start, end)`` over which each column of ``states`` is constant.

    ``states[k]`` holds from ``change_days[k]`` (the first from day 0) until the next change;
    of several changes at one instant only the last state held for any time. The first state
    is always kept: it holds at day 0 before any event, so changes at day 0 leave a spell
    ``[0, 0)`` for it (``forces_at`` reads it at day 0, as ``posture`` records it).
    """
    days = np.maximum(change_days, 0.0)
    held = np.append(days[1:] != days[:-1], True)
    held[0] = True
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
    forces = {
        "replication": np.full(len(column), rep),
        "site": Labels(column // n_r, (*p.sites, "in_transit")),
        "role": Labels(column % n_r, tuple(p.roles)),
        "start_day": start,
        "end_day": end,
        "start_date": to_dates(start, start_date),
        "end_date": to_dates(end, start_date),
        "personnel": personnel,
    }
    by_country = w.recorder.by_country
    posture = {
        "replication": np.full(len(w.times), rep),
        "day": w.times,
        "date": dates,
        "in_iraq": by_country["iraq"],
        "in_syria": by_country["syria"],
        "out_of_theatre": by_country["out_of_theatre"],
        "in_transit": by_country["in_transit"],
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
        "asset": Labels.of([m.asset for m in moves]),
        "owner": Labels.of([m.owner for m in moves]),
        "purpose": Labels.of([m.purpose for m in moves]),
        "origin": Labels.of([m.origin for m in moves]),
        "destination": Labels.of([m.destination for m in moves]),
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
        "phase": Labels.of([p.spec.name for p in phases]),
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
        "rule": Labels.of([e.rule for e in events]),
        "day": days,
        "date": to_dates(days, w.scenario.clock.start_date),
        "action": Labels.of([e.action for e in events]),
        "signal_value": _col([e.signal_value for e in events], float),
    }


def _incidents(w: World, rep: int) -> Columns:
    log = w.border.log
    s = w.scenario
    processes = s.threats.processes
    proc = _col(log.process, np.int64)
    day = _col(log.day, float)
    start = _col(log.response_start, float)
    sector_names = tuple(sector.name for sector in s.border.sectors)
    sector_of = np.array([sector_names.index(p.sector) for p in processes], dtype=np.int64)
    actors = Labels.of([p.actor for p in processes])
    return {
        "replication": np.full(len(day), rep),
        "incident": np.arange(len(day)),
        "process": Labels(proc, tuple(p.name for p in processes)),
        "sector": Labels(sector_of[proc], sector_names),
        "actor": Labels(actors.codes[proc], actors.names),
        "type": Labels(_col(log.type, np.int64), tuple(w.border.type_names)),
        "day": day,
        "date": to_dates(day, s.clock.start_date),
        "severity": _col(log.severity, float),
        "parent": _col(log.parent, np.int64),
        "cluster": _col(log.cluster, np.int64),
        "detected": _col(log.detected, bool),
        "response_start_day": start,
        "response_end_day": _col(log.response_end, float),
        "wait_days": start - day,
        "outcome": Labels(_col(log.outcome, np.int64), OUTCOMES),
    }


def _daily(w: World, rep: int, dates: np.ndarray, incidents: Columns) -> Columns:
    sector_specs = w.scenario.border.sectors
    times = w.times
    n_i, n_s = len(times) - 1, len(sector_specs)
    # interval k (row k) is [times[k], times[k+1]): its record is the one at times[k+1]
    bucket = np.searchsorted(times, incidents["day"], side="right") - 1
    flat = bucket * n_s + incidents["sector"].codes  # codes are indices of the sectors
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
        "sector": Labels(np.tile(np.arange(n_s), n_i), tuple(s.name for s in sector_specs)),
        "incidents": count().astype(np.int64),
        **{o: count(outcome.equals(o)).astype(np.int64) for o in OUTCOMES},
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
    interdicted = outcome.equals("interdicted")
    unstopped = outcome.equals("missed") | outcome.equals("undetected")
    row: dict[str, object] = {
        "replication": rep,
        "seed": w.root_seed,
        "below_threshold_day": w.below_threshold_day,
        "final_in_iraq": int(w.recorder.by_country["iraq"][-1]),
        "repositioning_triggers": sum(e.action == "hold" for e in w.drawdown.policy_events),
        "peak_moved_per_day": max(w.moved_per_day.values(), default=0),
        "incidents": len(outcome),
        "interdicted": int(interdicted.sum()),
        "missed": int(outcome.equals("missed").sum()),
        "undetected": int(outcome.equals("undetected").sum()),
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


_ARROW_TYPES = {"int64": "int64", "float64": "float64", "bool": "bool_"}  # names are Labels


def _arrow_type(dtype: str) -> pa.DataType:
    import pyarrow as pa

    return pa.timestamp("s") if dtype == DATE else getattr(pa, _ARROW_TYPES[dtype])()


def _join_labels(columns: list[Labels]) -> pa.Array:
    """One string array from the labels of several parts (their names may differ)."""
    from sim.arrow import decoded

    names = sorted(set().union(*(c.names for c in columns)))
    codes = [
        np.searchsorted(names, np.array(c.names, dtype=object))[c.codes] if c.names else c.codes
        for c in columns
    ]
    joined = np.concatenate(codes) if codes else np.zeros(0, np.int32)
    return decoded(joined, names)


def to_arrow(parts: list[dict[str, Columns]]) -> dict[str, pa.Table]:
    """Join the columns of several replications into one typed Arrow table per table."""
    import pyarrow as pa

    from sim.arrow import from_numpy

    out = {}
    for name in parts[0]:
        schema = KPI_COLUMNS if name == "kpis" else TABLES[name]
        arrays, fields = [], []
        for column in parts[0][name]:
            values = [part[name][column] for part in parts]
            if isinstance(values[0], Labels):
                kind, array = pa.string(), _join_labels(values)
            else:  # NaT dates become nulls; NaN floats stay NaN
                kind = _arrow_type(schema.get(column, "float64"))
                array = from_numpy(np.concatenate(values), kind)
            arrays.append(array)
            fields.append(pa.field(column, kind))
        out[name] = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    return out


def to_frames(parts: list[dict[str, Columns]]) -> dict[str, pd.DataFrame]:
    """Join the columns of several replications into one typed DataFrame per table."""
    return {name: table.to_pandas() for name, table in to_arrow(parts).items()}
