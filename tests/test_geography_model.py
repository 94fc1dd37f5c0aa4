"""Geography in the model, checked by hand: presence felt by distance, ISR coverage by
asset, fortification over time, located incidents and incidents per 100 km.

The test border runs due south along 41° E from 36° N to 34° N (about 222 km, one vertex at
35° N); sector ``a`` is its first 100 km, sector ``b`` the rest. Site ``near`` (35.6° N,
41.4° E) is about 36 km from ``a`` and 66 km from ``b``; ``mid`` (34.5° N, 41.3° E) is close
to ``b`` only; ``far`` and the place ``gulf`` (25° N, 55° E) are beyond every radius. Every
expected value is computed here from distances given by ``sim.geo`` and the documented
formulas (docs/model.md §5.5, §6.1, §6.4, §8).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from sim.config.raw import RawScenario
from sim.config.schema import Scenario
from sim.geo import Polyline
from sim.model.ops import SCALAR
from sim.model.world import World
from sim.tables import to_frames

BORDER = [(36.0, 41.0), (35.0, 41.0), (34.0, 41.0)]
LINE = Polyline.of(BORDER)
SECTOR_A = LINE.section(0.0, 100.0)
SECTOR_B = LINE.section(100.0, LINE.length_km)
NEAR, MID, FAR = (35.6, 41.4), (34.5, 41.3), (25.0, 55.0)
DAYS = 40
PHASE_DAY = 10


def _late(day: int) -> str:
    """The date ``day`` days after the start."""
    return (dt.date(2025, 1, 1) + dt.timedelta(days=day)).isoformat()


def _sector(name: str, start: float, end: float | None) -> dict[str, Any]:
    return {
        "name": name,
        "from_km": start,
        "to_km": end,
        "fortification": 0.0,
        "surveillance": 0.2,
        "response_units": 5,
    }


def base_data() -> dict[str, Any]:
    """Two sectors with one modulated Poisson process each; everything switched off."""
    return {
        "metadata": {"name": "geo_test"},
        "clock": {"start_date": "2025-01-01", "end_date": _late(DAYS)},
        "geography": {
            "border": [
                {"name": f"v{i}", "lat": lat, "lon": lon} for i, (lat, lon) in enumerate(BORDER)
            ],
            "places": [{"name": "gulf", "lat": FAR[0], "lon": FAR[1]}],
        },
        "forces": {
            "roles": ["advisers", "support"],
            "sites": [
                {
                    "name": "near",
                    "country": "iraq",
                    "lat": NEAR[0],
                    "lon": NEAR[1],
                    "personnel": {"advisers": 100, "support": 50},
                },
                {"name": "mid", "country": "iraq", "lat": MID[0], "lon": MID[1]},
                {"name": "far", "country": "out_of_theatre", "lat": FAR[0], "lon": FAR[1]},
            ],
            "phases": [
                {
                    "name": "move",
                    "start_date": _late(PHASE_DAY),
                    "reduce": {"near": {}},
                    "destinations": {"far": 1.0},
                }
            ],
            "lift": [
                {
                    "name": "air",
                    "capacity_personnel": 10_000,
                    "lifts_per_day": 1,
                    "transit_days": {"distribution": "fixed", "value": 1.0},
                }
            ],
        },
        "border": {
            "sectors": [_sector("a", 0.0, 100.0), _sector("b", 100.0, None)],
            "response": {"handling_days": {"distribution": "fixed", "value": 0.1}},
        },
        "threats": {
            "actors": ["x"],
            "incident_types": [
                {"name": "t", "share": 1.0, "severity": {"distribution": "fixed", "value": 1.0}}
            ],
            "processes": [
                {"name": "pa", "sector": "a", "actor": "x", "kind": "poisson", "rate_per_day": 0.5},
                {"name": "pb", "sector": "b", "actor": "x", "kind": "poisson", "rate_per_day": 0.3},
            ],
        },
    }


def checked(data: dict[str, Any]) -> Scenario:
    return RawScenario.from_mapping(data, "<test>").validate()


def run(s: Scenario, probes: dict[float, Any] | None = None, seed: int = 1):
    """Tables and world of one replication; ``probes`` (day -> function of the world) are
    read inside the run at those days, after every other event of that instant."""
    world = World(s, 0, seed)
    seen: dict[float, Any] = {}

    def probe(day: float, read: Any):
        yield world.env.timeout(day)
        seen[day] = read(world)

    for day, read in (probes or {}).items():
        world.env.process(probe(day, read))
    return to_frames([world.run()]), world, seen


# -- presence felt by distance ---------------------------------------------------------------
EFFECT, REFERENCE, SCALE, RADIUS = 0.6, 100.0, 100.0, 50.0
LAMBDA_A, LAMBDA_B = 0.5, 0.3


def presence_scenario() -> Scenario:
    data = base_data()
    data["threats"]["modulation"] = {
        "local_presence": {
            "enabled": True,
            "effect": EFFECT,
            "reference": REFERENCE,
            "scale_km": SCALE,
            "radius_km": RADIUS,
            "role_weights": {"support": 0.3},  # advisers weigh 1 (not listed)
        }
    }
    return checked(data)


def factor_by_hand(weighted: float, distance: float) -> float:
    felt = weighted * math.exp(-distance / SCALE) if distance <= RADIUS else 0.0
    return 1.0 + EFFECT * (1.0 - min(1.0, felt / REFERENCE))


def test_the_test_geometry_is_as_described():
    assert SECTOR_A.distance_km(*NEAR) < RADIUS < SECTOR_B.distance_km(*NEAR)
    assert SECTOR_B.distance_km(*MID) < RADIUS < SECTOR_A.distance_km(*MID)
    assert min(SECTOR_A.distance_km(*FAR), SECTOR_B.distance_km(*FAR)) > 1000


def test_moving_everyone_beyond_every_radius_changes_sector_a_by_the_formula():
    tables, world, _ = run(presence_scenario())
    weighted = 100 * 1.0 + 50 * 0.3
    before = LAMBDA_A * factor_by_hand(weighted, SECTOR_A.distance_km(*NEAR))
    after = LAMBDA_A * (1.0 + EFFECT)  # nobody within reach of a
    assert 0.2 < weighted * math.exp(-SECTOR_A.distance_km(*NEAR) / SCALE) / REFERENCE < 1
    # intensities on the record days: before the lift (day 5, and day 10 before it leaves),
    # in transit (10.5: in transit counts nowhere) and after it arrives at far (day 11 on)
    days = np.array([5.0, 10.0, 10.5, 11.5, 30.0])
    intensity = world.threats.intensity_on(days)
    assert intensity[:, 0] == pytest.approx([before, before, after, after, after], rel=1e-12)
    assert before - after == pytest.approx(
        -LAMBDA_A * EFFECT * weighted * math.exp(-SECTOR_A.distance_km(*NEAR) / SCALE) / REFERENCE,
        rel=1e-12,
    )
    # sector b is beyond the radius of near and of far: unchanged throughout
    assert intensity[:, 1] == pytest.approx([LAMBDA_B * (1.0 + EFFECT)] * len(days), rel=1e-12)
    # the recorded series reads the same logged values as the thinning did
    daily = tables["daily"].set_index(["day", "sector"])["intensity_per_day"]
    assert daily[5.0, "a"] == intensity[0, 0] and daily[30.0, "a"] == intensity[-1, 0]
    assert world.modulation.live_factor(0)(30.0) == pytest.approx(1.0 + EFFECT, rel=1e-12)
    assert world.modulation.upper_bound(0) == 1.0 + EFFECT


def test_presence_felt_sums_over_sites_and_roles_with_their_weights():
    data = base_data()
    data["forces"]["sites"][1]["personnel"] = {"advisers": 20, "support": 200}
    data["forces"]["phases"] = []
    data["threats"]["modulation"] = presence_scenario().threats.modulation.model_dump(mode="json")
    _, world, _ = run(checked(data))
    b = LAMBDA_B * factor_by_hand(20 + 200 * 0.3, SECTOR_B.distance_km(*MID))
    a = LAMBDA_A * factor_by_hand(100 + 50 * 0.3, SECTOR_A.distance_km(*NEAR))
    assert world.threats.intensity_on(np.array([3.0]))[0] == pytest.approx([a, b], rel=1e-12)


# -- surveillance by asset -------------------------------------------------------------------
SURVEILLANCE, DRONE, PLANE = 0.2, 0.3, 0.25


def isr_scenario() -> Scenario:
    data = base_data()
    data["border"]["detection"] = {
        "isr_assets": [
            {"name": "drones", "base": "near", "count": 2, "range_km": 50, "detection": DRONE},
            {"name": "plane", "base": "gulf", "count": 1, "range_km": 300, "detection": PLANE},
        ]
    }
    phases = data["forces"]["phases"]
    phases[0]["isr"] = {"drones": {"base": "mid"}}  # day 10: out of a's range, into b's
    phases.append(
        {
            "name": "later",
            "start_date": _late(20),
            "reduce": {"mid": {}},
            "destinations": {"far": 1.0},
            "isr": {"drones": {"count": 1}, "plane": {"base": "mid", "count": 3}},
        }
    )
    return checked(data)


def test_isr_assets_in_range_detect_by_hand_and_move_with_the_phases():
    read = {day: _detection for day in (5.0, 15.0, 25.0)}
    _, world, seen = run(isr_scenario(), read)
    assert SECTOR_A.distance_km(*MID) > 50 and SECTOR_A.distance_km(*FAR) > 300
    assert SECTOR_B.distance_km(*MID) < 50
    miss = 1.0 - SURVEILLANCE
    # day 5: both drones at near cover a; the plane in the Gulf covers nothing
    assert seen[5.0] == pytest.approx([1 - miss * (1 - DRONE) ** 2, 1 - miss], abs=1e-15)
    # day 15: phase move put the drones at mid: a is left to its own surveillance
    assert seen[15.0] == pytest.approx([1 - miss, 1 - miss * (1 - DRONE) ** 2], abs=1e-15)
    # day 25: one drone left; the plane (300 km) moved to mid, three of them, reaching both
    both = (1 - PLANE) ** 3
    assert seen[25.0] == pytest.approx([1 - miss * both, 1 - miss * (1 - DRONE) * both], abs=1e-15)
    assert world.surveillance.count == [1, 3]


def _detection(world: World) -> list[float]:
    now = world.env.now
    return [world.border.detection_probability(s, now) for s in range(2)]


# -- fortification over time ------------------------------------------------------------------
E_F, W_F, E_K = 0.5, 0.4, 0.2


def fortification_scenario() -> Scenario:
    data = base_data()
    data["forces"]["phases"] = []
    a, b = data["border"]["sectors"]
    del a["fortification"]
    a["fortified_km"] = [  # 20 km, 60 km from day 15, all of its 100 km from day 30
        {"date": _late(0), "value": 20.0},
        {"date": _late(15), "value": 60.0},
        {"date": _late(30), "value": 100.0},
    ]
    b["fortification"] = 0.25
    a["partners"] = {"p": 1.0}
    data["border"]["detection"] = {"fortification_weight": W_F}
    data["threats"]["modulation"] = {
        "fortification": {"enabled": True, "effect": E_F},
        "coordination": {  # a change of its own on day 20, between the fortification steps
            "enabled": True,
            "effect": E_K,
            "levels": {"p": [{"date": _late(0), "value": 0.5}, {"date": _late(20), "value": 1.0}]},
        },
    }
    return checked(data)


@pytest.mark.parametrize(
    ("day", "share", "level"), [(5.0, 0.2, 0.5), (17.0, 0.6, 0.5), (25.0, 0.6, 1.0), (35, 1.0, 1)]
)
def test_fortification_schedule_feeds_deterrence_and_detection_by_hand(day, share, level):
    _, world, seen = run(fortification_scenario(), {float(day): _detection})
    rate = LAMBDA_A * (1 - E_F * share) * (1 - E_K * level)
    assert world.threats.intensity_on(np.array([float(day)]))[0, 0] == pytest.approx(rate, 1e-14)
    assert world.modulation.factor(SCALAR, 1, world.modulation.live, day) == 1 - E_F * 0.25
    detection = 1 - (1 - SURVEILLANCE) * (1 - W_F * share)
    assert seen[float(day)] == pytest.approx([detection, 1 - 0.8 * (1 - W_F * 0.25)], abs=1e-15)


# -- located incidents -------------------------------------------------------------------------
CROSSINGS = [  # the second one's stretch is clipped by the sector's end at 100 km
    {"name": "c1", "at_km": 30.0, "share": 0.5, "spread_km": 10.0},
    {"name": "c2", "at_km": 95.0, "share": 0.2, "spread_km": 10.0},
]


def placement_scenario(rate: float = 30.0, crossings: list | None = None) -> Scenario:
    data = base_data()
    data["forces"]["phases"] = []
    data["clock"]["end_date"] = _late(200)
    data["border"]["sectors"][0]["crossings"] = CROSSINGS if crossings is None else crossings
    data["threats"]["processes"][0]["rate_per_day"] = rate
    return checked(data)


@pytest.fixture(scope="module")
def placed():
    tables, _, _ = run(placement_scenario())
    return tables


def test_incidents_lie_inside_their_sector_at_the_line_s_coordinates(placed):
    incidents = placed["incidents"]
    for sector, (low, high) in {"a": (0.0, 100.0), "b": (100.0, LINE.length_km)}.items():
        km = incidents.loc[incidents["sector"] == sector, "border_km"]
        assert len(km) > 20 and km.between(low, high).all()
    lat, lon = LINE.at(incidents["border_km"].to_numpy())
    assert np.array_equal(lat, incidents["latitude"]) and np.array_equal(
        lon, incidents["longitude"]
    )
    assert incidents["longitude"].to_numpy() == pytest.approx(41.0, abs=1e-9)


def test_crossing_shares_are_honoured_in_distribution(placed):
    incidents = placed["incidents"]
    km = incidents.loc[incidents["sector"] == "a", "border_km"].to_numpy()
    edges = np.linspace(0.0, 100.0, 21)  # 5 km bins; each crossing's stretch spans whole bins
    expected = np.full(20, 0.3 / 20)  # the uniform part: 1 − 0.5 − 0.2 of the incidents
    for share, low, high in ((0.5, 20.0, 40.0), (0.2, 85.0, 100.0)):
        inside = (edges[:-1] >= low) & (edges[1:] <= high)
        expected[inside] += share / inside.sum()
    observed = np.histogram(km, edges)[0]
    assert len(km) > 5000
    assert stats.chisquare(observed, expected * len(km)).pvalue > 1e-3
    # and each crossing's own share within three binomial standard errors
    for share, low, high in ((0.5, 20.0, 40.0), (0.2, 85.0, 100.0)):
        p = share + 0.3 * (high - low) / 100.0
        se = math.sqrt(p * (1 - p) / len(km))
        assert abs(np.mean((km >= low) & (km < high)) - p) < 3 * se


def test_moving_a_crossing_moves_no_arrival_and_draws_two_uniforms_an_incident():
    a, _, _ = run(placement_scenario(rate=2.0))
    moved = [{**CROSSINGS[0], "at_km": 60.0, "share": 0.9}]
    b, _, _ = run(placement_scenario(rate=2.0, crossings=moved))
    columns = ["process", "day", "type", "severity", "detected", "outcome"]
    assert a["incidents"][columns].equals(b["incidents"][columns])
    assert not a["incidents"]["border_km"].equals(b["incidents"]["border_km"])
    # sector b has no crossing: the same uniforms give the same places in both
    rows = a["incidents"]["sector"] == "b"
    assert a["incidents"].loc[rows, "border_km"].equals(b["incidents"].loc[rows, "border_km"])


def test_without_a_geography_incidents_have_no_place_and_draw_nothing():
    from forces_helpers import scenario

    s = scenario({"roles": ["r"], "sites": [{"name": "x", "country": "iraq"}]})
    data = s.model_dump(mode="json")
    data["threats"]["processes"] = [
        {"name": "p", "sector": "s1", "actor": "a", "kind": "poisson", "rate_per_day": 1.0}
    ]
    tables, world, _ = run(checked(data))
    incidents = tables["incidents"]
    assert len(incidents) > 20
    assert incidents[["border_km", "latitude", "longitude"]].isna().all(axis=None)
    assert not [name for name in world.border.streams._made if name.endswith("/place")]
    kpis = tables["kpis"].iloc[0]
    per_100km_year = len(incidents) / (10 / 100) / (60 / 365.25)  # s1 is 10 km, 60 days
    assert kpis["incidents_per_100km_year"] == pytest.approx(per_100km_year, rel=1e-12)
    assert kpis["incidents_per_100km_year_s1"] == pytest.approx(per_100km_year, rel=1e-12)


def test_incidents_per_100km_and_year_by_hand(placed):
    incidents, kpis = placed["incidents"], placed["kpis"].iloc[0]
    years = 200 / 365.25
    counts = incidents["sector"].value_counts()
    assert kpis["incidents_per_100km_year_a"] == pytest.approx(counts["a"] / 1.0 / years)
    b_length = LINE.length_km - 100.0
    assert kpis["incidents_per_100km_year_b"] == pytest.approx(
        counts["b"] / (b_length / 100) / years
    )
    total = len(incidents) / (LINE.length_km / 100) / years
    assert kpis["incidents_per_100km_year"] == pytest.approx(total, rel=1e-9)


def test_geometry_is_made_once_for_every_scenario_with_the_same_places():
    s = presence_scenario()
    first, second = World(s, 0, 1), World(s, 1, 1)
    assert first.geometry is second.geometry
    # a copy (as a worker receives with each chunk) shares it; a moved site does not
    assert World(copy.deepcopy(s), 0, 1).geometry is first.geometry
    data = s.model_dump(mode="json")
    data["forces"]["sites"][0]["lat"] = 35.5
    moved = World(checked(data), 0, 1).geometry
    assert moved is not first.geometry
    assert moved.distances("near")[0] == pytest.approx(SECTOR_A.distance_km(35.5, NEAR[1]))
