"""Shared helpers for the tests: where things are, and pooled runs of validation scenarios."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import hypothesis_profiles  # noqa: F401  (registers the hypothesis profiles)
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
VALIDATION = ROOT / "scenarios" / "validation"


@cache
def _pooled(name: str, replications: int, seed: int) -> tuple[object, dict[str, pd.DataFrame]]:
    from sim.config.load import load_scenario
    from sim.model.world import simulate

    scenario = load_scenario(VALIDATION / f"{name}.yaml")
    runs = [simulate(scenario, r, seed) for r in range(replications)]
    tables = {key: pd.concat([run[key] for run in runs], ignore_index=True) for key in runs[0]}
    return scenario, tables


@pytest.fixture(scope="session")
def validation_run():
    """``validation_run(name, replications, seed)`` -> (scenario, pooled tables); cached."""
    return _pooled
