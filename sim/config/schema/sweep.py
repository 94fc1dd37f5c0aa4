"""Schema of a sweep file: a base scenario, parameters by dotted path, and a design.

Every design point is validated, held in memory and run before the analysis, so the number
of points is computed from the design (without generating it) and bounded.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from sim.config.limits import MAX_SWEEP_POINTS
from sim.config.schema.common import (
    Name,
    RelativeYamlPath,
    Replications,
    Seed,
    Strict,
    Text,
)


class Parameter(Strict):
    """One swept value, addressed like ``--set`` (``forces.lift.airlift.lifts_per_day``)."""

    path: str = Field(pattern=r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$", max_length=500)
    values: list[float | int | str] | None = Field(
        None, min_length=1, description="Explicit values (grid designs)."
    )
    range: tuple[float, float] | None = Field(
        None,
        strict=False,  # a YAML list is read as the pair; its numbers stay strict
        description="[low, high] for sampled designs, or for a grid with `levels`.",
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
    description: Text = ""
    scenario: RelativeYamlPath = Field(description="The base scenario, relative to this file.")
    design: Literal["grid", "lhs", "sobol", "morris"]
    samples: int | None = Field(
        None,
        ge=1,
        description="lhs: points; sobol: base samples N (a power of 2); morris: trajectories.",
    )
    morris_levels: int = Field(4, ge=2)
    replications: Replications = 10
    seed: Seed = 1
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
        if self.point_count > MAX_SWEEP_POINTS:
            raise ValueError(
                f"the design has {self.point_count:,} points; at most {MAX_SWEEP_POINTS:,}"
            )
        return self

    @property
    def point_count(self) -> int:
        """The number of design points (SALib's Sobol sample without second-order terms:
        N (D + 2); Morris: N (D + 1) for N trajectories)."""
        d = len(self.parameters)
        if self.design == "grid":
            return math.prod(len(p.values) if p.values else p.levels for p in self.parameters)
        if self.design == "sobol":
            return self.samples * (d + 2)
        if self.design == "morris":
            return self.samples * (d + 1)
        return self.samples


class SweepFile(Strict):
    sweep: Sweep
