"""The tables one replication produces: their schema, and their conversion to Arrow.

Every table is tidy and labelled: a ``replication`` column, simulation ``day`` (days since
the scenario's start date) and the calendar ``date`` beside it, and names rather than codes.
``SCHEMA`` below is the reference for every column: its dtype, unit and meaning (docs and
tests read it); ``TABLES`` and ``KPI_COLUMNS`` give the dtypes alone.

The parts of the model record their own tables (``record`` in ``sim.model``: the border the
incidents, the drawdown its phases and policy events, the lift its movements, the recorders
the forces and the time series); ``sim.model.results`` checks them against this schema.
A replication's tables are first built as numpy columns, names as ``Labels`` (integer codes
into a list of names), which cost little to build, to send from a worker and to join.
``to_arrow`` joins the columns of many replications into typed Arrow tables, which the store
writes as Parquet without passing through pandas; ``to_frames`` gives the same tables as
DataFrames for the in-memory API.

Sectors and sites are *ordered* names: stored as Arrow dictionaries in the scenario's own
order (sectors as the border lists them, sites as the posture does), so any reader that maps
dictionaries to categories (pandas, R's arrow) sorts, groups and plots them in geographic
order rather than alphabetically. Tables written to a run folder also carry the run's labels
(``RUN_LABELS``: ``scenario``, ``run_id`` and, in a sweep, ``point``) in their first columns,
so the tables of many runs read together (DuckDB over a glob, ``pd.concat``) stay apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


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


Columns = dict[str, np.ndarray | Labels]
"""One table of one replication: column name -> values (names as ``Labels``)."""

DATE = "datetime64[ms]"


@dataclass(frozen=True)
class Column:
    """One documented column: its dtype (``str`` for names), unit and meaning.

    ``ordered`` names (sectors, sites) are stored as a dictionary of every name in the
    scenario's order, whether it occurs or not, flagged ordered: pandas reads them as an
    ordered ``CategoricalDtype`` (``TABLES`` says ``category``).
    """

    dtype: str
    unit: str
    description: str
    ordered: bool = False


REPLICATION = Column("int64", "index", "0-based replication index")
DAY = Column("float64", "days", "simulation day: days since the scenario's start date")
DATE_OF_DAY = Column(DATE, "date", "calendar date of `day`")
PERSONNEL = "personnel"
SECTOR = "border sector (an ordered category: the border's sectors in the scenario's order)"
SITE = "site (an ordered category: the posture's sites in the scenario's order)"


def _dated(unit: str, what: str) -> tuple[Column, Column]:
    """A ``*_day`` column and its ``*_date`` twin."""
    return Column("float64", unit, what), Column(DATE, "date", f"calendar date of {what}")


_SPELL_START, _SPELL_START_DATE = _dated("days", "the spell's start")
_SPELL_END, _SPELL_END_DATE = _dated("days", "the spell's end (the last ends at the horizon)")
_DEPART, _DEPART_DATE = _dated("days", "the lift's departure")
_ARRIVE, _ARRIVE_DATE = _dated("days", "the lift's arrival (departure + transit)")

SCHEMA: dict[str, dict[str, Column]] = {
    "forces": {  # one row per spell: a maximal interval over which a series is constant
        "replication": REPLICATION,
        "site": Column("str", "name", f"{SITE}, then `in_transit`", ordered=True),
        "role": Column("str", "name", "role name"),
        "start_day": _SPELL_START,
        "end_day": _SPELL_END,
        "start_date": _SPELL_START_DATE,
        "end_date": _SPELL_END_DATE,
        "personnel": Column("int64", PERSONNEL, "personnel of that role at that site during it"),
    },
    "posture": {  # one row per record time: the state before any event at that instant
        "replication": REPLICATION,
        "day": Column(
            "float64",
            "days",
            "record time t; the row holds the state at t before any event at t (the state "
            "over the end of the interval before), so a change at time d shows first in the "
            "row of the first record time after d: floor(d) + 1 with daily records",
        ),
        "date": DATE_OF_DAY,
        "in_iraq": Column("int64", PERSONNEL, "personnel at sites in Iraq"),
        "in_syria": Column("int64", PERSONNEL, "personnel at sites in Syria"),
        "out_of_theatre": Column("int64", PERSONNEL, "personnel at sites out of theatre"),
        "in_transit": Column("int64", PERSONNEL, "personnel on a lift"),
    },
    "movements": {  # one row per lift
        "replication": REPLICATION,
        "lift": Column("int64", "id", "sequential lift id within the replication (all assets)"),
        "asset": Column("str", "name", "lift asset name"),
        "owner": Column("str", "name", "phase or rule that ordered the move"),
        "purpose": Column(
            "str", "name", "`drawdown`, `return` (a rule's trigger) or `release` (taken back)"
        ),
        "origin": Column("str", "name", f"the lift's origin: {SITE}", ordered=True),
        "destination": Column("str", "name", f"the lift's destination: {SITE}", ordered=True),
        "depart_day": _DEPART,
        "arrive_day": _ARRIVE,
        "depart_date": _DEPART_DATE,
        "arrive_date": _ARRIVE_DATE,
        "personnel": Column("int64", PERSONNEL, "people carried"),
    },
    "phases": {  # one row per phase
        "replication": REPLICATION,
        "phase": Column("str", "name", "phase name"),
        "start_day": Column(
            "float64", "days", "when it started, after any condition (NaN if never)"
        ),
        "complete_day": Column(
            "float64", "days", "when all it ordered out had arrived or been dropped (NaN if never)"
        ),
    },
    "policy": {  # one row per rule event
        "replication": REPLICATION,
        "rule": Column("str", "name", "repositioning rule"),
        "day": Column("float64", "days", "when the rule acted"),
        "date": DATE_OF_DAY,
        "action": Column("str", "name", "`hold` or `release`"),
        "signal_value": Column("float64", "signal", "the signal when the rule acted"),
        "threshold": Column(
            "float64", "signal", "the threshold crossed (k × the expected count if so given)"
        ),
    },
    "incidents": {  # one row per incident
        "replication": REPLICATION,
        "incident": Column(
            "int64",
            "id",
            "0-based, in order of occurrence across processes; shared with `activity.event`",
        ),
        "process": Column("str", "name", "incident process"),
        "sector": Column("str", "name", f"where the incident happens: {SECTOR}", ordered=True),
        "displaced": Column(
            "bool", "flag", "an attempt deterred at a neighbouring sector, made again here"
        ),
        "actor": Column("str", "name", "armed group"),
        "type": Column("str", "name", "incident type"),
        "day": Column("float64", "days", "time of the incident"),
        "date": DATE_OF_DAY,
        "severity": Column("float64", "notional", "severity of the incident"),
        "parent": Column(
            "int64",
            "id",
            "triggering event (an incident or `activity` event), −1 for background, "
            "−2 for an event of the burn-in before the start",
        ),
        "cluster": Column("int64", "id", "background ancestor (own id when parent < 0)"),
        "detected": Column("bool", "flag", "whether the incident was detected"),
        "response_start_day": Column(
            "float64", "days", "when a unit took it (NaN if undetected or still waiting at T)"
        ),
        "response_end_day": Column("float64", "days", "when handling ended (NaN unless before T)"),
        "wait_days": Column("float64", "days", "response_start_day − day (NaN when not started)"),
        "outcome": Column("str", "name", "`interdicted`, `missed`, `undetected` or `pending`"),
        "border_km": Column(
            "float64", "km", "position along the border from its northern end (NaN: no geography)"
        ),
        "latitude": Column("float64", "degrees north", "of that point (NaN: no geography)"),
        "longitude": Column("float64", "degrees east", "of that point (NaN: no geography)"),
    },
    "activity": {  # one row per event of a process at a place (Syrian side): not answered
        "replication": REPLICATION,
        "event": Column("int64", "id", "shared with `incidents.incident`"),
        "process": Column("str", "name", "activity process"),
        "place": Column("str", "name", "where the process is"),
        "actor": Column("str", "name", "armed group"),
        "day": Column("float64", "days", "time of the event"),
        "date": DATE_OF_DAY,
        "parent": Column("int64", "id", "triggering event, −1 background, −2 burn-in"),
        "cluster": Column("int64", "id", "background ancestor (own id when parent < 0)"),
        "latitude": Column("float64", "degrees north", "of the place"),
        "longitude": Column("float64", "degrees east", "of the place"),
    },
    "daily": {  # one row per interval [t_{k−1}, t_k) and sector, labelled day = t_k
        "replication": REPLICATION,
        "day": Column("float64", "days", "end t_k of the interval [t_{k−1}, t_k)"),
        "date": DATE_OF_DAY,
        "sector": Column("str", "name", SECTOR, ordered=True),
        "incidents": Column("int64", "count", "incidents in the interval"),
        "interdicted": Column("int64", "count", "of those, interdicted (as known at the horizon)"),
        "missed": Column("int64", "count", "of those, missed (as known at the horizon)"),
        "undetected": Column("int64", "count", "of those, undetected"),
        "pending": Column(
            "int64", "count", "of those, still waiting or in handling at the horizon"
        ),
        "severity": Column("float64", "notional", "total severity of the interval's incidents"),
        "backlog": Column("int64", "count", "detected incidents waiting for a unit at t_k"),
        "utilisation": Column("float64", "fraction", "busy unit-days ÷ (units × interval length)"),
        "intensity_per_day": Column(
            "float64", "per day", "Σ of the sector's process intensities λ(t_k) at t_k"
        ),
    },
}
"""Every table but ``kpis``: column -> dtype, unit and meaning (docs/model.md §8)."""

KPI_SCHEMA: dict[str, Column] = {
    "replication": REPLICATION,
    "seed": Column("int64", "seed", "root seed of the run"),
    "below_threshold_day": Column(
        "float64",
        "days",
        "when in_iraq first fell below in_iraq_threshold_personnel: the time of the departure "
        "that took it below, which `posture` shows first at the next record time (floor + 1 "
        "with daily records); 0 if it starts below (then `posture` day 0); NaN if never",
    ),
    "final_in_iraq": Column("int64", PERSONNEL, "in-Iraq personnel at T (transit excluded)"),
    "repositioning_triggers": Column("int64", "count", "number of `hold` events"),
    "peak_moved_per_day": Column("int64", PERSONNEL, "most personnel departing in one day"),
    "incidents": Column("int64", "count", "all incidents"),
    "interdicted": Column("int64", "count", "incidents interdicted by T"),
    "missed": Column("int64", "count", "incidents missed by T"),
    "undetected": Column("int64", "count", "incidents never detected"),
    "interdiction_rate": Column("float64", "fraction", "interdicted ÷ all incidents (NaN if none)"),
    "triggered_fraction": Column(
        "float64", "fraction", "share of incidents with a parent (in the run or the burn-in)"
    ),
    "displaced": Column("int64", "count", "incidents that are displaced attempts"),
    "severity_total": Column("float64", "notional", "total severity"),
    "severity_unstopped": Column("float64", "notional", "severity of missed + undetected"),
    "mean_wait_days": Column(
        "float64",
        "days",
        "mean wait of incidents whose response started: leaves out waits still running at T "
        "(see `mean_wait_censored_days`); NaN if none started",
    ),
    "max_backlog": Column("int64", "count", "largest `daily.backlog`"),
    "waiting_at_horizon": Column(
        "int64", "count", "detected incidents whose response had not started at T"
    ),
    "mean_wait_censored_days": Column(
        "float64",
        "days",
        "Kaplan–Meier restricted mean wait of detected incidents, waits still running at T "
        "right-censored at T − day: ∫ S(t) dt from 0, restricted to the longest wait seen, so "
        "a lower bound when the longest is censored; = `mean_wait_days` when none is "
        "censored; NaN if no incident was detected",
    ),
    "peak_week_incidents": Column(
        "int64", "count", "most incidents in any 7-day window [t, t + 7) of the run, all sectors"
    ),
    "worst_30d_incidents": Column(
        "int64", "count", "most incidents in any 30-day window [t, t + 30) of the run, all sectors"
    ),
    "incidents_per_100km_year": Column(
        "float64", "per 100 km per year", "incidents ÷ (Σ sector lengths / 100) ÷ (T / 365.25)"
    ),
}
"""KPI columns present in every run; one column per phase and one per sector follow
(``PER_PHASE``, ``PER_SECTOR``)."""

PHASE_KPI = Column("float64", "days", "the phase's `complete_day` (NaN if never)")
SECTOR_KPI = Column(
    "float64", "per 100 km per year", "the sector's incidents ÷ (its length / 100) ÷ (T / 365.25)"
)
PER_PHASE = "complete_day_"
PER_SECTOR = "incidents_per_100km_year_"
"""Prefixes of the KPI columns named after a phase (``PHASE_KPI``) or a sector
(``SECTOR_KPI``): ``complete_day_<phase>``, ``incidents_per_100km_year_<sector>``."""


def kpi_columns(phases: Sequence[str], sectors: Sequence[str]) -> list[str]:
    """Every KPI column of a scenario with these phases and sectors, in the table's order."""
    return [
        *KPI_SCHEMA,
        *(PER_PHASE + name for name in phases),
        *(PER_SECTOR + name for name in sectors),
    ]


RUN_LABELS: dict[str, Column] = {
    "scenario": Column(
        "str", "name", "the scenario's name (`metadata.name`; in a sweep, the base scenario's)"
    ),
    "run_id": Column(
        "str",
        "name",
        "the run folder's name (in a sweep, the sweep folder's): tells runs apart when the "
        "tables of several are read together",
    ),
    "point": Column("int64", "index", "the sweep's design point (`points.parquet`): sweeps only"),
}
"""The labels of a run folder's tables, their first columns in every table (not in the tables
of ``sim.simulate``, which belong to no run): names are dictionaries of one entry, which cost
nothing in Parquet. ``sim.load_results`` leaves them out (they are the run's own)."""


def _pandas_dtype(column: Column) -> str:
    return "category" if column.ordered else column.dtype


TABLES: dict[str, dict[str, str]] = {
    table: {name: _pandas_dtype(column) for name, column in columns.items()}
    for table, columns in SCHEMA.items()
}
"""Every table but ``kpis``: column -> pandas dtype (``str`` for names, ``category`` for
ordered names)."""

KPI_COLUMNS: dict[str, str] = {name: column.dtype for name, column in KPI_SCHEMA.items()}
"""KPI column -> dtype, without the columns named after a phase or a sector."""

_ARROW_TYPES = {"int64": "int64", "float64": "float64", "bool": "bool_"}  # names are Labels


def _arrow_type(dtype: str) -> pa.DataType:
    import pyarrow as pa

    return pa.timestamp("ms") if dtype == DATE else getattr(pa, _ARROW_TYPES[dtype])()


def _join_labels(columns: list[Labels], ordered: bool) -> pa.Array:
    """One array from the labels of several parts (their names may differ): plain strings,
    or for ``ordered`` names a dictionary of the names in their order (the first part's,
    then any other part's new ones)."""
    from sim.arrow import decoded, dictionary

    if ordered:
        names = list(dict.fromkeys(name for c in columns for name in c.names))
    else:
        names = sorted(set().union(*(c.names for c in columns)))
    position = {name: i for i, name in enumerate(names)}
    codes = [
        np.array([position[n] for n in c.names], dtype=np.int64)[c.codes] if c.names else c.codes
        for c in columns
    ]
    joined = np.concatenate(codes) if codes else np.zeros(0, np.int32)
    return dictionary(joined, names, ordered=True) if ordered else decoded(joined, names)


def column_of(table: str, column: str) -> Column | None:
    """The documented column ``column`` of ``table`` (the per-phase and per-sector KPIs by
    their prefix), or None."""
    if column in RUN_LABELS:
        return RUN_LABELS[column]
    if table != "kpis":
        return SCHEMA.get(table, {}).get(column)
    if column in KPI_SCHEMA:
        return KPI_SCHEMA[column]
    if column.startswith(PER_PHASE):
        return PHASE_KPI
    return SECTOR_KPI if column.startswith(PER_SECTOR) else None


def _described(column: Column) -> dict[bytes, bytes]:
    """The unit and meaning of a column, for the Parquet field's metadata (read by pyarrow,
    DuckDB's ``parquet_schema``, and any Arrow tool)."""
    return {b"unit": column.unit.encode(), b"description": column.description.encode()}


def _field_metadata(table: str, column: str) -> dict[bytes, bytes] | None:
    found = column_of(table, column)
    return None if found is None else _described(found)


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
                documented = SCHEMA.get(name, {}).get(column)
                array = _join_labels(values, ordered=documented is not None and documented.ordered)
                kind = array.type
            else:  # NaT dates and NaN floats become nulls
                # per phase and per sector KPIs are float64 alike
                kind = _arrow_type(schema.get(column, PHASE_KPI.dtype))
                array = from_numpy(np.concatenate(values), kind)
            arrays.append(array)
            fields.append(pa.field(column, kind, metadata=_field_metadata(name, column)))
        out[name] = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    return out


def with_labels(table: pa.Table, labels: Mapping[str, str | int]) -> pa.Table:
    """``table`` with the run's ``labels`` (``RUN_LABELS``: names as one-entry dictionaries,
    ``point`` as int64) set in its first columns, in ``RUN_LABELS``' order, with their unit
    and meaning; labels it already has and ``labels`` does not give are kept."""
    import pyarrow as pa

    from sim.arrow import dictionary, from_numpy

    n = table.num_rows
    given = {}
    for name, value in labels.items():
        if RUN_LABELS[name].dtype == "str":
            given[name] = dictionary(np.zeros(n, np.int32), [str(value)])
        else:
            given[name] = from_numpy(np.full(n, value, dtype=np.int64), pa.int64())
    first = [name for name in RUN_LABELS if name in given or name in table.column_names]
    fields, arrays = [], []
    for name in first:
        array = given[name] if name in given else table.column(name)
        fields.append(pa.field(name, array.type, metadata=_described(RUN_LABELS[name])))
        arrays.append(array)
    for field in table.schema:
        if field.name not in RUN_LABELS:
            fields.append(field)
            arrays.append(table.column(field.name))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, table.schema.metadata))


def to_frames(parts: list[dict[str, Columns]]) -> dict[str, pd.DataFrame]:
    """Join the columns of several replications into one typed DataFrame per table."""
    return {name: table.to_pandas() for name, table in to_arrow(parts).items()}
