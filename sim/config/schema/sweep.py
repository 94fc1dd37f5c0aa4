"""Schema of a sweep file: a base scenario, parameters by dotted path, and a design.

Every design point is validated, held in memory and run before the analysis, so the number
of points is computed from the design (without generating it) and bounded.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from sim.config.limits import MAX_SWEEP_POINTS
from sim.config.relative import Scale, Shift
from sim.config.schema.common import (
    Name,
    RelativeYamlPath,
    Replications,
    Seed,
    Strict,
    Text,
)

RESERVED_COLUMNS = frozenset({"point", "replication", "seed", "scenario", "run_id", "day", "date"})
"""Columns of the tables a sweep's points are joined to: no parameter may take their names."""
KeyPattern = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_*?\[\]!-]+(\.[A-Za-z0-9_*?\[\]!-]+)+$", max_length=500)
]


class Parameter(Strict):
    """One swept value, addressed like ``--set`` (``forces.lift.airlift.lifts_per_day``).

    Several paths, or a path with glob steps (``threats.processes.*_isis.decay_per_day``),
    are linked: they all move with the one value. ``apply`` says how the value acts on each:
    ``set`` it, ``scale`` the scenario's own value by it (a multiplier), or ``shift`` the
    own value by it (whole days for a date). Columns are named ``name``, or the path with
    its dots as underscores, so SQL and pandas need no quoting."""

    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        description="Column name (letters, digits, _); needed for several paths or a pattern.",
    )
    path: KeyPattern | list[KeyPattern] = Field(
        description="A dotted key as for --set, or several (linked); glob steps allowed."
    )
    apply: Literal["set", "scale", "shift"] = Field(
        "set", description="set the value, scale the scenario's own by it, or shift it by it."
    )
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

    @property
    def paths(self) -> list[str]:
        """The dotted keys (or patterns) the value goes to."""
        return [self.path] if isinstance(self.path, str) else list(self.path)

    @property
    def column(self) -> str:
        """The parameter's column in ``points.parquet`` and in every analysis."""
        return self.name or self.paths[0].replace(".", "_")

    def overrides(self, value: Any) -> list[tuple[str, Any]]:
        """The overrides that give this parameter ``value``: one per path, the value itself
        or the ``Scale``/``Shift`` it stands for (``RelativeError`` if not a number)."""
        change = value
        if self.apply == "scale":
            change = Scale(value)
        elif self.apply == "shift":
            change = Shift(value)
        return [(path, change) for path in self.paths]

    @property
    def label(self) -> str:
        """A short name for figures: ``name``, or the path's last two keys, marked × for a
        factor and + for a shift."""
        short = self.name or ".".join(self.paths[0].split(".")[-2:])
        return {"set": short, "scale": f"{short} (×)", "shift": f"{short} (+)"}[self.apply]

    @model_validator(mode="after")
    def _one_source(self) -> Parameter:
        linked = len(self.paths) > 1 or any(set("*?[") & set(p) for p in self.paths)
        if self.name is None and linked:
            raise ValueError("give a name: this parameter has several paths or a pattern")
        if not self.paths:
            raise ValueError("give at least one path")
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
                    raise ValueError(f"grid parameter {p.column} needs values or levels")
        else:
            if self.samples is None:
                raise ValueError(f"design {self.design} needs samples")
            for p in self.parameters:
                if p.range is None:
                    raise ValueError(f"design {self.design} needs a range for {p.column}")
        if self.design == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"sobol samples must be a power of 2 (got {self.samples})")
        paths = [path for p in self.parameters for path in p.paths]
        twice = sorted({path for path in paths if paths.count(path) > 1})
        if twice:
            raise ValueError(f"a parameter path appears twice: {twice[0]}")
        columns = [p.column for p in self.parameters]
        if len(set(columns)) != len(columns):
            raise ValueError(f"two parameters share a column name: {', '.join(columns)}")
        taken = sorted(RESERVED_COLUMNS & set(columns))
        if taken:
            raise ValueError(f"parameter name {taken[0]!r} is a column of the tables; rename it")
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
