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
    Strict,
    Text,
)


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


class PhaseCondition(Strict):
    """The phase waits, after its start date, until ``signal`` is below ``below``."""

    signal: Name
    below: float


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
    hold_above: float = Field(description="Trigger when the signal reaches this value.")
    release_below: float = Field(
        description="Release when the signal falls below this value (hysteresis)."
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
