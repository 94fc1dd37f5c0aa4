"""Shared building blocks of the scenario schema: strict models, distributions, schedules."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Identifier: lower case letters, digits and underscores.",
    ),
]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
# Bounds that keep a run finite and its tables in range; far beyond any plausible scenario.
MAX_PERSONNEL = 10_000_000
MAX_RATE_PER_DAY = 1_000.0
MIN_INTERVAL_DAYS = 1.0 / 24.0  # an hour
Personnel = Annotated[
    int, Field(ge=0, le=MAX_PERSONNEL, description="Personnel (at most 10 million).")
]
Rate = Annotated[
    float, Field(ge=0.0, le=MAX_RATE_PER_DAY, description="Per day (at most 1,000 a day).")
]
Interval = Annotated[
    float, Field(ge=MIN_INTERVAL_DAYS, le=3650.0, description="Days (an hour to ten years).")
]
Multiplier = Annotated[float, Field(ge=0.0, le=1_000.0)]


class Strict(BaseModel):
    """Base of every schema model: unknown keys are errors; infinities and NaN are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Fixed(Strict):
    """A constant duration."""

    distribution: Literal["fixed"]
    value: NonNegativeFloat = Field(description="Duration in days.")

    @property
    def mean(self) -> float:
        return self.value


class Exponential(Strict):
    """Exponentially distributed duration."""

    distribution: Literal["exponential"]
    mean: PositiveFloat = Field(description="Mean in days.")


class LogNormal(Strict):
    """Lognormal duration or severity, given by its median and the sigma of its logarithm."""

    distribution: Literal["lognormal"]
    median: PositiveFloat
    sigma: float = Field(ge=0.0, le=10.0, description="Standard deviation of log(value).")

    @property
    def mean(self) -> float:
        import math

        return self.median * math.exp(self.sigma**2 / 2.0)


class Pareto(Strict):
    """Power-law (Pareto) severity: P(X > x) = (x / x_min) ** -(alpha - 1) for x >= x_min.

    ``alpha`` is the exponent of the density, as in Clauset, Shalizi & Newman (2009).
    """

    distribution: Literal["pareto"]
    alpha: float = Field(
        ge=1.01, le=100.0, description="Density exponent (about 2.4 for terrorism)."
    )
    x_min: PositiveFloat


Duration = Annotated[Fixed | Exponential | LogNormal, Field(discriminator="distribution")]
Severity = Annotated[Fixed | LogNormal | Pareto, Field(discriminator="distribution")]


class Step(Strict):
    """A value that holds from ``date`` until the next step."""

    date: dt.date
    value: float


Schedule = Annotated[
    list[Step],
    Field(
        min_length=1,
        description="Piecewise-constant value: each step holds from its date to the next. "
        "Before the first date the first value holds.",
    ),
]
