"""The root of a scenario file."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

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
    """A complete, validated scenario: frozen, every default filled in.

    Make one with ``sim.load_scenario(path)``, ``Scenario.model_validate(mapping)`` or
    ``scenario.model_copy(update=...)``; all three run the schema and the checks across
    fields and raise ``ScenarioError``. ``model_dump(mode="json")`` gives the mapping back.
    """

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

    @classmethod
    def model_validate(cls, obj: Any, **_: Any) -> Scenario:
        """A scenario from a mapping, through the same checks as a file: the schema, then the
        checks across fields (``RawScenario.validate``); every problem is one line of a
        ``ScenarioError`` naming its key path, with suggestions for misspelt keys. pydantic's
        own ``model_validate`` would check types only (shares summing to 2.7 would pass)."""
        if isinstance(obj, cls):
            return obj
        # sim.config.raw builds on this module (and the checks on the schema), so it is
        # found at call time: a static import here would be a cycle
        raw = import_module("sim.config.raw")
        return raw.RawScenario.from_mapping(obj).validate()

    @classmethod
    def schema_validate(cls, obj: Any) -> Scenario:
        """Types and ranges only (pydantic's ``model_validate``): the first pass of
        ``RawScenario.validate``, which turns its errors into positioned problems."""
        return super().model_validate(obj)

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Scenario:
        """A copy with the top-level sections in ``update`` replaced, validated like any
        scenario (pydantic's copy would not validate, so an invalid value would slip in)."""
        if not update:
            return super().model_copy(deep=deep)
        data = self.model_dump(mode="python")
        for key, value in update.items():
            data[key] = value.model_dump(mode="python") if isinstance(value, BaseModel) else value
        return type(self).model_validate(data)
