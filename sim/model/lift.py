"""Moving people: movement orders, and lift assets that carry them a limited number of times a day.

A phase or a repositioning rule does not move anyone itself; it places *orders* (from a site,
to a site, so many of each role). Each lift asset (airlift sorties, road convoys) is a SimPy
process that, once a day at its departure hour, takes up to ``lifts_per_day`` loads of at
most ``capacity_personnel`` from the orders it can serve. Personnel leave their site when
their lift departs and arrive after the transit time. A rule's returns and releases are
served before drawdown moves, and drawdown orders wait while a rule holds the drawdown.

With a fixed transit time, a site holding N movable personnel and served by one asset
empties on day ``start + ceil(ceil(N / capacity) / lifts_per_day) - 1`` (the day its last
lift departs), which the tests check by hand.

The lift is the only part that moves people: it changes the posture and announces it
(``Lift.forces_changed``, ``Lift.delivered``), and it records every lift (the ``movements``
table and ``peak_moved_per_day``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.events import ProcessGenerator

from sim.clock import to_dates
from sim.config.schema import LiftAsset
from sim.model.durations import DurationSampler
from sim.model.hooks import Hook
from sim.model.posture import Posture
from sim.model.results import Results
from sim.streams import Streams
from sim.tables import Labels

LATE = 2
"""Priority of a lift's departure: after every urgent (0) and normal (1) event of the same
instant, so a hold logged, an order placed or an arrival at that instant is seen first."""


class LateTimeout(simpy.Event):
    """A timeout that fires at ``at`` after every other event of that instant (``LATE``).

    With a plain timeout, a repositioning check or a phase start at the departure's instant
    ran before or after it depending on when each was scheduled (a rule checking every half
    day logged a hold at day 14 while a drawdown lift left at day 14). SimPy's ``Timeout``
    always has normal priority; like it, this event is triggered when made and scheduled at
    once, only with the later priority."""

    def __init__(self, env: simpy.Environment, at: float) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, LATE, at - env.now)


@dataclass
class Order:
    """Personnel by role still to move from ``origin`` to ``destination``."""

    owner: str
    purpose: str  # "drawdown", or a rule's "return" or "release"
    origin: int
    destination: int
    roles: list[int]

    @property
    def size(self) -> int:
        return sum(self.roles)


@dataclass
class Movement:
    """One lift, for the movements log."""

    lift: int
    asset: str
    owner: str
    purpose: str
    origin: str
    destination: str
    depart_day: float
    arrive_day: float
    personnel: int


class OrderBook:
    """Outstanding orders, and the events that wake idle lift assets.

    Hook: ``dropped(order, n)`` when ``n`` personnel of an order can no longer be moved
    (their site no longer holds them)."""

    def __init__(self, *, env: simpy.Environment, posture: Posture) -> None:
        self.env = env
        self.posture = posture
        self.orders: list[Order] = []
        self.held = 0  # rules now holding the drawdown
        self._wake: simpy.Event | None = None
        self.dropped: Hook[[Order, int]] = Hook("dropped")

    def add(self, order: Order) -> Order | None:
        """Queue ``order``, merged into an open order with the same owner, purpose and route;
        return the order queued (None when it moves nobody)."""
        if order.size == 0:
            return None
        for open_order in self.orders:
            if (
                open_order.owner,
                open_order.purpose,
                open_order.origin,
                open_order.destination,
            ) == (order.owner, order.purpose, order.origin, order.destination):
                open_order.roles = [
                    a + b for a, b in zip(open_order.roles, order.roles, strict=True)
                ]
                order = open_order
                break
        else:
            self.orders.append(order)
        self.notify()
        return order

    def cancel(self, order: Order) -> None:
        """Forget what of ``order`` has not left yet (a released rule's return)."""
        self.orders = [o for o in self.orders if o is not order]

    def notify(self) -> None:
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def wait(self) -> simpy.Event:
        if self._wake is None or self._wake.triggered:
            self._wake = self.env.event()
        return self._wake

    def pending_from(self, origin: int, role: int) -> int:
        return sum(o.roles[role] for o in self.orders if o.origin == origin)

    def servable(self, serves: frozenset[int] | None) -> list[Order]:
        """Orders this asset may take now: a rule's returns and releases first, drawdown
        only when not held."""
        fits = [o for o in self.orders if serves is None or o.destination in serves]
        rules = [o for o in fits if o.purpose != "drawdown"]
        drawdown = [] if self.held else [o for o in fits if o.purpose == "drawdown"]
        return rules + drawdown

    def take(self, serves: frozenset[int] | None, capacity: int) -> tuple[Order, list[int]] | None:
        """Remove up to ``capacity`` personnel of one order; ``None`` when nothing fits.

        An order asks for people who may since have left their site (a return drew on
        them); what the site no longer holds is dropped and announced (``dropped``).
        """
        for order in self.servable(serves):
            available = self.posture.counts[order.origin]
            load = [0] * len(order.roles)
            room = capacity
            for j, wanted in enumerate(order.roles):
                short = max(0, wanted - available[j])
                if short:
                    self.dropped.announce(order, short)
                    wanted -= short
                load[j] = min(wanted, room)
                room -= load[j]
                order.roles[j] = wanted - load[j]
            if order.size == 0:
                self.orders.remove(order)
            if sum(load) > 0:
                return order, load
        return None


@dataclass
class Asset:
    """One lift asset's schedule: what it serves and its next free departure slot."""

    spec: LiftAsset
    transit: DurationSampler
    serves: frozenset[int] | None
    offset: float  # the departure hour, in days
    next_slot: float

    @classmethod
    def of(cls, spec: LiftAsset, site_index: dict[str, int], streams: Streams) -> Asset:
        transit = streams.buffered(f"lift/{spec.name}/transit")
        serves = frozenset(site_index[s] for s in spec.serves) if spec.serves else None
        offset = spec.departure_hour / 24.0
        return cls(spec, DurationSampler(spec.transit_days, transit), serves, offset, offset)

    def slot_at_or_after(self, now: float) -> float:
        slot = math.ceil(now - self.offset - 1e-9) + self.offset
        return max(slot, self.next_slot)


class Lift:
    """The lift assets: SimPy processes that each depart up to ``lifts_per_day`` loads a day.

    Hooks: ``forces_changed(day)`` just after personnel leave or reach a site;
    ``delivered(order, load)`` just after a load of ``order`` reached its destination."""

    def __init__(
        self,
        *,
        env: simpy.Environment,
        assets: list[LiftAsset],
        posture: Posture,
        book: OrderBook,
        streams: Streams,
        start: dt.date,
    ) -> None:
        self.env = env
        self.posture = posture
        self.book = book
        self.start = start
        self.forces_changed: Hook[[float]] = Hook("forces_changed")
        self.delivered: Hook[[Order, list[int]]] = Hook("delivered")
        self.assets = [Asset.of(spec, posture.site_index, streams) for spec in assets]
        self.movements: list[Movement] = []
        self.moved_per_day: dict[int, int] = defaultdict(int)

    def processes(self) -> list[ProcessGenerator]:
        """One departure loop per asset, in the scenario's order."""
        return [self._run(asset) for asset in self.assets]

    def _run(self, asset: Asset) -> ProcessGenerator:
        spec, book, env = asset.spec, self.book, self.env
        while True:
            if not book.servable(asset.serves):
                yield book.wait()
                continue
            slot = asset.slot_at_or_after(env.now)
            yield LateTimeout(env, slot)
            for _ in range(spec.lifts_per_day):
                taken = book.take(asset.serves, spec.capacity_personnel)
                if taken is None:
                    break
                order, load = taken
                transit = asset.transit()
                self._depart(spec.name, order, load, transit)
                env.process(self._carry(order, load, transit))
            asset.next_slot = slot + 1.0

    def _depart(self, asset: str, order: Order, load: list[int], transit: float) -> None:
        now = self.env.now
        self.posture.depart(order.origin, load)
        n = sum(load)
        self.moved_per_day[math.floor(now + 1e-9)] += n
        sites = self.posture.sites
        self.movements.append(
            Movement(
                len(self.movements),
                asset,
                order.owner,
                order.purpose,
                sites[order.origin],
                sites[order.destination],
                now,
                now + transit,
                n,
            )
        )
        self.forces_changed.announce(now)

    def _carry(self, order: Order, load: list[int], transit: float) -> ProcessGenerator:
        yield self.env.timeout(transit)
        self.posture.arrive(order.destination, load)
        self.forces_changed.announce(self.env.now)
        self.delivered.announce(order, load)

    def record(self, results: Results) -> None:
        """The ``movements`` table, and the most personnel that left in one day."""
        moves = self.movements
        depart = np.array([m.depart_day for m in moves], float)
        arrive = np.array([m.arrive_day for m in moves], float)
        sites, index = tuple(self.posture.sites), self.posture.site_index

        def at_sites(names: list[str]) -> Labels:  # every site, in the posture's order
            return Labels(np.array([index[n] for n in names], np.int64), sites)

        results.add_table(
            "movements",
            {
                "lift": np.array([m.lift for m in moves], np.int64),
                "asset": Labels.of([m.asset for m in moves]),
                "owner": Labels.of([m.owner for m in moves]),
                "purpose": Labels.of([m.purpose for m in moves]),
                "origin": at_sites([m.origin for m in moves]),
                "destination": at_sites([m.destination for m in moves]),
                "depart_day": depart,
                "arrive_day": arrive,
                "depart_date": to_dates(depart, self.start),
                "arrive_date": to_dates(arrive, self.start),
                "personnel": np.array([m.personnel for m in moves], np.int64),
            },
        )
        results.add_kpis({"peak_moved_per_day": max(self.moved_per_day.values(), default=0)})
