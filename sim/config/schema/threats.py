"""Schema of the threat: actors, incident types, incident processes and their modulation."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from sim.config.schema.common import (
    Date,
    Fraction,
    Name,
    PositiveFloat,
    Rate,
    Schedule,
    Severity,
    Strict,
)
from sim.config.schema.geography import LocalPresence


class IncidentType(Strict):
    """A kind of incident (infiltration attempt, attack) with its share and severity."""

    name: Name
    share: Fraction = Field(description="Share of incidents of this type (shares sum to 1).")
    severity: Severity = Field(description="Severity of one incident (notional units).")


class ProcessBase(Strict):
    """What every incident process has: where, who, and whether modulation applies."""

    name: Name
    sector: Name
    actor: Name
    modulated: bool = Field(
        True, description="Multiply the (background) rate by the modulation factors."
    )


class Poisson(ProcessBase):
    """Homogeneous Poisson arrivals."""

    kind: Literal["poisson"]
    rate_per_day: Rate


class NHPP(ProcessBase):
    """Time-varying Poisson arrivals, simulated by Lewis–Shedler thinning."""

    kind: Literal["nhpp"]
    rate_per_day: Rate = Field(description="Rate at the start date, per day.")
    trend_per_year: float = Field(
        0.0,
        ge=-100.0,
        le=100.0,
        description="Relative change of the rate per year: rate * (1 + trend * years).",
    )
    seasonal_amplitude: Fraction = 0.0
    seasonal_period_days: PositiveFloat = 365.25
    seasonal_peak_date: Date | None = None
    steps: Schedule | None = Field(
        None, description="Multipliers of the rate that hold from their dates."
    )


class Hawkes(ProcessBase):
    """Self-exciting arrivals with exponential kernel α·exp(−β t), by Ogata thinning."""

    kind: Literal["hawkes"]
    background_rate_per_day: Rate = Field(description="μ, per day.")
    branching_ratio: float = Field(
        ge=0.0, lt=1.0, description="n = α/β: mean number of incidents each incident triggers."
    )
    decay_per_day: float = Field(
        gt=0.0, le=1_000.0, description="β; mean excitation lifetime is 1/β days."
    )
    background_steps: Schedule | None = Field(
        None, description="Multipliers of μ that hold from their dates."
    )
    branching_steps: Schedule | None = Field(
        None, description="Branching ratios that hold from their dates (each below 1)."
    )


Process = Annotated[Poisson | NHPP | Hawkes, Field(discriminator="kind")]


class PresenceFactor(Strict):
    """Rate × (1 + effect · (1 − min(1, personnel / reference)))."""

    enabled: bool = True
    effect: float = Field(
        0.0,
        ge=0.0,
        le=100.0,
        description="Relative rise of the rate when the presence falls to zero.",
    )
    reference_personnel: PositiveFloat = 2000.0


class CapacityFactor(Strict):
    """Rate × (1 − effect · capacity(t)); capacity grows linearly over the plan."""

    enabled: bool = True
    effect: Fraction = 0.0
    start_level: Fraction = 0.0
    end_level: Fraction = 0.0
    plan_start: Date = dt.date(2025, 1, 1)
    plan_end: Date = dt.date(2029, 12, 31)


class FortificationFactor(Strict):
    """Rate × (1 − effect · fortification of the sector)."""

    enabled: bool = True
    effect: Fraction = 0.0


class CoordinationFactor(Strict):
    """Rate × (1 − effect · Σ_p weight(sector, p) · level_p(t))."""

    enabled: bool = True
    effect: Fraction = 0.0
    levels: dict[Name, Schedule] = Field(
        default_factory=dict,
        description="Coordination level (0..1) of each partner over time.",
    )


class Modulation(Strict):
    """Factors that scale every modulated process's (background) rate."""

    coalition_iraq: PresenceFactor = PresenceFactor(enabled=False)
    coalition_syria: PresenceFactor = PresenceFactor(enabled=False, reference_personnel=900)
    iraqi_capacity: CapacityFactor = CapacityFactor(enabled=False)
    fortification: FortificationFactor = FortificationFactor(enabled=False)
    coordination: CoordinationFactor = CoordinationFactor(enabled=False)
    local_presence: LocalPresence = LocalPresence(enabled=False)


class Threats(Strict):
    """Who threatens the border, how incidents arise, and what they are like."""

    actors: list[Name] = Field(min_length=1)
    incident_types: list[IncidentType] = Field(min_length=1)
    processes: list[Process] = Field(default_factory=list)
    modulation: Modulation = Modulation()
