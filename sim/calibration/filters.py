"""Which events count, and which process each belongs to.

Filters (a small YAML file, ``Filters``): a date window; precision (ACLED ``time_precision``
≤ 1 and ``geo_precision`` ≤ 2 by default, GED ``date_prec`` ≤ 2, ``where_prec`` ≤ 3 and
single-day events); the distance from the scenario's border line; actor patterns (model
actor → case-insensitive substrings of the actor columns; the first actor that matches
wins); event types → the model's incident types.

An event within ``max_border_km`` of the line belongs to the sector whose stretch holds the
nearest point of the line. An event on the Syrian side (more than ``ON_LINE_KM`` from the
line, on its right walking it north to south) belongs instead to a process the scenario has
at a place, for the same actor, if one is within ``max_place_km`` (the nearest).

Events on one day are spread within it: each gets a uniform time of day drawn from a
generator seeded by ``seed`` (``numpy.random.default_rng``), so the order of same-day events
is random but reproducible and no two events coincide.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from sim.config.errors import Position, Problem, ScenarioError
from sim.config.schema import Scenario
from sim.config.schema.common import Date, Name, Strict
from sim.geo import distances_km
from sim.model.geometry import geometry_of

ON_LINE_KM = 1.0  # an event this close to the line is on the border, not on either side
DEFAULT_ACTORS = {
    "isis": ["islamic state", "isis", "isil", "daesh"],
    "al_qaeda": ["al qaeda", "al-qaeda", "hurras al-din"],
}


class Filters(Strict):
    """Which events of an export count, and how they map to the model (docs/calibration.md)."""

    start: Date | None = Field(None, description="First day counted (default: the first event).")
    end: Date | None = Field(None, description="Last day counted (default: the last event).")
    max_time_precision: int | None = Field(
        None, ge=1, le=5, description="Default: 1 for ACLED (the day), 2 for GED."
    )
    max_geo_precision: int | None = Field(
        None, ge=1, le=7, description="Default: 2 for ACLED (the town), 3 for GED."
    )
    single_day: bool = Field(True, description="GED: only events dated to one day.")
    max_border_km: float = Field(50.0, gt=0.0, le=1_000.0)
    max_place_km: float = Field(100.0, gt=0.0, le=1_000.0)
    actors: dict[Name, list[str]] = Field(default_factory=lambda: dict(DEFAULT_ACTORS))
    types: dict[Name, list[str]] = Field(
        default_factory=dict, description="Incident type → event types (exact, any case)."
    )
    breakpoints: list[Date] | Literal["auto"] = Field(
        default_factory=list,
        max_length=20,
        description="Dates where the background may change, or auto: chosen per process "
        "among the first days of the quarters by AIC (at most three).",
    )
    holdout_from: Date | None = Field(
        None, description="Fit before it, score after it (default: the last fifth)."
    )
    seed: int = Field(1, ge=0, le=2**63 - 1, description="Spreads same-day events.")


@dataclass(frozen=True)
class Selection:
    """The events kept, with ``process``, ``sector``, ``actor``, ``type`` and ``day``; the
    window; and how many were dropped at each filter."""

    events: pd.DataFrame
    start: dt.date
    horizon: float
    dropped: dict[str, int]


def _precision_limits(filters: Filters, format_name: str) -> tuple[int, int]:
    acled = format_name == "acled"
    time = filters.max_time_precision or (1 if acled else 2)
    geo = filters.max_geo_precision or (2 if acled else 3)
    return time, geo


def _actor_of(texts: pd.Series, actors: dict[str, list[str]]) -> np.ndarray:
    lowered = texts.str.lower()
    found = np.full(len(texts), "", dtype=object)
    for actor, patterns in actors.items():
        hit = np.zeros(len(texts), dtype=bool)
        for pattern in patterns:
            hit |= lowered.str.contains(pattern.lower(), regex=False).to_numpy()
        found[(found == "") & hit] = actor
    return found


def _type_of(types: pd.Series, mapping: dict[str, list[str]]) -> np.ndarray:
    lowered = types.str.lower()
    found = np.full(len(types), "", dtype=object)
    for kind, names in mapping.items():
        found[(found == "") & lowered.isin([n.lower() for n in names]).to_numpy()] = kind
    return found


def select(
    events: pd.DataFrame, filters: Filters, scenario: Scenario, source: str, format_name: str
) -> Selection:
    """Apply the filters and place every kept event on a process (module docstring)."""
    dropped: dict[str, int] = {}

    def keep(mask: np.ndarray, reason: str) -> None:
        nonlocal events
        dropped[reason] = int((~mask).sum())
        events = events[mask].reset_index(drop=True)

    first = filters.start or pd.Timestamp(events["date"].min()).date()
    last = filters.end or pd.Timestamp(events["date"].max()).date()
    dates = events["date"].to_numpy().astype("datetime64[D]")
    keep(
        (dates >= np.datetime64(first, "D")) & (dates <= np.datetime64(last, "D")),
        "outside the dates",
    )
    time, geo = _precision_limits(filters, format_name)
    keep(events["time_precision"].to_numpy() <= time, f"time precision above {time}")
    keep(events["geo_precision"].to_numpy() <= geo, f"geographic precision above {geo}")
    if filters.single_day:
        keep(events["single_day"].to_numpy(), "dated to more than one day")
    events = events.assign(actor=_actor_of(events["actors"], filters.actors))
    keep(events["actor"].to_numpy() != "", "no actor pattern matched")
    events = _located(events, filters, scenario)
    near = (events["distance"] <= filters.max_border_km) | (events["placed"] != "")
    keep(near.to_numpy(), "too far from the border")
    events = _assigned(events, scenario)
    if filters.types:
        events = events.assign(type=_type_of(events["event_type"], filters.types))
    else:
        events = events.assign(type="")
    if events.empty:
        summary = ", ".join(f"{count:,} {why}" for why, count in dropped.items() if count)
        raise ScenarioError(
            [Problem(Position(source), (), f"no events left after the filters ({summary})")]
        )
    rng = np.random.default_rng(filters.seed)
    days = events["date"].to_numpy().astype("datetime64[D]")
    offsets = (days - np.datetime64(first, "D")).astype(int)
    events = events.assign(day=offsets + rng.random(len(events)))
    horizon = float((last - first).days + 1)
    return Selection(events.sort_values("day", ignore_index=True), first, horizon, dropped)


def _located(events: pd.DataFrame, filters: Filters, scenario: Scenario) -> pd.DataFrame:
    """Km along the line, distance and side of every event, and its process at a place
    (empty when it has none)."""
    line = geometry_of(scenario).line
    if line is None:
        raise ScenarioError(
            [Problem(Position("--scenario"), ("geography",), "calibration needs a geography")]
        )
    along, distance, side = line.locate(events["latitude"], events["longitude"])
    events = events.assign(along=along, distance=distance, side=side)
    return events.assign(placed=_place_processes(events, filters, scenario))


def _assigned(events: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The sector (by the nearest point of the line) and the process of every event."""
    spans = geometry_of(scenario).spans
    names = [s.name for s in scenario.border.sectors]
    ends = np.array([end for _, end in spans[:-1]])
    sector = np.array(names, dtype=object)[np.searchsorted(ends, events["along"], side="right")]
    processes = {(p.sector, p.actor): p.name for p in scenario.threats.processes if p.sector}
    by_sector = [
        processes.get((s, a), f"{s}_{a}") for s, a in zip(sector, events["actor"], strict=True)
    ]
    placed = events["placed"].to_numpy()
    return events.assign(
        sector=np.where(placed != "", "", sector),
        process=np.where(placed != "", placed, by_sector),
    )


def _place_processes(events: pd.DataFrame, filters: Filters, scenario: Scenario) -> np.ndarray:
    """The nearest process at a place, same actor, within reach, for Syrian-side events."""
    found = np.full(len(events), "", dtype=object)
    where = geometry_of(scenario).places  # sites with coordinates, vertices and places
    best = np.full(len(events), np.inf)
    for p in scenario.threats.processes:
        if p.place is None:
            continue
        lat, lon = where[p.place]
        d = distances_km(events["latitude"].to_numpy(), events["longitude"].to_numpy(), lat, lon)
        near = (
            (events["side"].to_numpy() < 0)
            & (events["distance"].to_numpy() > ON_LINE_KM)
            & (events["actor"].to_numpy() == p.actor)
            & (d <= filters.max_place_km)
            & (d < best)
        )
        found[near], best[near] = p.name, d[near]
    return found
