"""Schema of the coalition force posture: sites, phases, lift and the repositioning rule."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.config.schema.common import (
    MAX_PERSONNEL,
    Date,
    Duration,
    Fraction,
    Interval,
    Name,
    NonNegativeFloat,
    Personnel,
    PositiveFloat,
    Strict,
    Text,
)
from sim.config.schema.geography import Latitude, Longitude


class Site(Strict):
    """A place that holds coalition personnel, counted by role."""

    name: Name
    label: Text = Field("", description="Human-readable name for figures.")
    country: Literal["iraq", "syria", "out_of_theatre"] = Field(
        description="Where the site is: in-Iraq totals count sites in 'iraq'."
    )
    personnel: dict[Name, Personnel] = Field(
        default_factory=dict, description="Initial personnel by role."
    )
    lat: Latitude | None = Field(None, description="Where the site is (geography).")
    lon: Longitude | None = None
    source: Text = Field("", description="The public source of the coordinates.")


class PhaseCondition(Strict):
    """The phase waits, after its start date, until ``signal`` is below ``below``."""

    signal: Name
    below: float


class IsrMove(Strict):
    """What a phase does to an ISR asset when it starts: a new count, a new base, or both."""

    count: int | None = Field(None, ge=0, le=1_000)
    base: Name | None = None


class Phase(Strict):
    """A step of the drawdown: from ``start_date``, bring each listed site down to its levels."""

    name: Name
    start_date: Date
    condition: PhaseCondition | None = None
    reduce: dict[Name, dict[Name, Personnel]] = Field(
        min_length=1,
        description="Site -> personnel to keep by role (personnel); roles not listed go to 0. "
        "Residual roles are never moved.",
    )
    destinations: dict[Name, Fraction] = Field(
        min_length=1, description="Destination site -> share of the personnel moved (sums to 1)."
    )
    isr: dict[Name, IsrMove] = Field(
        default_factory=dict, description="ISR asset -> its count or base from the phase start."
    )


class LiftAsset(Strict):
    """A means of moving people (airlift sorties, road convoys) with a daily sortie limit."""

    name: Name
    capacity_personnel: int = Field(gt=0, le=MAX_PERSONNEL, description="Personnel per lift.")
    lifts_per_day: int = Field(gt=0, le=1_000, description="Lifts that may depart per day.")
    departure_hour: float = Field(
        0.0, ge=0.0, lt=24.0, description="Hour of the day at which the day's lifts depart."
    )
    transit_days: Duration = Field(description="Time from departure to arrival, in days.")
    serves: list[Name] = Field(
        default_factory=list,
        description="Destination sites this asset flies or drives to; empty means all.",
    )


class Repositioning(Strict):
    """ "Repositioning in anticipation of any emergency" (the article): a rule that watches a
    signal, holds the drawdown and brings personnel back while it is high."""

    name: Name
    signal: Name
    hold_above: float | None = Field(
        None, description="Trigger when the signal reaches this value."
    )
    release_below: float | None = Field(
        None, description="Release when the signal falls below this value (hysteresis)."
    )
    hold_above_expected: PositiveFloat | None = Field(
        None,
        description="Instead of hold_above: this many times the signal's expected value "
        "(an incidents signal's expected count over its window; docs/model.md §3.6).",
    )
    release_below_expected: PositiveFloat | None = Field(
        None, description="Instead of release_below: this many times the expected value."
    )
    check_interval_days: Interval = 1.0
    hold_drawdown: bool = True
    return_personnel: Personnel = Field(
        0, description="Personnel brought back to `return_to` at each trigger."
    )
    return_to: Name | None = None
    return_from: list[Name] = Field(
        default_factory=list, description="Sites drawn on, in order, for the return."
    )
    return_roles: list[Name] = Field(
        default_factory=list, description="Roles that may return; empty means all non-residual."
    )


class Forces(Strict):
    """The coalition posture and how it changes."""

    roles: list[Name] = Field(min_length=1)
    residual_roles: list[Name] = Field(
        default_factory=list,
        description="Roles that stay where they are through every phase (the trainers).",
    )
    sites: list[Site] = Field(min_length=1)
    phases: list[Phase] = Field(default_factory=list)
    lift: list[LiftAsset] = Field(default_factory=list)
    repositioning: list[Repositioning] = Field(default_factory=list)
    in_iraq_threshold_personnel: NonNegativeFloat = Field(
        500, description="KPI: first day in-Iraq personnel falls below this (the article's 500)."
    )
