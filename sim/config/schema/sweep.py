"""Schema of a sweep file: a base scenario, parameters by dotted path, and a design."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.config.schema.common import Name, NonNegativeInt, Strict


class Parameter(Strict):
    """One swept value, addressed like ``--set`` (``forces.lift.airlift.lifts_per_day``)."""

    path: str = Field(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$")
    values: list[float | int | str] | None = Field(
        None, min_length=1, description="Explicit values (grid designs)."
    )
    range: tuple[float, float] | None = Field(
        None, description="[low, high] for sampled designs, or for a grid with `levels`."
    )
    levels: int | None = Field(None, ge=2, description="Grid points across `range`.")
    integer: bool = Field(False, description="Round sampled values to whole numbers.")

    @model_validator(mode="after")
    def _one_source(self) -> Parameter:
        if (self.values is None) == (self.range is None):
            raise ValueError("give either values or range")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range must increase (got {list(self.range)})")
        return self


class Sweep(Strict):
    """A sweep: design points over ``parameters``, each run like a scenario."""

    name: Name
    description: str = ""
    scenario: str = Field(description="The base scenario, relative to this file.")
    design: Literal["grid", "lhs", "sobol", "morris"]
    samples: int | None = Field(
        None,
        ge=1,
        description="lhs: points; sobol: base samples N (a power of 2); morris: trajectories.",
    )
    morris_levels: int = Field(4, ge=2)
    replications: int = Field(10, ge=1)
    seed: NonNegativeInt = 1
    parameters: list[Parameter] = Field(min_length=1)

    @model_validator(mode="after")
    def _design_needs(self) -> Sweep:
        if self.design == "grid":
            for p in self.parameters:
                if p.values is None and p.levels is None:
                    raise ValueError(f"grid parameter {p.path} needs values or levels")
        else:
            if self.samples is None:
                raise ValueError(f"design {self.design} needs samples")
            for p in self.parameters:
                if p.range is None:
                    raise ValueError(f"design {self.design} needs a range for {p.path}")
        if self.design == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"sobol samples must be a power of 2 (got {self.samples})")
        paths = [p.path for p in self.parameters]
        if len(set(paths)) != len(paths):
            raise ValueError("a parameter path appears twice")
        return self


class SweepFile(Strict):
    sweep: Sweep
