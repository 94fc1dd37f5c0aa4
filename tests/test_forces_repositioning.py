"""The repositioning rule: hold and release days, the hold itself, returns, releases and
hysteresis.

Every scenario here is one Iraqi ``base`` of 1000 troops and 20 residual trainers, emptied
``home`` by a phase from day 10 with one lift asset (100 a lift, 1 lift a day at 00:00,
0.5 days in transit). Without a rule the last lift leaves on day 10 + 10 - 1 = 19.
A rule watching the ``warning`` signal holds at 5 and releases below 2, checking every day,
and brings 150 people from ``home`` back to ``base`` when it triggers; at the release they
go back ``home`` (purpose ``release``), ahead of the drawdown (a rule's moves come first).
"""

from __future__ import annotations

import numpy as np
import pytest
from forces_helpers import checked, daily_forces, date, lift, run, scenario, scheduled

PHASE_START = 10
CAPACITY, TRANSIT = 100, 0.5
RETURNED = 150


def reposition_scenario(steps, *, interval: float = 1.0, phase_start: int = PHASE_START):
    return scenario(
        {
            "roles": ["troops", "trainers"],
            "residual_roles": ["trainers"],
            "sites": [
                {"name": "base", "country": "iraq", "personnel": {"troops": 1000, "trainers": 20}},
                {"name": "home", "country": "out_of_theatre"},
            ],
            "phases": [
                {
                    "name": "out",
                    "start_date": date(phase_start),
                    "reduce": {"base": {}},
                    "destinations": {"home": 1.0},
                }
            ],
            "lift": [lift(CAPACITY, 1, TRANSIT)],
            "repositioning": [
                {
                    "name": "rule",
                    "signal": "warning",
                    "hold_above": 5.0,
                    "release_below": 2.0,
                    "check_interval_days": interval,
                    "return_personnel": RETURNED,
                    "return_to": "base",
                    "return_from": ["home"],
                }
            ],
        },
        signals={"warning": scheduled(steps)},
    )


# The warning rises to 10 on day 14 and falls to 0 on day 20.
HOLD, RELEASE = 14, 20
STEPS = [(0, 0.0), (HOLD, 10.0), (RELEASE, 0.0)]


@pytest.fixture(scope="module")
def held():
    tables, _, loads = run(reposition_scenario(STEPS))
    return tables, loads


def _drawdown(moves):
    return moves[moves["purpose"] == "drawdown"]


def _released(moves):
    return moves[moves["purpose"] == "release"]


def test_policy_logs_one_hold_and_one_release_on_the_expected_days(held):
    tables, _ = held
    policy = tables["policy"]
    assert policy["action"].tolist() == ["hold", "release"]
    assert policy["day"].tolist() == [HOLD, RELEASE]
    assert policy["signal_value"].tolist() == [10.0, 0.0]
    assert policy["rule"].unique().tolist() == ["rule"]
    assert [str(d)[:10] for d in policy["date"]] == [date(HOLD), date(RELEASE)]
    assert tables["kpis"]["repositioning_triggers"].iloc[0] == 1


def test_no_drawdown_lift_departs_while_held(held):
    tables, _ = held
    drawdown = _drawdown(tables["movements"])
    during = drawdown[(drawdown["depart_day"] >= HOLD) & (drawdown["depart_day"] < RELEASE)]
    assert during.empty
    # before the hold, one lift a day from day 10: days 10..13 carry 4 * 100 = 400 home
    before = drawdown[drawdown["depart_day"] < HOLD]
    assert before["depart_day"].tolist() == [10.0, 11.0, 12.0, 13.0]
    assert before["personnel"].sum() == 400


def test_returned_personnel_move_back(held):
    tables, loads = held
    returns = tables["movements"].query("purpose == 'return'")
    # on day 14 home holds the 400 already arrived, so all 150 come back: 100 on the day-14
    # lift (returns first), 50 on day 15, arriving half a day later
    assert returns["depart_day"].tolist() == [14.0, 15.0]
    assert returns["personnel"].tolist() == [100, 50]
    assert (returns["origin"] == "home").all() and (returns["destination"] == "base").all()
    assert (returns["owner"] == "rule").all()
    f = daily_forces(tables)
    troops = f[(f["site"] == "base") & (f["role"] == "troops")].set_index("day")["personnel"]
    # 1000 - 400 left on day 14's snapshot; + 100 by day 15, + 50 by day 16; held till 20
    assert troops[14.0] == 600
    assert troops[15.0] == 700
    assert troops[16.0] == 750
    assert troops[20.0] == 750
    assert all(load["trainers"] == 0 for _, _, load in loads)


def test_release_sends_the_returned_back_then_the_drawdown_resumes(held):
    tables, _ = held
    moves = tables["movements"]
    # on day 20 the 150 returned go back home first (days 20 and 21), then the 600 who never
    # moved leave as the phase orders: ceil(600 / 100) = 6 lifts, days 22..27
    released = _released(moves)
    assert released["depart_day"].tolist() == [20.0, 21.0]
    assert released["personnel"].tolist() == [100, 50]
    assert (released["origin"] == "base").all() and (released["destination"] == "home").all()
    assert (released["owner"] == "rule").all()
    drawdown = _drawdown(moves)
    after = drawdown[drawdown["depart_day"] >= RELEASE]
    assert after["depart_day"].tolist() == [float(d) for d in range(RELEASE + 2, RELEASE + 8)]
    assert after["personnel"].tolist() == [100] * 6
    assert drawdown["personnel"].sum() == 1000
    # complete when the last lift arrives: 27 + 0.5
    phases = tables["phases"].set_index("phase")
    assert phases.loc["out", "complete_day"] == 27.5
    assert tables["kpis"]["complete_day_out"].iloc[0] == 27.5
    f = daily_forces(tables)
    last = f[f["day"] == f["day"].max()].set_index(["site", "role"])["personnel"]
    assert last["base", "troops"] == 0
    assert last["base", "trainers"] == 20
    assert last["home", "troops"] == 1000


def test_hysteresis_oscillation_between_thresholds_triggers_once(held):
    # above 5 on day 14, then between release (2) and hold (5) and back above 5 several times,
    # below 2 only on day 20, and between the thresholds again from day 23
    steps = [
        (0, 0.0),
        (14, 10.0),
        (16, 3.0),
        (17, 6.0),
        (18, 3.0),
        (19, 4.9),
        (20, 1.9),
        (23, 3.0),
        (24, 4.99),
        (25, 2.0),
    ]
    tables, _, _ = run(reposition_scenario(steps))
    policy = tables["policy"]
    assert policy["action"].tolist() == ["hold", "release"]
    assert policy["day"].tolist() == [HOLD, RELEASE]
    assert tables["kpis"]["repositioning_triggers"].iloc[0] == 1
    # and moves exactly as with the clean rise and fall
    columns = ["purpose", "origin", "destination", "depart_day", "arrive_day", "personnel"]
    expected = held[0]["movements"][columns].reset_index(drop=True)
    pd_equal = tables["movements"][columns].reset_index(drop=True).equals(expected)
    assert pd_equal


def test_signal_between_thresholds_alone_never_triggers():
    tables, _, _ = run(reposition_scenario([(0, 0.0), (12, 4.0), (13, 1.0), (15, 4.99)]))
    assert tables["policy"].empty
    assert (tables["movements"]["purpose"] == "drawdown").all()
    assert tables["movements"]["depart_day"].max() == 19.0


def test_rule_rearms_after_release():
    # a second rise after the release is a second trigger (hold 14, release 20, hold 22,
    # release 24); the phase still empties the base
    steps = [(0, 0.0), (14, 10.0), (20, 0.0), (22, 8.0), (24, 1.0)]
    tables, _, _ = run(reposition_scenario(steps))
    policy = tables["policy"]
    assert policy["action"].tolist() == ["hold", "release", "hold", "release"]
    assert policy["day"].tolist() == [14.0, 20.0, 22.0, 24.0]
    assert tables["kpis"]["repositioning_triggers"].iloc[0] == 2
    moves = tables["movements"]
    drawdown = _drawdown(moves)
    for hold, release in [(14, 20), (22, 24)]:
        assert not drawdown["depart_day"].between(hold, release, inclusive="left").any()
    returned = moves.query("purpose == 'return'")["personnel"].sum()
    assert returned == 2 * RETURNED
    assert _released(moves)["personnel"].sum() == returned
    assert drawdown["personnel"].sum() == 1000
    f = daily_forces(tables)
    last = f[f["day"] == f["day"].max()].set_index(["site", "role"])["personnel"]
    assert last["base", "troops"] == 0
    assert np.isfinite(tables["kpis"]["complete_day_out"].iloc[0])


def test_checks_happen_at_multiples_of_the_interval():
    # checks every 7 days (0, 7, 14, 21, ...): the rise on day 12 is seen on day 14 and the
    # fall on day 15 on day 21
    tables, _, _ = run(reposition_scenario([(0, 0.0), (12, 10.0), (15, 0.0)], interval=7.0))
    policy = tables["policy"]
    assert policy["action"].tolist() == ["hold", "release"]
    assert policy["day"].tolist() == [14.0, 21.0]
    drawdown = _drawdown(tables["movements"])
    assert not drawdown["depart_day"].between(14, 21, inclusive="left").any()


@pytest.mark.parametrize("interval", [0.5, 0.25])
def test_check_at_a_lift_departure_instant_comes_first(held, interval):
    # checks every half (quarter) day land on day 14.0, the instant of a departure slot: the
    # hold logged at 14.0 must stop that slot's drawdown lift (it once departed anyway, as the
    # lift's wake-up had been scheduled before the rule's), and everything moves as when
    # checking daily
    tables, _, _ = run(reposition_scenario(STEPS, interval=interval))
    assert tables["policy"]["day"].tolist() == [HOLD, RELEASE]
    drawdown = _drawdown(tables["movements"])
    assert not drawdown["depart_day"].between(HOLD, RELEASE, inclusive="left").any()
    columns = ["purpose", "origin", "destination", "depart_day", "arrive_day", "personnel"]
    expected = held[0]["movements"][columns].reset_index(drop=True)
    assert tables["movements"][columns].reset_index(drop=True).equals(expected)


def test_hold_before_the_phase_starts_delays_its_first_lift():
    # held from day 5 to day 12; the phase starts on day 10 and orders everyone out, but no
    # lift departs until day 12; home is empty so nobody returns. 10 lifts: days 12..21
    tables, _, _ = run(reposition_scenario([(0, 0.0), (5, 10.0), (12, 0.0)]))
    assert tables["policy"]["day"].tolist() == [5.0, 12.0]
    moves = tables["movements"]
    assert (moves["purpose"] == "drawdown").all()
    assert moves["depart_day"].tolist() == [float(d) for d in range(12, 22)]
    phases = tables["phases"].set_index("phase")
    assert phases.loc["out", "start_day"] == 10.0
    assert phases.loc["out", "complete_day"] == 21.5


def test_return_after_the_phase_completed_goes_back_at_the_release():
    # the phase empties base by day 19 (complete 19.5); the rule triggers on day 25, brings
    # 150 back from home (lifts on days 25, 26) and, at the release on day 30, takes them back
    # home on days 30 and 31; the phase orders nothing more, so it stays complete at 19.5
    tables, _, _ = run(reposition_scenario([(0, 0.0), (25, 10.0), (30, 0.0)]))
    moves = tables["movements"]
    returns = moves.query("purpose == 'return'")
    assert returns["depart_day"].tolist() == [25.0, 26.0]
    again = _released(moves)
    assert again["depart_day"].tolist() == [30.0, 31.0]
    assert again["personnel"].tolist() == [100, 50]
    assert _drawdown(moves).query("depart_day >= 20").empty
    assert tables["phases"].set_index("phase").loc["out", "complete_day"] == 19.5


def test_phase_condition_waits_for_the_signal():
    # the phase may start on day 10 but waits (checking daily) until the warning is below 5,
    # which happens on day 15: 1000 troops leave on days 15..24 (10 lifts)
    s = reposition_scenario([(0, 10.0), (15, 0.0)])
    data = s.model_dump(mode="json")
    data["forces"]["repositioning"] = []
    data["forces"]["phases"][0]["condition"] = {"signal": "warning", "below": 5.0}
    tables, _, _ = run(checked(data))
    phases = tables["phases"].set_index("phase")
    assert phases.loc["out", "start_day"] == 15.0
    assert tables["movements"]["depart_day"].tolist() == [float(d) for d in range(15, 25)]
    assert phases.loc["out", "complete_day"] == 24.5
