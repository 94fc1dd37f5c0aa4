"""The scenario schema (pydantic v2): every model forbids unknown keys."""

from sim.config.schema.border import Border, Detection, Interdiction, Response, Sector
from sim.config.schema.common import Exponential, Fixed, LogNormal, Pareto, Step
from sim.config.schema.forces import Forces, LiftAsset, Phase, Repositioning, Site
from sim.config.schema.scenario import (
    Clock,
    IncidentSignal,
    Metadata,
    Run,
    Scenario,
    ScheduledSignal,
)
from sim.config.schema.threats import (
    NHPP,
    Displacement,
    Excitation,
    Hawkes,
    IncidentType,
    Kernel,
    Modulation,
    Poisson,
    Shock,
    Threats,
)

__all__ = [
    "NHPP",
    "Border",
    "Clock",
    "Detection",
    "Displacement",
    "Excitation",
    "Exponential",
    "Fixed",
    "Forces",
    "Hawkes",
    "IncidentSignal",
    "IncidentType",
    "Interdiction",
    "Kernel",
    "LiftAsset",
    "LogNormal",
    "Metadata",
    "Modulation",
    "Pareto",
    "Phase",
    "Poisson",
    "Repositioning",
    "Response",
    "Run",
    "Scenario",
    "ScheduledSignal",
    "Sector",
    "Shock",
    "Site",
    "Step",
    "Threats",
]
