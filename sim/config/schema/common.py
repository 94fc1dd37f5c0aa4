"""Shared building blocks of the scenario schema: strict models, distributions, schedules.

Numbers are strict: ``true`` or ``"3"`` is not a number (an integer is still accepted where
a number with decimals is expected, not the reverse), and a date is a date, never a date
and time whose time and timezone would be silently dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import PurePath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import Strict as StrictMode

from sim.config.limits import MAX_REPLICATIONS, MAX_SEED

MAX_NAME_CHARS = 64  # a name becomes a folder name (results/<name>/) and a table value
MAX_TEXT_CHARS = 2_000  # a description or label: copied into every run's manifest
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Name = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=MAX_NAME_CHARS,
        description="Identifier: lower case letters, digits and underscores (at most 64).",
    ),
]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS, description="At most 2,000 characters.")]


def _date_only(value: Any) -> Any:
    """A date, or text in the form YYYY-MM-DD; a date and time is refused, not truncated."""
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date (YYYY-MM-DD), got a date and time")
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("expected a date (YYYY-MM-DD)")


Date = Annotated[dt.date, BeforeValidator(_date_only), StrictMode(False)]
YAML_SUFFIXES = (".yaml", ".yml")


def _relative_yaml(value: str) -> str:
    """A path the tool may follow: relative to the file that names it, to a YAML file."""
    if "\0" in value:
        raise ValueError("a path with a NUL character")
    if PurePath(value).is_absolute():
        raise ValueError("an absolute path; give a path relative to this file")
    if PurePath(value).suffix.lower() not in YAML_SUFFIXES:
        raise ValueError("not a .yaml or .yml file")
    return value


RelativeYamlPath = Annotated[str, Field(max_length=1_000), AfterValidator(_relative_yaml)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="Root seed, 0 to 2**63 - 1.")]
Replications = Annotated[int, Field(ge=1, le=MAX_REPLICATIONS, description="1 to 1,000,000.")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
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
    """Base of every schema model: unknown keys are errors; infinities and NaN are refused;
    numbers and booleans are never converted from other types."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


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

    date: Date
    value: float


Schedule = Annotated[
    list[Step],
    Field(
        min_length=1,
        description="Piecewise-constant value: each step holds from its date to the next. "
        "Before the first date the first value holds.",
    ),
]


def schedule_value(steps: list[Step] | None, date: dt.date, default: float = 1.0) -> float:
    """A schedule's value on ``date`` (the first value before its date; ``default`` without
    a schedule), for checks that need it before the model's step functions exist."""
    if not steps:
        return default
    held = [step.value for step in steps if step.date <= date]
    return held[-1] if held else steps[0].value
