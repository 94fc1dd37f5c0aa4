"""The drawdown: phases that bring sites down to target levels, and repositioning rules.

A phase, from its start date (and once its condition holds), *governs* each site it lists:
every non-residual role above the phase's level is ordered out, split between destinations
by their shares (largest-remainder rounding, so shares of small numbers stay whole people).
The order book and lift assets do the moving. A phase completes when everything it ordered
has arrived.

A repositioning rule ("repositioning in anticipation of any emergency") checks its signal at
a fixed interval. At its trigger threshold it holds: drawdown orders wait and up to
``return_personnel`` come back to ``return_to``. What arrives there is the rule's, *reserved*
while the hold lasts: the phase governing ``return_to`` does not order it out. Below its
release threshold it releases: what has not left yet stays where it is, everything the
trigger brought goes back exactly to where it came from (by site and role; what is still on
its way goes back when it arrives), and every governed site is then reconciled. Thresholds
are absolute, or multiples of the signal's expected count at the start
(``ThreatProcesses.expected_count``).

The drawdown announces each phase start (``phase_started``: the ISR assets a phase moves)
and records its ``phases`` and ``policy`` tables and their KPIs (how often a rule held the
drawdown, when each phase completed).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import simpy
from simpy.events import ProcessGenerator

from sim.clock import to_dates, to_day
from sim.config.schema import Forces, Phase, Repositioning
from sim.model.hooks import Hook
from sim.model.lift import Order, OrderBook
from sim.model.posture import Posture
from sim.model.results import Results
from sim.model.signals import Signals
from sim.tables import Labels


def split_by_shares(total: int, shares: list[float]) -> list[int]:
    """Whole numbers summing to ``total`` in proportion to ``shares`` (largest remainder)."""
    exact = [total * s for s in shares]
    whole = [math.floor(x) for x in exact]
    left = total - sum(whole)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(exact[i] - whole[i]), i))
    for i in by_remainder[:left]:
        whole[i] += 1
    return whole


@dataclass
class PhaseState:
    spec: Phase
    destinations: list[int]
    shares: list[float]
    keep: dict[int, list[int]]  # site -> level by role
    started_day: float | None = None
    complete_day: float | None = None
    outstanding: int = 0


@dataclass
class RuleState:
    """A repositioning rule's thresholds, whether it holds, and what its trigger brought."""

    spec: Repositioning
    hold_above: float
    release_below: float
    return_to: int | None
    active: bool = False
    orders: list[Order] = field(default_factory=list)  # the current trigger's return orders
    brought: Counter[tuple[int, int]] = field(default_factory=Counter)  # (origin, role) -> n

    def reserved(self, site: int, role: int) -> int:
        """Personnel of ``role`` at ``site`` that the current trigger brought there."""
        if not self.active or site != self.return_to:
            return 0
        return sum(n for (_, j), n in self.brought.items() if j == role)


def thresholds(rule: Repositioning, expected: Mapping[str, float]) -> tuple[float, float]:
    """A rule's (trigger, release) values: as given, or k times the signal's expected count."""
    if rule.hold_above is not None and rule.release_below is not None:
        return rule.hold_above, rule.release_below
    hold, release = rule.hold_above_expected, rule.release_below_expected
    assert hold is not None and release is not None  # validated: both, or both absolute
    count = expected[rule.signal]
    return hold * count, release * count


@dataclass
class PolicyEvent:
    rule: str
    day: float
    action: str  # "hold" or "release"
    signal_value: float
    threshold: float


class Drawdown:
    """Runs the phases and repositioning rules of a scenario as SimPy processes.

    Listens to ``Lift.delivered`` (``delivered``) and ``OrderBook.dropped`` (``settled``).
    Hook: ``phase_started(phase, day)`` when a phase starts (after any condition).
    ``expected`` gives the expected count of each signal a rule's relative thresholds read."""

    def __init__(
        self,
        *,
        env: simpy.Environment,
        forces: Forces,
        start: dt.date,
        posture: Posture,
        book: OrderBook,
        signals: Signals,
        expected: Mapping[str, float],
    ) -> None:
        self.env = env
        self.posture = posture
        self.book = book
        self.signals = signals
        self.start = start
        self.phase_started: Hook[[str, float]] = Hook("phase_started")
        self.rules = {
            rule.name: RuleState(
                rule,
                *thresholds(rule, expected),
                posture.site_index[rule.return_to] if rule.return_to else None,
            )
            for rule in forces.repositioning
        }
        residual = {posture.role_index[r] for r in forces.residual_roles}
        self.movable = [j for j in range(len(posture.roles)) if j not in residual]
        self.phases = {p.name: self._phase_state(p) for p in forces.phases}
        self.governing: dict[int, PhaseState] = {}
        self.policy_events: list[PolicyEvent] = []

    def processes(self) -> list[ProcessGenerator]:
        """Every phase, then every repositioning rule, in the scenario's order."""
        phases = [
            self._run_phase(phase, max(0.0, to_day(phase.spec.start_date, self.start)))
            for phase in self.phases.values()
        ]
        return phases + [self._run_rule(rule) for rule in self.rules.values()]

    def _phase_state(self, phase: Phase) -> PhaseState:
        p = self.posture
        keep = {
            p.site_index[site]: [levels.get(role, 0) for role in p.roles]
            for site, levels in phase.reduce.items()
        }
        return PhaseState(
            spec=phase,
            destinations=[p.site_index[d] for d in phase.destinations],
            shares=list(phase.destinations.values()),
            keep=keep,
        )

    # -- phases ---------------------------------------------------------------------------
    def _run_phase(self, phase: PhaseState, start_day: float) -> ProcessGenerator:
        if start_day > self.env.now:
            yield self.env.timeout(start_day - self.env.now)
        condition = phase.spec.condition
        if condition is not None:
            while self.signals.value(condition.signal, self.env.now) >= condition.below:
                yield self.env.timeout(1.0)
        phase.started_day = self.env.now
        self.phase_started.announce(phase.spec.name, self.env.now)
        for site in phase.keep:
            self.governing[site] = phase
        for site in phase.keep:
            self.reconcile(site)
        self._check_complete(phase)

    def reconcile(self, site: int) -> None:
        """Order out whatever the governing phase says ``site`` holds above its level, but
        for what a holding rule brought there."""
        phase = self.governing.get(site)
        if phase is None:
            return
        level = phase.keep[site]
        counts = self.posture.counts[site]
        for j in self.movable:
            surplus = counts[j] - level[j] - self.book.pending_from(site, j)
            surplus -= sum(rule.reserved(site, j) for rule in self.rules.values())
            if surplus <= 0:
                continue
            for dest, n in zip(
                phase.destinations, split_by_shares(surplus, phase.shares), strict=True
            ):
                if n:
                    roles = [0] * len(counts)
                    roles[j] = n
                    phase.outstanding += n
                    self.book.add(Order(phase.spec.name, "drawdown", site, dest, roles))

    def _check_complete(self, phase: PhaseState) -> None:
        if phase.started_day is not None and phase.outstanding == 0:
            phase.complete_day = self.env.now

    def settled(self, order: Order, n: int) -> None:
        """Hook: ``n`` personnel of ``order`` arrived or were dropped; update its phase."""
        phase = self.phases.get(order.owner) if order.purpose == "drawdown" else None
        if phase is not None:
            phase.outstanding -= n
            self._check_complete(phase)

    def delivered(self, order: Order, load: list[int]) -> None:
        """Hook: a load of ``order`` arrived; a governed destination may now hold too many."""
        if order.purpose == "return":
            self._returned(order, load)
        self.settled(order, sum(load))
        site = order.destination
        if not self.book.held and site in self.governing:
            self.reconcile(site)

    # -- repositioning ----------------------------------------------------------------------
    def _run_rule(self, state: RuleState) -> ProcessGenerator:
        rule = state.spec
        while True:
            value = self.signals.value(rule.signal, self.env.now)
            if not state.active and value >= state.hold_above:
                self._trigger(state, value)
            elif state.active and value < state.release_below:
                self._release(state, value)
            yield self.env.timeout(rule.check_interval_days)

    def _trigger(self, state: RuleState, value: float) -> None:
        rule = state.spec
        state.active = True
        self.policy_events.append(
            PolicyEvent(rule.name, self.env.now, "hold", value, state.hold_above)
        )
        if rule.hold_drawdown:
            self.book.held += 1
        self._order_return(state)

    def _release(self, state: RuleState, value: float) -> None:
        """Cancel what has not left, send back what came, then reconcile the governed sites."""
        rule = state.spec
        state.active = False
        self.policy_events.append(
            PolicyEvent(rule.name, self.env.now, "release", value, state.release_below)
        )
        if rule.hold_drawdown:
            self.book.held -= 1
        for order in state.orders:
            self.book.cancel(order)
        self._send_back(state, state.brought)
        state.orders, state.brought = [], Counter()
        if not self.book.held:
            for site in sorted(self.governing):
                self.reconcile(site)
            self.book.notify()

    def _order_return(self, state: RuleState) -> None:
        p, rule = self.posture, state.spec
        if not rule.return_personnel or state.return_to is None:
            return
        roles = [p.role_index[r] for r in rule.return_roles] or self.movable
        wanted = rule.return_personnel
        for source in rule.return_from:
            origin = p.site_index[source]
            load = [0] * len(p.roles)
            for j in roles:  # never what another rule holds there: its release owes it back
                held = sum(other.reserved(origin, j) for other in self.rules.values())
                n = min(wanted, max(0, p.counts[origin][j] - held))
                load[j] = n
                wanted -= n
            queued = self.book.add(Order(rule.name, "return", origin, state.return_to, load))
            if queued is not None and not any(o is queued for o in state.orders):
                state.orders.append(queued)
            if wanted == 0:
                break

    def _returned(self, order: Order, load: list[int]) -> None:
        """A rule's return load arrived: it is the trigger's, or goes straight back when
        the trigger that ordered it has been released meanwhile."""
        state = self.rules[order.owner]
        brought = Counter({(order.origin, j): n for j, n in enumerate(load) if n})
        if state.active and any(o is order for o in state.orders):
            state.brought.update(brought)
        else:
            self._send_back(state, brought)

    def _send_back(self, state: RuleState, brought: Counter[tuple[int, int]]) -> None:
        """Order ``brought`` from the rule's ``return_to`` back to the sites it came from."""
        site = state.return_to
        if site is None:
            return
        back: dict[int, list[int]] = {}
        for (origin, j), n in sorted(brought.items()):
            back.setdefault(origin, [0] * len(self.posture.roles))[j] += n
        for origin, roles in back.items():
            self.book.add(Order(state.spec.name, "release", site, origin, roles))

    # -- records --------------------------------------------------------------------------
    def record(self, results: Results) -> None:
        """The ``phases`` and ``policy`` tables, the holds, and each phase's completion."""
        phases = list(self.phases.values())
        events = self.policy_events
        days = np.array([e.day for e in events], float)
        results.add_table(
            "phases",
            {
                "phase": Labels.of([p.spec.name for p in phases]),
                "start_day": np.array([_or_nan(p.started_day) for p in phases], float),
                "complete_day": np.array([_or_nan(p.complete_day) for p in phases], float),
            },
        )
        results.add_table(
            "policy",
            {
                "rule": Labels.of([e.rule for e in events]),
                "day": days,
                "date": to_dates(days, self.start),
                "action": Labels.of([e.action for e in events]),
                "signal_value": np.array([e.signal_value for e in events], float),
                "threshold": np.array([e.threshold for e in events], float),
            },
        )
        kpis: dict[str, object] = {
            "repositioning_triggers": sum(e.action == "hold" for e in events)
        }
        for name, phase in self.phases.items():
            kpis[f"complete_day_{name}"] = _or_nan(phase.complete_day)
        results.add_kpis(kpis)


def _or_nan(day: float | None) -> float:
    return math.nan if day is None else day
