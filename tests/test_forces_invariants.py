"""Invariants of the forces model on the baseline and on repositioning variants of it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from forces_helpers import baseline, daily_forces, run, with_repositioning

# Baseline day 243 is 2025-09-01 (phase 1 starts); the warning rises on 2025-09-05 (day 247)
# while phase 1 is moving and falls on 2025-09-25 (day 267).
WARNING = {
    "warning": {
        "kind": "scheduled",
        "values": [
            {"date": "2025-01-01", "value": 0.0},
            {"date": "2025-09-05", "value": 10.0},
            {"date": "2025-09-25", "value": 0.0},
        ],
    }
}


def _rule(return_to: str, return_from: list[str]) -> dict:
    return {
        "name": "reposition",
        "signal": "warning",
        "hold_above": 5.0,
        "release_below": 2.0,
        "return_personnel": 250,
        "return_to": return_to,
        "return_from": return_from,
    }


def _scenarios():
    base = baseline()
    return {
        "baseline": base,
        # back to Erbil (not governed in phase 1): they stay until phase 2
        "return_to_erbil": with_repositioning(base, _rule("erbil", ["home", "ne_syria"]), WARNING),
        # back to a site phase 1 is emptying: they leave again after release
        "return_to_governed": with_repositioning(
            base, _rule("ain_al_asad", ["erbil", "home"]), WARNING
        ),
    }


SCENARIOS = _scenarios()
RUNS = [(name, rep) for name in SCENARIOS for rep in (0, 1)]


@pytest.fixture(scope="module", params=RUNS, ids=[f"{n}-rep{r}" for n, r in RUNS])
def result(request):
    name, rep = request.param
    s = SCENARIOS[name]
    tables, world, loads = run(s, replication=rep, seed=s.run.seed)
    return name, s, tables, world, loads


def test_personnel_conserved_at_every_record_time(result):
    _, s, tables, _, _ = result
    initial = sum(sum(site.personnel.values()) for site in s.forces.sites)
    f = daily_forces(tables)
    per_time = f.groupby("day")["personnel"].sum()
    assert len(per_time) == len(np.unique(f["day"]))
    assert (per_time == initial).all()
    p = tables["posture"]
    totals = p["in_iraq"] + p["in_syria"] + p["out_of_theatre"] + p["in_transit"]
    assert (totals == initial).all()


def test_no_negative_counts(result):
    _, _, tables, world, _ = result
    assert (daily_forces(tables)["personnel"] >= 0).all()
    assert (tables["posture"][["in_iraq", "in_syria", "out_of_theatre", "in_transit"]] >= 0).all(
        axis=None
    )
    assert min(map(min, world.posture.counts)) >= 0
    assert min(world.posture.in_transit) >= 0


def test_lifts_within_daily_limit_and_capacity(result):
    _, s, tables, _, _ = result
    moves = tables["movements"]
    assert len(moves) > 0
    assets = {a.name: a for a in s.forces.lift}
    per_day = moves.groupby(["asset", np.floor(moves["depart_day"] + 1e-9)]).size()
    for (asset, _), n in per_day.items():
        assert n <= assets[asset].lifts_per_day
    capacity = moves["asset"].map({a: x.capacity_personnel for a, x in assets.items()})
    assert (moves["personnel"] <= capacity).all()
    assert (moves["personnel"] > 0).all()
    assert (moves["arrive_day"] >= moves["depart_day"]).all()


def test_residual_roles_never_move(result):
    _, s, tables, _, loads = result
    residual = s.forces.residual_roles
    assert residual == ["trainers"]
    assert loads, "nothing moved"
    assert all(load[r] == 0 for _, _, load in loads for r in residual)
    f = daily_forces(tables)
    trainers = f[f["role"].isin(residual)]
    assert (trainers[trainers["site"] == "in_transit"]["personnel"] == 0).all()
    initial = {site.name: site.personnel.get("trainers", 0) for site in s.forces.sites}
    for site, counts in trainers.groupby("site")["personnel"]:
        if site != "in_transit":
            assert (counts == initial[site]).all(), site


def test_loads_match_movements(result):
    _, _, tables, _, loads = result
    moves = tables["movements"]
    assert [sum(load.values()) for _, _, load in loads] == moves["personnel"].tolist()
    assert [site for _, site, _ in loads] == moves["origin"].tolist()


def test_in_iraq_never_increases_without_repositioning(result):
    name, _, tables, _, _ = result
    in_iraq = tables["posture"]["in_iraq"].to_numpy()
    if name == "baseline":
        assert (np.diff(in_iraq) <= 0).all()
        assert tables["policy"].empty
    else:
        # with the rule, the only rises come from returns (from Syria), after the hold
        hold = tables["policy"].query("action == 'hold'")["day"].min()
        days = tables["posture"]["day"].to_numpy()
        rises = days[1:][np.diff(in_iraq) > 0]
        assert (rises > hold).all()
        if name == "return_to_erbil":
            assert len(rises) > 0


def test_phases_complete(result):
    _, _, tables, _, _ = result
    kpis = tables["kpis"].iloc[0]
    assert math.isfinite(kpis["complete_day_phase_1"])
    assert math.isfinite(kpis["complete_day_phase_2"])


def test_phase_completes_when_its_last_lift_arrives(result):
    _, s, tables, _, _ = result
    kpis = tables["kpis"].iloc[0]
    moves = tables["movements"]
    for phase in s.forces.phases:
        own = moves[(moves["owner"] == phase.name) & (moves["purpose"] == "drawdown")]
        assert kpis[f"complete_day_{phase.name}"] == pytest.approx(own["arrive_day"].max())


def test_holds_and_releases_alternate_and_stop_the_drawdown(result):
    name, _, tables, _, _ = result
    policy = tables["policy"]
    if name == "baseline":
        return
    actions = policy["action"].tolist()
    assert actions == ["hold", "release"] * (len(actions) // 2)
    assert policy["day"].is_monotonic_increasing
    days = policy["day"].to_numpy()
    drawdown = tables["movements"].query("purpose == 'drawdown'")
    for hold, release in zip(days[::2], days[1::2], strict=True):
        assert not drawdown["depart_day"].between(hold, release, inclusive="left").any()
    assert tables["kpis"]["repositioning_triggers"].iloc[0] == actions.count("hold")
    returns = tables["movements"].query("purpose == 'return'")
    assert returns["personnel"].sum() == 250
