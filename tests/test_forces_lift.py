"""The lift model against arithmetic done by hand: when a site empties, and how shares split."""

from __future__ import annotations

import math

import pytest
from forces_helpers import daily_forces, date, lift, run, scenario

START_DAY = 10  # the phase starts on day 10 in every scenario below


def one_site(
    troops: int,
    capacity: int,
    per_day: int,
    transit: float,
    *,
    trainers: int = 20,
    keep: int = 0,
    support: int = 0,
    hour: float = 0.0,
):
    """``base`` (Iraq) holds troops, support and residual trainers; a phase empties it home."""
    return scenario(
        {
            "roles": ["troops", "support", "trainers"],
            "residual_roles": ["trainers"],
            "sites": [
                {
                    "name": "base",
                    "country": "iraq",
                    "personnel": {"troops": troops, "support": support, "trainers": trainers},
                },
                {"name": "home", "country": "out_of_theatre"},
            ],
            "phases": [
                {
                    "name": "out",
                    "start_date": date(START_DAY),
                    "reduce": {"base": {"troops": keep}},
                    "destinations": {"home": 1.0},
                }
            ],
            "lift": [lift(capacity, per_day, transit, hour=hour)],
        }
    )


# (troops, support, keep, capacity, lifts_per_day, transit, departure_hour, lifts, last_day)
# where, by hand, movable N = troops + support - keep, lifts = ceil(N / capacity),
# days = ceil(lifts / lifts_per_day), and the last lift departs on START_DAY + days - 1.
CASES = [
    # N = 1000: ceil(1000/100) = 10 lifts; ceil(10/1) = 10 days; last day 10 + 10 - 1 = 19
    (1000, 0, 0, 100, 1, 0.25, 0.0, 10, 19),
    # N = 950 (not a multiple): ceil(950/100) = 10 lifts; ceil(10/2) = 5 days; 10 + 5 - 1 = 14
    (950, 0, 0, 100, 2, 1.5, 0.0, 10, 14),
    # N = 101: ceil(101/50) = 3 lifts; ceil(3/3) = 1 day; 10 + 1 - 1 = 10 (all on day one)
    (101, 0, 0, 50, 3, 0.5, 0.0, 3, 10),
    # N = 1234: ceil(1234/150) = ceil(8.23) = 9 lifts; ceil(9/4) = 3 days; 10 + 3 - 1 = 12
    (1234, 0, 0, 150, 4, 3.0, 0.0, 9, 12),
    # N = 7 (less than one load): 1 lift; 1 day; last day 10; transit 2 days
    (7, 0, 0, 10, 1, 2.0, 0.0, 1, 10),
    # two movable roles share loads, 30 troops kept: N = 400 + 155 - 30 = 525;
    # ceil(525/100) = 6 lifts; ceil(6/2) = 3 days; 10 + 3 - 1 = 12
    (400, 155, 30, 100, 2, 1.0, 0.0, 6, 12),
    # departure at 06:00: N = 330, ceil(330/100) = 4 lifts, 4 days, last lift on day 13 at
    # 13.25, arriving 13.25 + 0.5 = 13.75
    (330, 0, 0, 100, 1, 0.5, 6.0, 4, 13),
]


@pytest.mark.parametrize(
    ("troops", "support", "keep", "capacity", "per_day", "transit", "hour", "lifts", "last_day"),
    CASES,
)
def test_site_empties_on_the_day_computed_by_hand(
    troops, support, keep, capacity, per_day, transit, hour, lifts, last_day
):
    n = troops + support - keep
    # the hand arithmetic in CASES agrees with the formula it comments
    assert lifts == math.ceil(n / capacity)
    assert last_day == START_DAY + math.ceil(lifts / per_day) - 1

    s = one_site(troops, capacity, per_day, transit, keep=keep, support=support, hour=hour)
    tables, _, loads = run(s)
    moves = tables["movements"]
    offset = hour / 24.0

    # every lift full but the last, which carries the remainder
    assert len(moves) == lifts
    assert moves["personnel"].sum() == n
    assert moves["personnel"].tolist() == [capacity] * (lifts - 1) + [n - capacity * (lifts - 1)]
    assert (moves["origin"] == "base").all() and (moves["destination"] == "home").all()
    # the first lift departs on the phase's start day, the last on the day computed by hand
    assert moves["depart_day"].min() == pytest.approx(START_DAY + offset)
    assert moves["depart_day"].max() == pytest.approx(last_day + offset)
    assert (moves["arrive_day"] - moves["depart_day"]).to_numpy() == pytest.approx(transit)

    # snapshots come before the events of their instant: the first one showing base without
    # movable personnel is the day after the last departure
    f = daily_forces(tables)
    base = f[f["site"] == "base"]
    movable = base[base["role"] != "trainers"].groupby("day")["personnel"].sum()
    empty_days = movable.index[movable == keep]
    assert empty_days.min() == last_day + 1
    assert (movable[movable.index > last_day] == keep).all()
    assert (movable[movable.index <= last_day] > keep).all()
    # the residual role stays put, and never leaves on a lift
    trainers = base[base["role"] == "trainers"]["personnel"]
    assert (trainers == 20).all()
    assert all(load["trainers"] == 0 for _, _, load in loads)

    # the phase completes when its last lift arrives
    phases = tables["phases"].set_index("phase")
    assert phases.loc["out", "start_day"] == START_DAY
    assert phases.loc["out", "complete_day"] == pytest.approx(last_day + offset + transit)
    kpis = tables["kpis"].iloc[0]
    assert kpis["complete_day_out"] == pytest.approx(last_day + offset + transit)
    assert tables["posture"]["out_of_theatre"].iloc[-1] == n


def two_destinations(troops: int, shares: dict[str, float], support: int = 0):
    return scenario(
        {
            "roles": ["troops", "support", "trainers"],
            "residual_roles": ["trainers"],
            "sites": [
                {
                    "name": "base",
                    "country": "iraq",
                    "personnel": {"troops": troops, "support": support, "trainers": 5},
                },
                {"name": "erbil", "country": "iraq"},
                {"name": "syria", "country": "syria"},
                {"name": "home", "country": "out_of_theatre"},
            ],
            "phases": [
                {
                    "name": "out",
                    "start_date": date(START_DAY),
                    "reduce": {"base": {}},
                    "destinations": shares,
                }
            ],
            "lift": [lift(100, 3, 1.0)],
        }
    )


@pytest.mark.parametrize(
    ("troops", "shares", "expected"),
    [
        # 101 * 0.45 = 45.45, 101 * 0.55 = 55.55: floors 45 + 55 = 100, one left over goes to
        # the larger remainder (0.55 > 0.45): erbil 45, home 56
        (101, {"erbil": 0.45, "home": 0.55}, {"erbil": 45, "home": 56}),
        # 7 * 0.3 = 2.1, 7 * 0.7 = 4.9: floors 2 + 4 = 6, the one left goes to home (0.9)
        (7, {"erbil": 0.3, "home": 0.7}, {"erbil": 2, "home": 5}),
        # 5 * 0.5 = 2.5 each: floors 2 + 2, the tie goes to the first listed destination
        (5, {"erbil": 0.5, "home": 0.5}, {"erbil": 3, "home": 2}),
        # 3 * (0.5, 0.25, 0.25) = 1.5, 0.75, 0.75: floors 1, 0, 0; two left go to the two
        # 0.75 remainders: 1 each
        (3, {"erbil": 0.5, "syria": 0.25, "home": 0.25}, {"erbil": 1, "syria": 1, "home": 1}),
        # 860 * (0.45, 0.25, 0.30) = 387, 215, 258 exactly: no remainder
        (
            860,
            {"erbil": 0.45, "syria": 0.25, "home": 0.30},
            {"erbil": 387, "syria": 215, "home": 258},
        ),
    ],
)
def test_split_between_destinations_is_largest_remainder(troops, shares, expected):
    tables, _, _ = run(two_destinations(troops, shares))
    moves = tables["movements"]
    moved = moves.groupby("destination")["personnel"].sum().to_dict()
    assert moved == {d: n for d, n in expected.items() if n}
    # and they arrive: the last snapshot holds the split
    f = daily_forces(tables)
    last = f[f["day"] == f["day"].max()].groupby("site")["personnel"].sum()
    for dest, n in expected.items():
        assert last[dest] == n
    assert last["base"] == 5  # the trainers


def test_split_is_per_role():
    # each movable role is split on its own: troops 5 * (0.5, 0.5) = 2.5 each, tie to erbil
    # (3, 2); support 7 * (0.5, 0.5) = 3.5 each, tie to erbil (4, 3); erbil 3 + 4 = 7, home 5
    tables, _, loads = run(two_destinations(5, {"erbil": 0.5, "home": 0.5}, support=7))
    f = daily_forces(tables)
    last = f[f["day"] == f["day"].max()].set_index(["site", "role"])["personnel"]
    assert (last["erbil", "troops"], last["erbil", "support"]) == (3, 4)
    assert (last["home", "troops"], last["home", "support"]) == (2, 3)
    assert sum(load["trainers"] for _, _, load in loads) == 0


def test_two_assets_to_one_destination_add_up():
    # air 100 x 1 a day and road 50 x 2 a day both serve home: 100 + 2 * 50 = 200 a day, so
    # N = 950 leaves in ceil(950 / 200) = 5 days, the last on day 10 + 5 - 1 = 14; on day 14
    # air takes the last 100 of the 150 left (it was built first) and road the final 50
    s = scenario(
        {
            "roles": ["troops"],
            "sites": [
                {"name": "base", "country": "iraq", "personnel": {"troops": 950}},
                {"name": "home", "country": "out_of_theatre"},
            ],
            "phases": [
                {
                    "name": "out",
                    "start_date": date(START_DAY),
                    "reduce": {"base": {}},
                    "destinations": {"home": 1.0},
                }
            ],
            "lift": [lift(100, 1, 0.5, name="air"), lift(50, 2, 2.0, name="road")],
        }
    )
    tables, _, _ = run(s)
    moves = tables["movements"]
    assert moves["depart_day"].max() == 14.0
    per_day = moves.groupby("depart_day")["personnel"].sum()
    assert per_day.tolist() == [200, 200, 200, 200, 150]
    last = moves[moves["depart_day"] == 14.0].set_index("asset")["personnel"]
    assert last.to_dict() == {"air": 100, "road": 50}
    # complete when the last road convoy arrives: 14 + 2.0
    assert tables["phases"]["complete_day"].iloc[0] == 16.0
