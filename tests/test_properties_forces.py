"""Properties of the forces model (posture, lift, drawdown, repositioning) on generated
scenarios (``strategies.scenarios``): each test states one invariant for every scenario."""

from __future__ import annotations

import copy
import datetime as dt
import math

import numpy as np
from forces_helpers import daily_forces
from hypothesis import given, settings
from hypothesis_profiles import examples
from strategies import START, day, initial_total, scenarios, simulate_data

TAIL_DAYS = 400  # after the last move is ordered: transit times (and chains of them) end


def _in_transit_at(moves, times: np.ndarray, mask=None) -> np.ndarray:
    """Personnel in transit at each snapshot time, from the movements log.

    A snapshot at t is taken before every event at t, so a lift departing at t has not left
    and a lift arriving at t has not arrived: in transit at t means depart < t <= arrive.
    """
    if mask is not None:
        moves = moves[mask]
    depart = moves["depart_day"].to_numpy()[None, :]
    arrive = moves["arrive_day"].to_numpy()[None, :]
    inside = (depart < times[:, None]) & (times[:, None] <= arrive)
    return (inside * moves["personnel"].to_numpy()[None, :]).sum(axis=1)


@settings(max_examples=examples(30))
@given(scenarios())
def test_personnel_conserved_at_every_record_time(data):
    _, tables = simulate_data(data)
    total = initial_total(data)
    per_time = daily_forces(tables).groupby("day", sort=False)["personnel"].sum()
    assert len(per_time) == len(tables["posture"])
    assert (per_time == total).all(), per_time[per_time != total]
    p = tables["posture"]
    assert (p["in_iraq"] + p["in_syria"] + p["out_of_theatre"] + p["in_transit"] == total).all()


@settings(max_examples=examples(30))
@given(scenarios())
def test_forces_spells_tile_the_horizon_and_conserve_personnel(data):
    s, tables = simulate_data(data)
    f = tables["forces"]
    for _, spells in f.groupby(["site", "role"], sort=False):
        start, end = spells["start_day"].to_numpy(), spells["end_day"].to_numpy()
        assert start[0] == 0.0 and end[-1] == s.horizon_days
        assert (start[1:] == end[:-1]).all()  # no gap, no overlap
        # only the state at the start may last no time (when lifts leave on day 0)
        assert (start[1:] < end[1:]).all() and start[0] <= end[0]
        assert (np.diff(spells["personnel"].to_numpy()) != 0).all()  # maximal spells
    total = initial_total(data)
    for t in np.unique(f["start_day"]):  # every instant the forces changed
        held = f[(f["start_day"] <= t) & (t < f["end_day"])]
        assert held["personnel"].sum() == total, t


@settings(max_examples=examples(30))
@given(scenarios())
def test_no_negative_counts(data):
    _, tables = simulate_data(data)
    assert (daily_forces(tables)["personnel"] >= 0).all()
    columns = ["in_iraq", "in_syria", "out_of_theatre", "in_transit"]
    assert (tables["posture"][columns] >= 0).all(axis=None)
    assert (tables["movements"]["personnel"] > 0).all()


@settings(max_examples=examples(30))
@given(scenarios())
def test_lifts_within_daily_limit_and_capacity(data):
    _, tables = simulate_data(data)
    moves = tables["movements"]
    assets = {a["name"]: a for a in data["forces"]["lift"]}
    per_day = moves.groupby(["asset", np.floor(moves["depart_day"] + 1e-9)]).size()
    for (asset, when), n in per_day.items():
        assert n <= assets[asset]["lifts_per_day"], (asset, when, n)
    capacity = {name: a["capacity_personnel"] for name, a in assets.items()}
    capacity = moves["asset"].map(capacity).astype("int64")  # (an empty log maps to str)
    over = moves[moves["personnel"] > capacity]
    assert over.empty, over
    assert (moves["arrive_day"] >= moves["depart_day"]).all()


@settings(max_examples=examples(30))
@given(scenarios())
def test_lifts_depart_at_their_hour_and_serve_their_destinations(data):
    _, tables = simulate_data(data)
    moves = tables["movements"]
    for name, asset in ((a["name"], a) for a in data["forces"]["lift"]):
        own = moves[moves["asset"] == name]
        hour = (own["depart_day"] - np.floor(own["depart_day"] + 1e-9)) * 24.0
        assert np.allclose(hour, asset["departure_hour"], atol=1e-6), own
        if asset.get("serves"):
            assert own["destination"].isin(asset["serves"]).all(), own


@settings(max_examples=examples(30))
@given(scenarios())
def test_residual_roles_never_move(data):
    _, tables = simulate_data(data)
    residual = data["forces"].get("residual_roles", [])
    f = daily_forces(tables)
    kept = f[f["role"].isin(residual)]
    assert (kept.loc[kept["site"] == "in_transit", "personnel"] == 0).all()
    initial = {
        (site["name"], role): site["personnel"][role]
        for site in data["forces"]["sites"]
        for role in residual
    }
    for (site, role), counts in kept[kept["site"] != "in_transit"].groupby(["site", "role"]):
        assert (counts["personnel"] == initial[site, role]).all(), (site, role)


@settings(max_examples=examples(30))
@given(scenarios())
def test_movements_log_accounts_for_everyone_in_transit(data):
    _, tables = simulate_data(data)
    posture = tables["posture"]
    moved = _in_transit_at(tables["movements"], posture["day"].to_numpy())
    assert (moved == posture["in_transit"].to_numpy()).all()


@settings(max_examples=examples(30))
@given(scenarios(repositioning="none", into_iraq="never"))
def test_in_iraq_never_increases_without_repositioning(data):
    """No rule and no phase sending anybody into Iraq: posture.in_iraq never rises."""
    _, tables = simulate_data(data)
    in_iraq = tables["posture"]["in_iraq"].to_numpy()
    assert (np.diff(in_iraq) <= 0).all(), in_iraq


@settings(max_examples=examples(30))
@given(scenarios(repositioning="none", into_iraq="from_iraq"))
def test_iraq_bound_personnel_never_increase_without_repositioning(data):
    """Moves within Iraq lower ``in_iraq`` while in transit (transit counts toward no country),
    so the quantity that never rises is in Iraq plus in transit to a site in Iraq."""
    _, tables = simulate_data(data)
    posture, moves = tables["posture"], tables["movements"]
    iraq = [s["name"] for s in data["forces"]["sites"] if s["country"] == "iraq"]
    inbound = _in_transit_at(moves, posture["day"].to_numpy(), moves["destination"].isin(iraq))
    bound_for_iraq = posture["in_iraq"].to_numpy() + inbound
    assert (np.diff(bound_for_iraq) <= 0).all(), bound_for_iraq


def _long_enough(data: dict) -> dict:
    """``data`` with a horizon long enough for every phase to finish: each person can be moved
    once per phase (and once more per return), at least one a day by lift asset ``l0``.

    The incident processes are dropped (no rule here reads incidents, so they cannot change
    the forces) and snapshots are thinned, which keeps the long run fast.
    """
    data = copy.deepcopy(data)
    horizon = (dt.date.fromisoformat(data["clock"]["end_date"]) - START).days
    forces = data["forces"]
    returns = 0
    for rule in forces.get("repositioning", []):
        steps = data["signals"][rule["signal"]]["values"]
        returns += rule["return_personnel"] * len(steps)
        # the warning ends: the rule is released for good at the original horizon
        steps.append({"date": day(horizon), "value": rule["release_below"] - 1.0})
    moves = (initial_total(data) + returns) * (len(forces.get("phases", [])) + 1)
    end = horizon + math.ceil(moves / forces["lift"][0]["lifts_per_day"]) + TAIL_DAYS
    data["clock"]["end_date"] = day(end)
    data["clock"]["record_interval_days"] = float(max(1, end // 50))
    data["threats"]["processes"] = []
    return data


@settings(max_examples=examples(30))
@given(scenarios(repositioning="scheduled"))
def test_every_phase_reaches_its_targets_given_time(data):
    data = _long_enough(data)
    _, tables = simulate_data(data)
    phases = tables["phases"].set_index("phase")
    assert phases["complete_day"].notna().all(), phases
    assert tables["posture"]["in_transit"].iloc[-1] == 0
    daily = daily_forces(tables)
    final = daily[daily["day"] == daily["day"].max()]
    final = final.set_index(["site", "role"])["personnel"]
    residual = set(data["forces"].get("residual_roles", []))
    governing = {}  # later phases take sites over from earlier ones
    for phase in data["forces"].get("phases", []):
        governing.update(phase["reduce"])
    for site, keep in governing.items():
        for role in data["forces"]["roles"]:
            if role not in residual:
                assert final[site, role] <= keep.get(role, 0), (site, role, final[site, role])


@settings(max_examples=examples(30))
@given(scenarios(repositioning="none"))
def test_a_phase_completes_when_its_last_lift_arrives(data):
    """Without rules nothing is dropped: a phase completes with the arrival of its last lift
    (later arrivals at a site it governs can make it order again), or when it starts if it
    has nobody to move."""
    data = _long_enough(data)
    _, tables = simulate_data(data)
    moves = tables["movements"]
    for _, phase in tables["phases"].iterrows():
        own = moves[(moves["owner"] == phase["phase"]) & (moves["purpose"] == "drawdown")]
        expected = own["arrive_day"].max() if len(own) else phase["start_day"]
        assert phase["complete_day"] == expected, (phase["phase"], phase["complete_day"], expected)
        assert phase["start_day"] == max(
            0, (dt.date.fromisoformat(_start(data, phase)) - START).days
        )


def _start(data: dict, phase) -> str:
    return next(p["start_date"] for p in data["forces"]["phases"] if p["name"] == phase["phase"])


@settings(max_examples=examples(30))
@given(scenarios(repositioning="any"))
def test_drawdown_waits_while_a_rule_holds_it(data):
    _, tables = simulate_data(data)
    policy = tables["policy"]
    actions = policy["action"].tolist()
    assert actions == ["hold", "release"] * (len(actions) // 2) + ["hold"] * (len(actions) % 2)
    assert policy["day"].is_monotonic_increasing
    rules = data["forces"].get("repositioning", [])
    if not rules or not rules[0]["hold_drawdown"]:
        return
    days = [*policy["day"].tolist(), math.inf]
    drawdown = tables["movements"].query("purpose == 'drawdown'")["depart_day"]
    for hold, release in zip(days[::2], days[1::2], strict=False):
        inside = drawdown[(drawdown >= hold) & (drawdown < release)]
        assert inside.empty, (hold, release, inside.tolist())
