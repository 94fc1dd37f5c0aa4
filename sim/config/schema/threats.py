"""Schema of the threat: actors, incident types, incident processes and their modulation."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from sim.config.schema.common import (
    Date,
    Fraction,
    Multiplier,
    Name,
    NonNegativeFloat,
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
    """What every incident process has: where, who, and whether modulation applies.

    A process is at a border sector (its incidents are answered by that sector's units) or
    at a named place of the geography, usually on the Syrian side: its events are recorded
    as activity, answered by nobody, and matter through what they excite."""

    name: Name
    sector: Name | None = Field(None, description="Border sector of its incidents.")
    place: Name | None = Field(
        None, description="Or: a place of the geography (Syrian-side activity, not answered)."
    )
    actor: Name
    modulated: bool = Field(
        True,
        description="Multiply the (background) rate by the modulation factors (at a place: "
        "the presence felt there and the coalition in Syria only).",
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


Decay = Annotated[
    float, Field(gt=0.0, le=1_000.0, description="β per day; mean excitation lifetime 1/β days.")
]


class KernelTerm(Strict):
    """One exponential term of a kernel: a share of the branching ratio decaying at β."""

    share: Fraction = Field(description="Share of the branching ratio (shares sum to 1).")
    decay_per_day: Decay


class Kernel(Strict):
    """A kernel n · Σ_k share_k · β_k e^{−β_k t}: one decay, or a sum of exponentials."""

    decay_per_day: Decay | None = Field(None, description="β of a single exponential.")
    kernel: list[KernelTerm] | None = Field(
        None, min_length=1, max_length=8, description="Or: a sum of exponentials (long memory)."
    )


class Hawkes(Kernel, ProcessBase):
    """Self-exciting arrivals with kernel n · β e^{−β t} (or a sum), by Ogata thinning."""

    kind: Literal["hawkes"]
    background_rate_per_day: Rate = Field(description="μ, per day.")
    branching_ratio: float = Field(
        ge=0.0, lt=1.0, description="n = α/β: mean number of incidents each incident triggers."
    )
    background_steps: Schedule | None = Field(
        None, description="Multipliers of μ that hold from their dates."
    )
    branching_steps: Schedule | None = Field(
        None, description="Branching ratios that hold from their dates (each below 1)."
    )


Process = Annotated[Poisson | NHPP | Hawkes, Field(discriminator="kind")]


class Excitation(Kernel):
    """Events of ``source`` raise the intensity of ``target`` (a Hawkes process): the entry
    B[target, source] of the branching matrix, with its own kernel."""

    source: Name
    target: Name
    branching_ratio: float = Field(
        ge=0.0, le=100.0, description="Mean number of target events one source event triggers."
    )


class OnDate(Strict):
    """A shock on a date."""

    kind: Literal["date"]
    date: Date


class OnCoordination(Strict):
    """A shock when a partner's coordination level first falls below a level."""

    kind: Literal["coordination"]
    partner: Name
    below: Fraction


class OnPresence(Strict):
    """A shock when coalition personnel in a country first fall to at most a number."""

    kind: Literal["presence"]
    country: Literal["iraq", "syria"]
    at_most: int = Field(ge=0, le=10_000_000)


Trigger = Annotated[OnDate | OnCoordination | OnPresence, Field(discriminator="kind")]


class Shock(Strict):
    """A breakout or offensive: from its trigger (plus a delay) the named processes'
    background rates and branching are multiplied for a duration, then fade back."""

    name: Name
    trigger: Trigger
    delay_days: NonNegativeFloat = Field(0.0, le=36_525.0, description="From trigger to shock.")
    processes: list[Name] = Field(min_length=1, description="The processes it raises.")
    background_multiplier: Multiplier = Field(1.0, description="μ × this at full strength.")
    branching_multiplier: Multiplier = Field(
        1.0, description="Every branching ratio into the processes × this at full strength."
    )
    duration_days: NonNegativeFloat = Field(le=36_525.0, description="Full strength this long.")
    decay_days: NonNegativeFloat = Field(
        0.0, le=36_525.0, description="Then the rise fades as exp(−t / decay_days); 0: at once."
    )


class Displacement(Strict):
    """Attempts that a sector's fortification deters go to its neighbouring sectors (split
    evenly) after a delay, with a share (docs/model.md §4.4)."""

    enabled: bool = True
    share: Fraction = Field(0.0, description="Share of deterred attempts that try again.")
    delay_days: NonNegativeFloat = Field(
        0.0, le=3_650.0, description="Days from the deterred attempt to the new one."
    )


class Start(Strict):
    """How self-exciting processes start: in steady state (after a burn-in at the start's
    rates) or empty."""

    stationary: bool = True
    burn_in_days: PositiveFloat | None = Field(
        None,
        le=36_525.0,
        description="Days simulated before the start; default: until the start-up bias is "
        "below e^−20 (docs/model.md §4.5).",
    )


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
    excitation: list[Excitation] = Field(
        default_factory=list, description="Cross-excitation between processes."
    )
    shocks: list[Shock] = Field(default_factory=list)
    displacement: Displacement = Displacement(enabled=False)
    start: Start = Start()
    modulation: Modulation = Modulation()
