"""Checks that span several fields of a schema-valid scenario.

Each check yields ``(path, message)``; paths name list items by name, like the loader's
positions, so every problem can point at its line.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from statistics import NormalDist

import numpy as np

from sim.branching import cluster_sizes
from sim.config.errors import PathKey, suggestion
from sim.config.excitation import (
    branching_matrix,
    burn_in_days,
    excitation_problems,
    shock_product,
)
from sim.config.geography_checks import geography_problems, sector_lengths
from sim.config.schema import (
    NHPP,
    Fixed,
    Hawkes,
    IncidentSignal,
    LogNormal,
    Pareto,
    Poisson,
    Repositioning,
    Scenario,
    Step,
)
from sim.config.schema.common import schedule_value

Found = Iterator[tuple[PathKey, str]]
SHARE_TOLERANCE = 1e-6
MAX_HORIZON_DAYS = 36_525  # 100 years: longer runs are almost surely a typo in a date
MAX_MULTIPLIER = 1_000.0
DAYS_PER_YEAR = 365.25
# The largest severity one draw may give: a replication's severity_total, a sum over
# incidents (ten times MAX_EXPECTED_INCIDENTS at most, in practice), then stays below the
# largest float (1.8e308), so the tables hold no infinities.
MAX_SEVERITY = 1e300
# The extreme draws of sim.streams.BufferedDraws: numpy's random() gives k / 2**53, and a
# draw of 0 is moved to 2**-54. Every severity is one inverse-CDF value of such a draw.
SMALLEST_UNIFORM = 2.0**-54
LARGEST_UNIFORM = 1.0 - 2.0**-53
# Incidents expected in one replication: tables, memory and time grow with them.
MAX_EXPECTED_INCIDENTS = 10_000_000


def _unknown(name: str, known: Iterable[str], what: str) -> str:
    known = list(known)
    return f"unknown {what} '{name}'{suggestion(name, known)} (known: {', '.join(known)})"


def _duplicates(names: list[str], path: PathKey, what: str) -> Found:
    for name, count in Counter(names).items():
        if count > 1:
            yield (*path, name), f"{what} '{name}' is defined {count} times"


def _schedule(steps: list[Step] | None, path: PathKey, low: float, high: float) -> Found:
    if not steps:
        return
    for i, (a, b) in enumerate(itertools.pairwise(steps)):
        if b.date <= a.date:
            yield (*path, i + 1, "date"), f"dates must increase: {b.date} follows {a.date}"
    for i, step in enumerate(steps):
        if not low <= step.value <= high:
            yield (*path, i, "value"), f"must be between {low} and {high} (got {step.value})"


def _clock(s: Scenario) -> Found:
    c = s.clock
    if c.end_date <= c.start_date:
        yield (
            ("clock", "end_date"),
            f"end_date {c.end_date} must come after start_date {c.start_date}",
        )
    elif s.horizon_days > MAX_HORIZON_DAYS:
        yield (
            ("clock", "end_date"),
            (f"the horizon is {s.horizon_days:.0f} days; at most {MAX_HORIZON_DAYS} (100 years)"),
        )
    elif c.record_interval_days > s.horizon_days:
        yield ("clock", "record_interval_days"), "longer than the whole horizon"


def _forces(s: Scenario) -> Found:
    f = s.forces
    sites = {site.name: site for site in f.sites}
    roles = set(f.roles)
    yield from _duplicates([site.name for site in f.sites], ("forces", "sites"), "site")
    yield from _duplicates(f.roles, ("forces", "roles"), "role")
    for role in f.residual_roles:
        if role not in roles:
            yield ("forces", "residual_roles"), _unknown(role, f.roles, "role")
    for site in f.sites:
        for role in site.personnel:
            if role not in roles:
                yield (
                    ("forces", "sites", site.name, "personnel", role),
                    _unknown(role, f.roles, "role"),
                )
    ceilings = _ceilings(s)
    yield from _duplicates([p.name for p in f.phases], ("forces", "phases"), "phase")
    previous = None
    for phase in f.phases:
        at = ("forces", "phases", phase.name)
        if previous is not None and phase.start_date < previous.start_date:
            yield (
                (*at, "start_date"),
                (
                    f"starts {phase.start_date}, before the previous phase "
                    f"'{previous.name}' ({previous.start_date}); list phases in date order"
                ),
            )
        previous = phase
        if phase.condition and phase.condition.signal not in s.signals:
            yield (
                (*at, "condition", "signal"),
                _unknown(phase.condition.signal, s.signals, "signal"),
            )
        for site_name, keep in phase.reduce.items():
            if site_name not in sites:
                yield (*at, "reduce", site_name), _unknown(site_name, sites, "site")
                continue
            for role, level in keep.items():
                if role not in roles:
                    yield (*at, "reduce", site_name, role), _unknown(role, f.roles, "role")
                    continue
                ceiling = ceilings[site_name][role]
                if level > ceiling:
                    yield (
                        (*at, "reduce", site_name, role),
                        (f"keeps {level}, more than the {ceiling} {role} who can be there"),
                    )
        for dest in phase.destinations:
            if dest not in sites:
                yield (*at, "destinations", dest), _unknown(dest, sites, "site")
            elif dest in phase.reduce:
                yield (*at, "destinations", dest), "a site cannot be reduced into itself"
        total = sum(phase.destinations.values())
        if abs(total - 1.0) > SHARE_TOLERANCE:
            yield (*at, "destinations"), f"shares must sum to 1 (they sum to {total:g})"
    yield from _lift(s, sites)
    yield from _repositioning(s, sites)


def _ceilings(s: Scenario) -> dict[str, Counter]:
    """The most personnel of each role that can ever be at each site.

    Residual roles never move. Others can reach a site from every site that feeds it, at
    any remove: a phase feeds its destinations from the sites it reduces, a repositioning
    rule feeds ``return_to`` from ``return_from``. Phase order and conditions are ignored,
    so the bound holds whenever phases actually start.
    """
    f = s.forces
    initial = {site.name: Counter(site.personnel) for site in f.sites}
    feeds: dict[str, set[str]] = {name: set() for name in initial}  # site -> sites it feeds
    for phase in f.phases:
        for source in phase.reduce:
            for dest, share in phase.destinations.items():
                if share > 0 and source in feeds and dest in initial:
                    feeds[source].add(dest)
    for rule in f.repositioning:
        for source in rule.return_from:
            if source in feeds and rule.return_to in initial:
                feeds[source].add(rule.return_to)
    residual = set(f.residual_roles)
    ceilings = {name: Counter(initial[name]) for name in initial}
    for source in initial:
        reached, frontier = set(), [source]
        while frontier:
            for dest in feeds[frontier.pop()] - reached - {source}:
                reached.add(dest)
                frontier.append(dest)
        for dest in reached:
            ceilings[dest].update(
                {role: n for role, n in initial[source].items() if role not in residual}
            )
    return ceilings


def _lift(s: Scenario, sites: dict) -> Found:
    f = s.forces
    yield from _duplicates([a.name for a in f.lift], ("forces", "lift"), "lift asset")
    for asset in f.lift:
        for dest in asset.serves:
            if dest not in sites:
                yield ("forces", "lift", asset.name, "serves"), _unknown(dest, sites, "site")
    needed = {(p.name, d) for p in f.phases for d in p.destinations if p.destinations[d] > 0}
    returning = [r for r in f.repositioning if r.return_to and r.return_personnel]
    needed |= {(r.name, r.return_to) for r in returning}
    needed |= {(r.name, origin) for r in returning for origin in r.return_from}  # releases
    needed = {(owner, dest) for owner, dest in needed if dest in sites}  # others reported once
    for owner, dest in sorted(needed):
        if not any(not a.serves or dest in a.serves for a in f.lift):
            yield ("forces", "lift"), f"no lift asset serves '{dest}' (needed by '{owner}')"


def _repositioning(s: Scenario, sites: dict) -> Found:
    f = s.forces
    yield from _duplicates([r.name for r in f.repositioning], ("forces", "repositioning"), "rule")
    for rule in f.repositioning:
        at = ("forces", "repositioning", rule.name)
        if rule.signal not in s.signals:
            yield (*at, "signal"), _unknown(rule.signal, s.signals, "signal")
        signal = s.signals.get(rule.signal)
        yield from _thresholds(rule, at, signal.kind if signal else None)
        relative = rule.hold_above_expected is not None
        counted = _counted(s, signal) if signal is not None and signal.kind == "incidents" else None
        if relative and counted is not None and not any(_rate_at_start(s, p) > 0 for p in counted):
            yield (
                (*at, "hold_above_expected"),
                (
                    f"signal '{rule.signal}' expects no incident at the start (no counted "
                    "process has a rate there, after capacity, fortification and coordination), "
                    "so a multiple of it is 0; give hold_above and release_below instead"
                ),
            )
        if rule.return_personnel and rule.return_to is None:
            yield (*at, "return_to"), "required when return_personnel is above 0"
        for name in [rule.return_to] if rule.return_to else []:
            if name not in sites:
                yield (*at, "return_to"), _unknown(name, sites, "site")
        for name in rule.return_from:
            if name not in sites:
                yield (*at, "return_from"), _unknown(name, sites, "site")
            elif name == rule.return_to:
                yield (*at, "return_from"), f"'{name}' is where personnel return to"
        for role in rule.return_roles:
            if role not in f.roles:
                yield (*at, "return_roles"), _unknown(role, f.roles, "role")
            elif role in f.residual_roles:
                yield (*at, "return_roles"), f"'{role}' is a residual role and never moves"


def _counted(s: Scenario, signal: IncidentSignal) -> list[NHPP | Hawkes | Poisson]:
    """The processes whose incidents an incidents signal counts."""
    return [
        p
        for p in s.threats.processes
        if p.sector is not None
        and (not signal.sectors or p.sector in signal.sectors)
        and (not signal.actors or p.actor in signal.actors)
    ]


def _rate_at_start(s: Scenario, p: NHPP | Hawkes | Poisson) -> float:
    """A process's rate at the start, times every factor that can make it 0 there (the
    season, capacity, fortification, coordination; presence factors are at least 1): zero
    exactly when the model's expected count for the process is zero."""
    start = s.clock.start_date
    if isinstance(p, Hawkes):
        rate = p.background_rate_per_day * schedule_value(p.background_steps, start)
    elif isinstance(p, NHPP):
        rate = p.rate_per_day * schedule_value(p.steps, start)
        if p.seasonal_amplitude:
            peak = p.seasonal_peak_date or start
            phase = 2.0 * math.pi * (start - peak).days / p.seasonal_period_days
            rate *= 1.0 + p.seasonal_amplitude * math.cos(phase)
    else:
        rate = p.rate_per_day
    return rate * _damping_at_start(s, p.sector) if p.modulated else rate


def _damping_at_start(s: Scenario, sector_name: str) -> float:
    """The modulation factors at the start that never exceed 1, for one sector."""
    m, start = s.threats.modulation, s.clock.start_date
    names = [x.name for x in s.border.sectors]
    if sector_name not in names:
        return 1.0  # reported elsewhere
    index = names.index(sector_name)
    sector, length = s.border.sectors[index], sector_lengths(s)[index]
    factor = 1.0
    cap = m.iraqi_capacity
    if cap.enabled:
        level = cap.start_level if start <= cap.plan_start else cap.end_level
        if cap.plan_start < start < cap.plan_end:
            span = (cap.plan_end - cap.plan_start).days
            done = (start - cap.plan_start).days / span
            level = cap.start_level + done * (cap.end_level - cap.start_level)
        factor *= 1.0 - cap.effect * level
    if m.fortification.enabled:
        share = sector.fortification
        if share is None and length > 0:
            share = min(1.0, schedule_value(sector.fortified_km, start) / length)
        factor *= 1.0 - m.fortification.effect * (share or 0.0)
    if m.coordination.enabled:
        level = sum(
            w * schedule_value(m.coordination.levels[p], start)
            for p, w in sector.partners.items()
            if p in m.coordination.levels
        )
        factor *= 1.0 - m.coordination.effect * level
    return factor


def _thresholds(rule: Repositioning, at: PathKey, signal_kind: str | None) -> Found:
    """A rule's trigger and release: both absolute or both relative to the expected value,
    the release below the trigger so the rule does not flap."""
    absolute = (rule.hold_above, rule.release_below)
    relative = (rule.hold_above_expected, rule.release_below_expected)
    if all(v is None for v in absolute) == all(v is None for v in relative):
        yield (
            (*at, "hold_above"),
            (
                "give hold_above and release_below, or hold_above_expected and "
                "release_below_expected (multiples of the expected count), not both"
            ),
        )
        return
    hold, release = absolute if absolute[0] is not None else relative
    suffix = "" if absolute[0] is not None else "_expected"
    if hold is None or release is None:
        missing, given = ("hold_above", "release_below")[:: 1 if hold is None else -1]
        yield (*at, missing + suffix), f"required with {given}{suffix}"
    elif release >= hold:
        yield (
            (*at, "release_below" + suffix),
            f"must be below hold_above{suffix} ({hold:g}) so the rule does not flap",
        )
    if suffix and signal_kind not in (None, "incidents"):
        yield (*at, "hold_above" + suffix), "needs an incidents signal (it has an expected count)"


def _border(s: Scenario) -> Found:
    sectors = s.border.sectors
    yield from _duplicates([x.name for x in sectors], ("border", "sectors"), "sector")
    coordination = s.threats.modulation.coordination
    for sector in sectors:
        yield from _schedule(
            sector.fortified_km, ("border", "sectors", sector.name, "fortified_km"), 0.0, math.inf
        )
        at = ("border", "sectors", sector.name, "partners")
        weight = sum(sector.partners.values())
        if weight > 1.0 + SHARE_TOLERANCE:
            yield at, f"partner weights must sum to at most 1 (they sum to {weight:g})"
        for partner in sector.partners:
            if coordination.enabled and partner not in coordination.levels:
                yield (*at, partner), _unknown(partner, coordination.levels, "partner")


def _threats(s: Scenario) -> Found:
    t = s.threats
    yield from _duplicates(t.actors, ("threats", "actors"), "actor")
    yield from _duplicates(
        [x.name for x in t.incident_types], ("threats", "incident_types"), "type"
    )
    total = sum(x.share for x in t.incident_types)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        yield ("threats", "incident_types"), f"shares must sum to 1 (they sum to {total:g})"
    yield from _duplicates([p.name for p in t.processes], ("threats", "processes"), "process")
    for proc in t.processes:
        at = ("threats", "processes", proc.name)
        if proc.actor not in t.actors:
            yield (*at, "actor"), _unknown(proc.actor, t.actors, "actor")
        if isinstance(proc, NHPP):
            yield from _schedule(proc.steps, (*at, "steps"), 0.0, MAX_MULTIPLIER)
        if isinstance(proc, Hawkes):
            yield from _schedule(
                proc.background_steps, (*at, "background_steps"), 0.0, MAX_MULTIPLIER
            )
            yield from _schedule(proc.branching_steps, (*at, "branching_steps"), 0.0, 0.999999)
    for kind in t.incident_types:
        yield from _severity(kind.severity, ("threats", "incident_types", kind.name, "severity"))
    m = t.modulation
    cap = m.iraqi_capacity
    if cap.enabled and cap.plan_end <= cap.plan_start:
        yield ("threats", "modulation", "iraqi_capacity", "plan_end"), "must come after plan_start"
    for partner, steps in m.coordination.levels.items():
        yield from _schedule(
            steps, ("threats", "modulation", "coordination", "levels", partner), 0, 1
        )


def _severity(spec: Fixed | LogNormal | Pareto, at: PathKey) -> Found:
    """The largest severity any draw can give must be at most ``MAX_SEVERITY``.

    Computed in logarithms (the value itself can overflow): a Pareto draw
    x_min · u^(−1/(α−1)) is largest at the smallest u, a lognormal median · exp(σ z) at the
    largest.
    """
    cap = math.log(MAX_SEVERITY)
    if isinstance(spec, Fixed):
        if spec.value > MAX_SEVERITY:
            yield (*at, "value"), f"at most {MAX_SEVERITY:g} (got {spec.value:g})"
        return
    lognormal = isinstance(spec, LogNormal)
    scale = math.log(spec.median if lognormal else spec.x_min)
    z = NormalDist().inv_cdf(LARGEST_UNIFORM)
    tail = -math.log(SMALLEST_UNIFORM)
    largest = scale + (spec.sigma * z if lognormal else tail / (spec.alpha - 1.0))
    if largest <= cap:
        return
    room = cap - scale
    if room <= 0:
        key = "median" if lognormal else "x_min"
        fix = f"a smaller {key}"
    elif lognormal:
        key, fix = "sigma", f"a sigma of at most {math.floor(room / z * 1000) / 1000:g}"
    else:
        key, fix = "alpha", f"an alpha of at least {math.ceil((1 + tail / room) * 1000) / 1000:g}"
    yield (
        (*at, key),
        f"draws reach about {_power(largest)}, above the limit {MAX_SEVERITY:g}; use {fix}",
    )


def _power(log_value: float) -> str:
    """e**log_value written as a power of ten (the value itself may not be a float)."""
    return f"1e{log_value / math.log(10):.0f}"


def _trend_integral(trend_per_year: float, horizon: float) -> float:
    """∫ max(0, 1 + trend · t / 365.25) dt over [0, horizon], the NHPP's trend factor."""
    end = horizon if trend_per_year >= 0 else min(horizon, -DAYS_PER_YEAR / trend_per_year)
    return end + trend_per_year * end**2 / (2.0 * DAYS_PER_YEAR)


def _largest_step(steps: list[Step] | None) -> float:
    return max((step.value for step in steps), default=1.0) if steps else 1.0


def expected_incidents(s: Scenario) -> dict[str, float]:
    """An upper estimate of each process's expected incidents in one replication.

    The rate is taken at its largest modulation (the presence factors, country-wide and
    local, at zero personnel; the other factors never exceed 1), its largest step and its
    seasonal peak throughout, the NHPP trend integrated over the horizon, every shock at
    full strength throughout, over the horizon and the burn-in before it, and the background
    counts spread by the mean cluster sizes (I − B)⁻¹ at the largest branching
    (``sim.branching``).
    """
    m = s.threats.modulation
    presence = math.prod(
        1.0 + f.effect for f in (m.coalition_iraq, m.coalition_syria, m.local_presence) if f.enabled
    )
    raised = shock_product(s, "background_multiplier")
    background = []
    for p, burn_in in zip(s.threats.processes, burn_in_days(s), strict=True):
        horizon = s.horizon_days + burn_in
        factor = (presence if p.modulated else 1.0) * raised.get(p.name, 1.0)
        if isinstance(p, Poisson):
            count = p.rate_per_day * horizon
        elif isinstance(p, NHPP):
            peak = (1.0 + p.seasonal_amplitude) * _largest_step(p.steps)
            count = p.rate_per_day * peak * _trend_integral(p.trend_per_year, horizon)
        else:
            count = p.background_rate_per_day * _largest_step(p.background_steps) * horizon
        background.append(count * factor)
    counts = cluster_sizes(branching_matrix(s)) @ np.asarray(background)
    return {p.name: float(c) for p, c in zip(s.threats.processes, counts, strict=True)}


def _workload(s: Scenario) -> Found:
    counts = expected_incidents(s)
    total = sum(counts.values())
    if total > MAX_EXPECTED_INCIDENTS:
        name = max(counts, key=counts.get)
        yield (
            ("threats", "processes"),
            f"about {total:.3g} incidents expected in one replication (estimated from the "
            f"largest rates; '{name}' gives {counts[name]:.3g}); at most "
            f"{MAX_EXPECTED_INCIDENTS:,}: lower the rates, trends or horizon",
        )


def _signals(s: Scenario) -> Found:
    sectors = [x.name for x in s.border.sectors]
    for name, signal in s.signals.items():
        if signal.kind == "incidents":
            for sector in signal.sectors:
                if sector not in sectors:
                    yield ("signals", name, "sectors"), _unknown(sector, sectors, "sector")
            for actor in signal.actors:
                if actor not in s.threats.actors:
                    yield ("signals", name, "actors"), _unknown(actor, s.threats.actors, "actor")
        else:
            yield from _schedule(
                signal.values, ("signals", name, "values"), -float("inf"), float("inf")
            )


def semantic_problems(s: Scenario) -> list[tuple[PathKey, str]]:
    """Every cross-field problem of ``s`` (an empty list when it is consistent)."""
    found: list[tuple[PathKey, str]] = []
    checks = (_clock, _forces, _border, geography_problems, _threats, excitation_problems, _signals)
    for check in checks:
        found.extend(check(s))
    if not found:  # the estimate assumes the rest is consistent (branching ratios below 1)
        found.extend(_workload(s))
    return found
