"""Small builders of test scenarios for the forces model (posture, lift, drawdown).

``scenario`` wraps a ``forces`` section (and optional signals) in a minimal border and threat
with no incident processes, so a run only moves people. ``run`` simulates one replication and
also records every load (by role) that leaves a site, which the tables do not show.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.forces import forces_at
from sim.config.load import load_scenario
from sim.config.raw import RawScenario
from sim.config.schema import Scenario
from sim.model.world import World
from sim.tables import to_frames

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
START = dt.date(2025, 1, 1)

_BORDER = {
    "sectors": [
        {
            "name": "s1",
            "length_km": 10,
            "fortification": 0.0,
            "surveillance": 0.0,
            "response_units": 1,
        }
    ],
    "response": {"handling_days": {"distribution": "fixed", "value": 1.0}},
}
_THREATS = {
    "actors": ["a"],
    "incident_types": [
        {"name": "t", "share": 1.0, "severity": {"distribution": "fixed", "value": 1.0}}
    ],
}


def date(day: int) -> str:
    """The ISO date ``day`` days after the test scenarios' start date."""
    return (START + dt.timedelta(days=day)).isoformat()


def checked(data: dict[str, Any]) -> Scenario:
    return RawScenario.from_mapping(data, "<test>").validate()


def scenario(
    forces: dict[str, Any], signals: dict[str, Any] | None = None, days: int = 60
) -> Scenario:
    """A consistent scenario of ``days`` days from ``START`` around ``forces``."""
    return checked(
        {
            "metadata": {"name": "forces_test"},
            "clock": {"start_date": START.isoformat(), "end_date": date(days)},
            "forces": forces,
            "border": _BORDER,
            "threats": _THREATS,
            "signals": signals or {},
        }
    )


def lift(
    capacity: int,
    per_day: int,
    transit: float,
    name: str = "air",
    hour: float = 0.0,
    serves: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "capacity_personnel": capacity,
        "lifts_per_day": per_day,
        "departure_hour": hour,
        "transit_days": {"distribution": "fixed", "value": transit},
        "serves": serves or [],
    }


def scheduled(steps: list[tuple[int, float]]) -> dict[str, Any]:
    """A ``scheduled`` signal taking ``value`` from day ``day`` on, for each (day, value)."""
    return {"kind": "scheduled", "values": [{"date": date(d), "value": v} for d, v in steps]}


def baseline(overrides: list[str] | None = None) -> Scenario:
    return load_scenario(BASELINE, overrides or [])


def with_repositioning(s: Scenario, rule: dict[str, Any], signals: dict[str, Any]) -> Scenario:
    """``s`` with one more repositioning rule and the signals it watches."""
    data = s.model_dump(mode="json")
    data["forces"]["repositioning"] = [*data["forces"]["repositioning"], rule]
    data["signals"] = {**data["signals"], **signals}
    return checked(data)


def run(s: Scenario, replication: int = 0, seed: int = 1):
    """Tables of one replication, the world, and every departing load as (day, site, roles)."""
    w = World(s, replication, seed)
    loads: list[tuple[float, str, dict[str, int]]] = []
    depart = w.posture.depart

    def recording_depart(site: int, load: list[int]) -> None:
        roles = dict(zip(w.posture.roles, load, strict=True))
        loads.append((w.env.now, w.posture.sites[site], roles))
        depart(site, load)

    w.posture.depart = recording_depart
    return to_frames([w.run()]), w, loads


def daily_forces(tables) -> pd.DataFrame:
    """The ``forces`` spells on the record days (one row per day, site and role)."""
    return forces_at(tables["forces"], tables["posture"]["day"])
