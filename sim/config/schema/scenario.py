"""The root of a scenario file."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sim.config.schema.border import Border
from sim.config.schema.common import (
    Date,
    Interval,
    Name,
    PositiveFloat,
    Replications,
    Schedule,
    Seed,
    Strict,
    Text,
)
from sim.config.schema.forces import Forces
from sim.config.schema.geography import Geography
from sim.config.schema.threats import Threats


class Metadata(Strict):
    name: Name = Field(description="Scenario name; results go to results/<name>/.")
    description: Text = ""
    sources: list[Text] = Field(default_factory=list)


class Clock(Strict):
    start_date: Date
    end_date: Date
    record_interval_days: Interval = Field(
        1.0, description="Interval between record times of the time series, in days."
    )


class IncidentSignal(Strict):
    """Trailing count of incidents over ``window_days`` in the named sectors (all if empty)."""

    kind: Literal["incidents"]
    window_days: PositiveFloat
    sectors: list[Name] = Field(default_factory=list)
    actors: list[Name] = Field(default_factory=list)


class ScheduledSignal(Strict):
    """A signal that follows a fixed schedule (for tests and exogenous warnings)."""

    kind: Literal["scheduled"]
    values: Schedule


Signal = Annotated[IncidentSignal | ScheduledSignal, Field(discriminator="kind")]


class Run(Strict):
    replications: Replications = Field(20, description="Replications when -n is not given.")
    seed: Seed = Field(1, description="Root seed when --seed is not given.")


class Scenario(Strict):
    """A complete, validated scenario."""

    metadata: Metadata
    clock: Clock
    forces: Forces
    border: Border
    threats: Threats
    geography: Geography | None = None
    signals: dict[Name, Signal] = Field(default_factory=dict)
    run: Run = Run()

    @property
    def horizon_days(self) -> float:
        return float((self.clock.end_date - self.clock.start_date).days)
