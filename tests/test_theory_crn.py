"""Common random numbers: each process draws from streams of its own name, so a change to one
part of a scenario leaves the draws of every other part where they were.

* With modulation off (no coupling through the forces), changing one process's rate leaves
  every other process's incidents (times, marks, detection, parents) identical under the
  same seed, and those in other sectors keep their whole response too; the one exception is
  a change of a branching ratio, which changes the burn-in of the processes linked to it by
  excitation (its length depends on their spectral radius, docs/model.md §4.5).
* Changing a handling distribution changes no arrival, whatever the modulation: the queue
  feeds nothing back to the arrivals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config.excitation import components
from sim.config.load import load_scenario

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
MODULATION_OFF = [
    f"threats.modulation.{factor}.enabled=false"
    for factor in (
        "local_presence",
        "iraqi_capacity",
        "fortification",
        "coordination",
    )
]
SEED = 7
REPLICATIONS = (0, 3)
ARRIVAL = ["day", "type", "severity", "detected", "parent_day"]
RESPONSE = ["response_start_day", "response_end_day", "wait_days", "outcome"]


def incidents(overrides: list[str], replication: int) -> pd.DataFrame:
    from sim.model.world import simulate

    scenario = load_scenario(BASELINE, overrides)
    table = simulate(scenario, replication, SEED)["incidents"]
    # Ids are row numbers of the whole log and shift when another process changes, so the
    # parent is compared by its time.
    day = table.set_index("incident")["day"]
    table["parent_day"] = table["parent"].map(day)  # NaN for the background
    return table


def by_process(table: pd.DataFrame, process: str, columns: list[str]) -> pd.DataFrame:
    rows = table[table["process"] == process].sort_values("day")
    return rows[columns].reset_index(drop=True)


@pytest.mark.parametrize("replication", REPLICATIONS)
@pytest.mark.parametrize(
    ("changed", "setting"),
    [
        ("al_qaim_isis", "background_rate_per_day=0.2"),  # Hawkes
        ("al_qaim_isis", "branching_ratio=0.7"),
        ("al_walid_aq", "rate_per_day=0.05"),  # Poisson
    ],
)
def test_changing_one_process_leaves_the_others_identical(changed, setting, replication):
    base = incidents(MODULATION_OFF, replication)
    other = incidents([*MODULATION_OFF, f"threats.processes.{changed}.{setting}"], replication)
    assert not by_process(base, changed, ["day"]).equals(by_process(other, changed, ["day"]))
    changed_sector = base.loc[base["process"] == changed, "sector"].iloc[0]
    scenario = load_scenario(BASELINE, MODULATION_OFF)
    component = dict(
        zip([p.name for p in scenario.threats.processes], components(scenario), strict=True)
    )
    for process in sorted(set(base["process"]) - {changed}):
        if "branching" in setting and component[process] == component[changed]:
            continue  # the component's burn-in lasts 20 / (β (1 − ρ)), and ρ changed
        same_sector = base.loc[base["process"] == process, "sector"].iloc[0] == changed_sector
        # In the changed process's sector the queue is shared, so waits may differ there.
        columns = ARRIVAL if same_sector else ARRIVAL + RESPONSE
        pd.testing.assert_frame_equal(
            by_process(base, process, columns), by_process(other, process, columns)
        )


@pytest.mark.parametrize("modulation", [[], MODULATION_OFF], ids=["modulation_on", "off"])
def test_changing_handling_leaves_every_arrival_unchanged(modulation):
    handling = "border.response.handling_days={distribution: lognormal, median: 3.0, sigma: 0.8}"
    base = incidents(modulation, REPLICATIONS[0])
    other = incidents([*modulation, handling], REPLICATIONS[0])
    assert len(base) > 100
    columns = ["process", *ARRIVAL]
    order = ["process", "day"]
    pd.testing.assert_frame_equal(
        base.sort_values(order)[columns].reset_index(drop=True),
        other.sort_values(order)[columns].reset_index(drop=True),
    )
    # ...while the response did change.
    assert not np.allclose(
        base["wait_days"].fillna(-1).to_numpy(), other["wait_days"].fillna(-1).to_numpy()
    )


@pytest.mark.parametrize("replication", REPLICATIONS)
def test_a_later_change_of_modulation_leaves_earlier_incidents_identical(replication):
    # Coordination with the SDF collapses from 2026 (day 365): every process's candidate
    # incidents are drawn against the same bound, so everything before 2026 is identical.
    change = (
        "threats.modulation.coordination.levels.sdf="
        "[{date: 2025-01-01, value: 0.7}, {date: 2026-01-01, value: 0.0}]"
    )
    base = incidents([], replication)
    other = incidents([change], replication)
    before = 365.0
    assert len(base[base["day"] < before]) > 20
    pd.testing.assert_frame_equal(
        base[base["day"] < before].reset_index(drop=True),
        other[other["day"] < before].reset_index(drop=True),
    )
    later = ["process", "day"]
    assert not base[base["day"] >= before][later].equals(other[other["day"] >= before][later])


@pytest.mark.parametrize("replication", REPLICATIONS)
def test_a_lower_modulated_rate_keeps_a_subset_of_the_incidents(replication):
    # More fortification damps every rate: the Poisson incidents of the damped scenario are
    # a subset of the baseline's (same candidates, same uniforms, a lower acceptance).
    louder = ["threats.processes.al_qaim_aq.rate_per_day=0.5"]
    base = incidents(louder, replication)
    damped = incidents([*louder, "threats.modulation.fortification.effect=0.8"], replication)
    own = damped[~damped["displaced"]]  # displaced attempts are new incidents next door
    for process in ("al_qaim_aq", "al_walid_aq"):
        kept = set(own.loc[own["process"] == process, "day"])
        everything = set(base.loc[base["process"] == process, "day"])
        assert kept <= everything
    assert 0 < (damped["process"] == "al_qaim_aq").sum() < (base["process"] == "al_qaim_aq").sum()
