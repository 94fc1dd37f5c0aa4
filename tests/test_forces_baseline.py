"""The baseline drawdown against the reported figures and against arithmetic done by hand.

scenarios/baseline.yaml (configs/posture/sites.yaml, two_phase.yaml): 2,000 in Iraq
(Ain al-Asad 900, Victory 400, JOC 150, Erbil 550, of them 40 + 30 + 30 + 50 = 150 trainers,
residual); 900 in Syria (al-Tanf 200, north-east Syria 700). Phase 1 from 2025-09-01
(day 243) empties Ain al-Asad, Victory and the JOC to Erbil 0.45, north-east Syria 0.25 and
home 0.30, each role split on its own by largest remainder:

  Ain al-Asad  advisers 150 -> 67.5/37.5/45 -> 68/37/45 (tie to Erbil); force protection
               450 -> 202.5/112.5/135 -> 203/112/135; support 260 -> 117/65/78.
               Erbil 388, Syria 214, home 258.
  Victory      advisers 80 -> 36/20/24; force protection 170 -> 76.5/42.5/51 -> 77/42/51;
               support 120 -> 54/30/36. Erbil 167, Syria 92, home 111.
  JOC          advisers 60 -> 27/15/18; force protection 40 -> 18/10/12; support 20 -> 9/5/6.
               Erbil 54, Syria 30, home 36.

The airlift (100 a lift, one a day at 00:00, 0.25 days) carries one order a lift: Erbil and
home orders need 4 + 3 + 2 + 2 + 1 + 1 = 13 lifts, days 243..255, the last arriving 255.25.
In Iraq after phase 1: 2000 - (214 + 92 + 30) - (258 + 111 + 36) = 1259.

Phase 2 from 2026-09-01 (day 608) keeps 80 + 170 + 70 = 320 movable in Erbil, which then
holds 500 + 388 + 167 + 54 = 1109: 789 go home on ceil(789 / 100) = 8 lifts, days 608..615,
the last arriving 615.25. In Iraq falls 1259 -> 1159 -> ... -> 559 after 7 lifts, and below
500 (to 559 - 89 = 470) with the 8th, on day 615. 470 = 370 kept in Erbil (with its 50
trainers) + the 100 trainers left at the other sites.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from forces_helpers import baseline, daily_forces, run

PHASE_1, PHASE_2 = 243.0, 608.0
IRAQ_SITES = ["ain_al_asad", "victory", "joc_baghdad", "erbil"]
REPLICATIONS = (0, 1, 2)


@pytest.fixture(scope="module")
def scenario():
    return baseline()


@pytest.fixture(scope="module", params=REPLICATIONS, ids=[f"rep{r}" for r in REPLICATIONS])
def tables(request, scenario):
    tables, _, _ = run(scenario, replication=request.param, seed=scenario.run.seed)
    return tables


def test_dates_of_the_phases(scenario):
    start = scenario.clock.start_date
    assert [(p.start_date - start).days for p in scenario.forces.phases] == [PHASE_1, PHASE_2]


def test_about_2000_in_iraq_before_phase_1(tables):
    posture = tables["posture"]
    # the snapshot of 2025-09-01 itself is taken before the day's first lift
    before = posture[posture["date"] <= np.datetime64("2025-09-01")]
    assert len(before) == PHASE_1 + 1
    assert (before["in_iraq"] == 2000).all()
    assert (before["in_syria"] == 900).all()
    assert (before["in_transit"] == 0).all()


def test_after_phase_1(tables):
    kpis = tables["kpis"].iloc[0]
    moves = tables["movements"]
    phase_1 = moves[moves["owner"] == "phase_1"]
    air = phase_1[phase_1["asset"] == "airlift"]
    assert air["depart_day"].tolist() == [PHASE_1 + k for k in range(13)]
    by_route = phase_1.groupby(["origin", "destination"])["personnel"].sum().to_dict()
    assert by_route == {
        ("ain_al_asad", "erbil"): 388,
        ("ain_al_asad", "ne_syria"): 214,
        ("ain_al_asad", "home"): 258,
        ("victory", "erbil"): 167,
        ("victory", "ne_syria"): 92,
        ("victory", "home"): 111,
        ("joc_baghdad", "erbil"): 54,
        ("joc_baghdad", "ne_syria"): 30,
        ("joc_baghdad", "home"): 36,
    }
    # complete when the last of its lifts arrives: the airlift's at 255.25, or a late convoy
    assert kpis["complete_day_phase_1"] == pytest.approx(max(255.25, phase_1["arrive_day"].max()))
    posture = tables["posture"].set_index("day")
    settled = math.floor(kpis["complete_day_phase_1"]) + 1
    assert posture.loc[settled:PHASE_2, "in_iraq"].eq(1259).all()
    assert posture.loc[settled:PHASE_2, "in_transit"].eq(0).all()


def test_under_500_once_phase_2_completes(tables):
    kpis = tables["kpis"].iloc[0]
    done = kpis["complete_day_phase_2"]
    assert done == pytest.approx(615.25)
    posture = tables["posture"]
    after = posture[posture["day"] >= done]
    assert len(after) > 0
    assert (after["in_iraq"] < 500).all()
    assert (after["in_iraq"] == 470).all()
    assert kpis["final_in_iraq"] == 470
    f = daily_forces(tables)
    erbil = f[(f["site"] == "erbil") & (f["day"] == f["day"].max())]
    assert erbil["personnel"].sum() == 370
    phase_2 = tables["movements"].query("owner == 'phase_2'")
    assert phase_2["depart_day"].tolist() == [PHASE_2 + k for k in range(8)]
    assert phase_2["personnel"].tolist() == [100] * 7 + [89]


def test_trainers_remain_in_iraq(tables, scenario):
    f = daily_forces(tables)
    end = f[(f["day"] == f["day"].max()) & (f["role"] == "trainers")].set_index("site")
    initial = {s.name: s.personnel.get("trainers", 0) for s in scenario.forces.sites}
    assert end.loc[IRAQ_SITES, "personnel"].to_dict() == {s: initial[s] for s in IRAQ_SITES}
    assert end.loc[IRAQ_SITES, "personnel"].sum() == 150


def test_kpis_finite(tables):
    kpis = tables["kpis"].iloc[0]
    assert math.isfinite(kpis["complete_day_phase_1"])
    assert math.isfinite(kpis["complete_day_phase_2"])
    assert math.isfinite(kpis["below_threshold_day"])
    # below 500 with phase 2's 8th lift, on day 615
    assert kpis["below_threshold_day"] == 615.0
    assert PHASE_2 <= kpis["below_threshold_day"] <= kpis["complete_day_phase_2"]
    assert kpis["repositioning_triggers"] == 0
    assert tables["policy"].empty
