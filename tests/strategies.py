"""Hypothesis strategies for small, valid scenarios (as plain dicts), built valid by design.

``scenarios()`` draws sizes first (sites, roles, phases, sectors, processes) and then the
values, mostly with ``st.integers`` and ``st.sampled_from`` so that shrinking ends in small,
readable counterexamples (few sites, zero personnel, round numbers). Nothing is filtered:

* sites ``s0 … s{n-1}`` (2–4): ``s0`` is in Iraq and the last one out of theatre;
* a phase reduces sites below a cut index and sends people only to sites at or above it, so
  phases never feed each other in a cycle (a cycle would move people back and forth forever);
* keep levels are at most the personnel that can reach a site through the phases (the bound
  ``sim.config.checks`` enforces), destination shares are integer weights normalised to sum
  to 1, and lift asset ``l0`` serves every site;
* incident rates are set from an expected count over the horizon (at most 40 per process,
  bound of the modulation and of the schedules included), so a replication stays small.

``build(data)`` validates a dict and asserts that it is consistent; ``simulate_data(data)``
also runs one replication. Keys whose value is the schema default (None, empty lists, the
settings of a disabled modulation factor) are left out, so counterexamples print short.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from hypothesis import strategies as st

from sim.config.raw import RawScenario
from sim.config.schema import Scenario

START = dt.date(2025, 1, 1)
MAX_EXPECTED_PER_PROCESS = 40
COUNTRIES = ["iraq", "syria", "out_of_theatre"]

Repositioning = Literal["any", "none", "scheduled"]
IntoIraq = Literal["any", "from_iraq", "never"]


def day(n: int) -> str:
    """The ISO date ``n`` days after ``START``."""
    return (START + dt.timedelta(days=n)).isoformat()


def build(data: dict[str, Any]) -> Scenario:
    """The validated scenario of ``data``; fails if the schema or the cross-field checks object."""
    return RawScenario.from_mapping(data, "<test>").validate()


def tenths(low: int, high: int) -> st.SearchStrategy[float]:
    """Multiples of 0.1 from low/10 to high/10 (shrinks toward low/10)."""
    return st.integers(low, high).map(lambda i: i / 10)


def shares_from(weights: list[int]) -> list[float]:
    """Fractions proportional to ``weights`` (not all zero) that sum to 1 within 1e-12."""
    total = sum(weights)
    shares = [w / total for w in weights]
    # put the rounding error on the largest share so the sum is as close to 1 as floats allow
    big = max(range(len(shares)), key=lambda i: shares[i])
    shares[big] = 1.0 - sum(s for i, s in enumerate(shares) if i != big)
    return shares


def _weights(draw, n: int) -> list[int]:
    weights = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    if not any(weights):
        weights[0] = 1
    return weights


def _duration(draw, *, max_mean: int = 12) -> dict[str, Any]:
    """A duration (days): fixed, exponential or lognormal with small means."""
    kind = draw(st.sampled_from(["fixed", "exponential", "lognormal"]))
    if kind == "fixed":
        return {"distribution": "fixed", "value": draw(st.integers(0, max_mean)) / 4}
    if kind == "exponential":
        return {"distribution": "exponential", "mean": draw(st.integers(1, max_mean)) / 4}
    return {
        "distribution": "lognormal",
        "median": draw(st.integers(1, max_mean)) / 4,
        "sigma": draw(tenths(0, 8)),
    }


def _severity(draw) -> dict[str, Any]:
    kind = draw(st.sampled_from(["fixed", "lognormal", "pareto"]))
    if kind == "fixed":
        return {"distribution": "fixed", "value": draw(tenths(0, 50))}
    if kind == "lognormal":
        return {
            "distribution": "lognormal",
            "median": draw(tenths(1, 30)),
            "sigma": draw(tenths(0, 15)),
        }
    return {"distribution": "pareto", "alpha": draw(tenths(11, 40)), "x_min": draw(tenths(1, 20))}


def _schedule(draw, horizon: int, values: st.SearchStrategy, max_steps: int = 3) -> list[dict]:
    """Steps with strictly increasing dates, the first on or before the start date."""
    first = draw(st.integers(-30, 0))
    later = draw(st.lists(st.integers(1, horizon), max_size=max_steps - 1, unique=True))
    return [{"date": day(d), "value": draw(values)} for d in [first, *sorted(later)]]


def _schedule_max(steps: list[dict] | None) -> float:
    """The largest value of a schedule on [0, horizon] (every step of ``_schedule`` counts)."""
    return max(s["value"] for s in steps) if steps else 1.0


def _ceilings(sites, roles, residual, phases) -> dict[str, dict[str, int]]:
    """Personnel of each role that can ever be at each site, through the phases only (a lower
    bound of what ``sim.config.checks`` allows, which also counts repositioning returns)."""
    feeds: dict[str, set[str]] = {s["name"]: set() for s in sites}
    for phase in phases:
        for source in phase["reduce"]:
            feeds[source] |= {d for d, share in phase["destinations"].items() if share > 0}
    initial = {s["name"]: s["personnel"] for s in sites}
    ceilings = {name: dict(initial[name]) for name in initial}
    for source in initial:
        reached, frontier = set(), [source]
        while frontier:
            for dest in feeds[frontier.pop()] - reached - {source}:
                reached.add(dest)
                frontier.append(dest)
        for dest in reached:
            for role in roles:
                if role not in residual:
                    ceilings[dest][role] += initial[source][role]
    return ceilings


def _phases(draw, sites, roles, residual, horizon, *, into_iraq: IntoIraq) -> list[dict]:
    n_sites = len(sites)
    n_phases = draw(st.integers(0, 3))
    starts = draw(
        st.lists(st.integers(-5, horizon - 1), min_size=n_phases, max_size=n_phases, unique=True)
    )
    phases = []
    for i, start in enumerate(sorted(starts)):
        cut = draw(st.integers(1, n_sites - 1))
        below = [s["name"] for s in sites[:cut]]
        reduced = draw(st.lists(st.sampled_from(below), min_size=1, max_size=cut, unique=True))
        above = sites[cut:]
        outside = any(s["country"] != "iraq" for s in sites if s["name"] in reduced)
        if into_iraq == "never" or (into_iraq == "from_iraq" and outside):
            above = [s for s in above if s["country"] != "iraq"]  # the last site never is
        names = [s["name"] for s in above]
        dests = draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True))
        shares = shares_from(_weights(draw, len(dests)))
        phases.append(
            {
                "name": f"ph{i}",
                "start_date": day(start),
                "reduce": {site: {} for site in reduced},
                "destinations": dict(zip(dests, shares, strict=True)),
            }
        )
    ceilings = _ceilings(sites, roles, residual, phases)
    movable = [r for r in roles if r not in residual]
    for phase in phases:
        for site in phase["reduce"]:
            kept = draw(st.lists(st.sampled_from(movable), unique=True)) if movable else []
            phase["reduce"][site] = {
                role: draw(st.integers(0, ceilings[site][role])) for role in kept
            }
    return phases


def _lift(draw, site_names: list[str]) -> list[dict]:
    n = draw(st.integers(1, 2))
    assets = []
    for i in range(n):
        if i == 0:  # serves everything, so every destination and return has a lift
            serves = draw(st.sampled_from([[], list(site_names)]))
        else:
            serves = draw(st.lists(st.sampled_from(site_names), unique=True))
        assets.append(
            {
                "name": f"l{i}",
                "capacity_personnel": draw(st.integers(1, 200)),
                "lifts_per_day": draw(st.integers(1, 4)),
                "departure_hour": draw(st.sampled_from([0.0, 6.0, 12.5, 23.0])),
                "transit_days": _duration(draw),
                "serves": serves,
            }
        )
    return assets


def _rule(draw, sites, movable, horizon, sectors, actors, kind: str) -> tuple[dict, dict]:
    """One repositioning rule and the signal it watches."""
    if kind == "scheduled":
        steps = _schedule(draw, horizon - 1, st.integers(0, 10), max_steps=4)
        signal = {"kind": "scheduled", "values": steps}
    else:
        signal = {
            "kind": "incidents",
            "window_days": draw(st.integers(1, 60)),
            "sectors": draw(st.lists(st.sampled_from(sectors), unique=True)),
            "actors": draw(st.lists(st.sampled_from(actors), unique=True)),
        }
    hold = draw(st.integers(1, 10))
    names = [s["name"] for s in sites]
    rule = {
        "name": "rule",
        "signal": "sig",
        "hold_above": float(hold),
        "release_below": float(draw(st.integers(0, hold - 1))),
        "check_interval_days": draw(st.sampled_from([0.5, 1.0, 2.0, 7.0])),
        "hold_drawdown": draw(st.booleans()),
        "return_personnel": draw(st.integers(0, 300)),
        "return_to": (to := draw(st.sampled_from(names))),
        "return_from": draw(  # never the site returned to (validation refuses it)
            st.lists(st.sampled_from([n for n in names if n != to]), max_size=3, unique=True)
        ),
        "return_roles": draw(st.lists(st.sampled_from(movable), unique=True)) if movable else [],
    }
    return rule, {"sig": signal}


def _presence(draw, reference: int) -> dict[str, Any]:
    return {
        "enabled": draw(st.booleans()),
        "effect": draw(tenths(0, 10)),
        "reference_personnel": float(draw(st.integers(1, 30)) * reference),
    }


def _modulation(draw, horizon, partners, coupled: bool, read_levels: bool) -> dict[str, Any]:
    """The modulation factors; ``read_levels``: detection reads the coordination levels."""
    full_levels = {p: _schedule(draw, horizon, tenths(0, 10)) for p in partners}
    levels = full_levels if read_levels else {}  # else only an enabled factor reads them
    if not coupled:
        off = {"enabled": False}
        return {
            "coalition_iraq": off,
            "coalition_syria": off,
            "iraqi_capacity": off,
            "fortification": off,
            "coordination": {"enabled": False, "levels": levels},
        }
    plan_start = draw(st.integers(-100, horizon))
    return {
        "coalition_iraq": _presence(draw, 100),
        "coalition_syria": _presence(draw, 50),
        "iraqi_capacity": {
            "enabled": draw(st.booleans()),
            "effect": draw(tenths(0, 10)),
            "start_level": draw(tenths(0, 10)),
            "end_level": draw(tenths(0, 10)),
            "plan_start": day(plan_start),
            "plan_end": day(plan_start + draw(st.integers(1, 2 * horizon))),
        },
        "fortification": {"enabled": draw(st.booleans()), "effect": draw(tenths(0, 10))},
        "coordination": {
            "enabled": (on := draw(st.booleans())),
            "effect": draw(tenths(0, 10)),
            "levels": levels or (full_levels if on else {}),
        },
    }


def modulation_bound(modulation: dict[str, Any]) -> float:
    """The thinning bound of M_s: the product of (1 + effect) over enabled presence factors."""
    bound = 1.0
    for factor in ("coalition_iraq", "coalition_syria"):
        spec = modulation[factor]
        if spec.get("enabled", True):
            bound *= 1.0 + spec.get("effect", 0.0)
    return bound


def _process(draw, i, horizon, sectors, actors, mbound) -> dict[str, Any]:
    kind = draw(st.sampled_from(["poisson", "nhpp", "hawkes"]))
    expected = draw(st.integers(0, MAX_EXPECTED_PER_PROCESS))
    modulated = draw(st.booleans())
    scale = expected / horizon / (mbound if modulated else 1.0)
    base = {
        "name": f"p{i}",
        "sector": draw(st.sampled_from(sectors)),
        "actor": draw(st.sampled_from(actors)),
        "modulated": modulated,
        "kind": kind,
    }
    if kind == "poisson":
        return {**base, "rate_per_day": scale}
    if kind == "nhpp":
        trend = draw(tenths(-10, 10))
        amplitude = draw(tenths(0, 10))
        steps = _schedule(draw, horizon, tenths(0, 30)) if draw(st.booleans()) else None
        trend_max = max(1.0, 1.0 + trend * horizon / 365.25)
        mult = trend_max * (1.0 + amplitude) * max(_schedule_max(steps), 0.1)
        return {
            **base,
            "rate_per_day": scale / mult,
            "trend_per_year": trend,
            "seasonal_amplitude": amplitude,
            "seasonal_period_days": float(draw(st.integers(7, 400))),
            "seasonal_peak_date": day(draw(st.integers(0, horizon)))
            if draw(st.booleans())
            else None,
            "steps": steps,
        }
    branching = draw(st.integers(0, 17)) / 20  # below 0.9
    background_steps = _schedule(draw, horizon, tenths(0, 30)) if draw(st.booleans()) else None
    branching_steps = (
        _schedule(draw, horizon, st.integers(0, 17).map(lambda k: k / 20))
        if draw(st.booleans())
        else None
    )
    top = max([branching] + [s["value"] for s in branching_steps or []])
    mult = max(_schedule_max(background_steps), 0.1) / (1.0 - top)
    return {
        **base,
        "background_rate_per_day": scale / mult,
        "branching_ratio": branching,
        "decay_per_day": draw(st.sampled_from([0.02, 0.05, 0.2, 1.0, 3.0])),
        "background_steps": background_steps,
        "branching_steps": branching_steps,
    }


@st.composite
def scenarios(
    draw,
    *,
    repositioning: Repositioning = "any",
    coupled: bool = True,
    min_processes: int = 0,
    max_processes: int = 4,
    into_iraq: IntoIraq = "any",
) -> dict[str, Any]:
    """A valid scenario as a plain dict.

    ``repositioning``: "any" (none, or one rule on a scheduled or incidents signal), "none",
    or "scheduled" (none, or one rule on a scheduled signal). ``coupled=False`` switches off
    every modulation factor, coalition ISR and coordination in detection, and repositioning.
    ``into_iraq``: "any"; "from_iraq" (a phase that reduces a site outside Iraq sends nobody
    into Iraq); "never" (no phase sends anybody to a site in Iraq).
    """
    # sizes first: they shrink first and bound everything else
    n_sites = draw(st.integers(2, 4))
    n_roles = draw(st.integers(1, 3))
    n_sectors = draw(st.integers(1, 3))
    n_actors = draw(st.integers(1, 2))
    n_types = draw(st.integers(1, 2))
    horizon = draw(st.integers(30, 400))

    roles = [f"r{j}" for j in range(n_roles)]
    residual = draw(st.lists(st.sampled_from(roles), max_size=1))
    movable = [r for r in roles if r not in residual]
    countries = ["iraq", *(draw(st.sampled_from(COUNTRIES)) for _ in range(n_sites - 2))]
    countries.append("out_of_theatre")
    sites = [
        {
            "name": f"s{i}",
            "country": country,
            "personnel": {r: draw(st.integers(0, 400)) for r in roles},
        }
        for i, country in enumerate(countries)
    ]
    site_names = [s["name"] for s in sites]
    phases = _phases(draw, sites, roles, residual, horizon, into_iraq=into_iraq)
    sectors = [f"b{k}" for k in range(n_sectors)]
    actors = [f"a{k}" for k in range(n_actors)]
    partners = ["k0", "k1"]

    rules, signals = [], {}
    kinds = {"any": ["scheduled", "incidents"], "scheduled": ["scheduled"], "none": []}[
        repositioning if coupled else "none"
    ]
    if kinds and draw(st.booleans()):
        rule, signals = _rule(
            draw, sites, movable, horizon, sectors, actors, draw(st.sampled_from(kinds))
        )
        rules.append(rule)

    border_sectors = []
    for name in sectors:
        weights = draw(st.lists(st.integers(0, 5), min_size=2, max_size=2))
        scale = max(10, sum(weights))  # partner weights sum to at most 1
        border_sectors.append(
            {
                "name": name,
                "length_km": float(draw(st.integers(1, 300))),
                "fortification": draw(tenths(0, 10)),
                "surveillance": draw(tenths(0, 10)),
                "response_units": draw(st.integers(1, 3)),
                "partners": {p: w / scale for p, w in zip(partners, weights, strict=True) if w},
                "handling_days": _duration(draw) if draw(st.booleans()) else None,
            }
        )
    detection = {
        "fortification_weight": draw(tenths(0, 10)),
        "coalition_isr": draw(tenths(0, 10)) if coupled else 0.0,
        "coalition_reference_personnel": float(draw(st.integers(1, 40)) * 100),
        "coordination_weight": draw(tenths(0, 10)) if coupled else 0.0,
    }
    decay = draw(st.sampled_from([None, 0.5, 2.0]))
    response = {
        "handling_days": _duration(draw),
        "interdiction": {"base_probability": draw(tenths(0, 10)), "decay_days": decay},
    }
    modulation = _modulation(
        draw, horizon, partners, coupled, read_levels=detection["coordination_weight"] > 0
    )
    mbound = modulation_bound(modulation)
    n_processes = draw(st.integers(min_processes, max_processes))
    processes = [_process(draw, i, horizon, sectors, actors, mbound) for i in range(n_processes)]
    type_shares = shares_from(_weights(draw, n_types))
    incident_types = [
        {"name": f"t{k}", "share": share, "severity": _severity(draw)}
        for k, share in enumerate(type_shares)
    ]
    return _compact(
        {
            "metadata": {"name": "prop"},
            "clock": {
                "start_date": START.isoformat(),
                "end_date": day(horizon),
                "record_interval_days": draw(st.sampled_from([1.0, 2.0, 7.0, 0.5, 2.5])),
            },
            "forces": {
                "roles": roles,
                "residual_roles": residual,
                "sites": sites,
                "phases": phases,
                "lift": _lift(draw, site_names),
                "repositioning": rules,
                "in_iraq_threshold_personnel": float(draw(st.integers(0, 2000))),
            },
            "border": {"sectors": border_sectors, "detection": detection, "response": response},
            "threats": {
                "actors": actors,
                "incident_types": incident_types,
                "processes": processes,
                "modulation": modulation,
            },
            "signals": signals,
            "run": {"replications": 1, "seed": draw(st.integers(0, 1000))},
        }
    )


# keys whose empty value is the schema default, left out so counterexamples read shorter
EMPTY_BY_DEFAULT = {
    "levels",
    "residual_roles",
    "phases",
    "repositioning",
    "serves",
    "return_from",
    "return_roles",
    "partners",
    "sectors",
    "actors",
    "signals",
}


def _compact(node: Any) -> Any:
    """``node`` without None values (all default to None) and without empty defaults; a
    disabled modulation factor keeps only ``enabled: false`` (and the coordination levels,
    which detection reads even when the factor is off)."""
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if value is None or (key in EMPTY_BY_DEFAULT and value in ({}, [])):
            continue
        if isinstance(value, dict) and value.get("enabled") is False:
            value = {k: v for k, v in value.items() if k in ("enabled", "levels")}
        out[key] = _compact(value)
    return out


def initial_total(data: dict[str, Any]) -> int:
    return sum(sum(site["personnel"].values()) for site in data["forces"]["sites"])


def simulate_data(data: dict[str, Any], replication: int = 0, seed: int = 1):
    """(scenario, tables) of one replication of the scenario ``data``."""
    from sim.model.world import simulate

    scenario = build(data)
    return scenario, simulate(scenario, replication, seed)
