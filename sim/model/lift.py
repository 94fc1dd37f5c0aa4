"""Moving people: movement orders, and lift assets that carry them a limited number of times a day.

A phase or a repositioning rule does not move anyone itself; it places *orders* (from a site,
to a site, so many of each role). Each lift asset (airlift sorties, road convoys) is a SimPy
process that, once a day at its departure hour, takes up to ``lifts_per_day`` loads of at
most ``capacity_personnel`` from the orders it can serve. Personnel leave their site when
their lift departs and arrive after the transit time. Returns are served before drawdown
moves, and drawdown orders wait while a rule holds the drawdown.

With a fixed transit time, a site holding N movable personnel and served by one asset
empties on day ``start + ceil(ceil(N / capacity) / lifts_per_day) - 1`` (the day its last
lift departs), which the tests check by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import simpy

from sim.config.schema import LiftAsset
from sim.model.durations import DurationSampler
from sim.model.posture import Posture

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
    purpose: str  # "drawdown" or "return"
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


@dataclass
class OrderBook:
    """Outstanding orders, and the events that wake idle lift assets."""

    env: simpy.Environment
    posture: Posture
    orders: list[Order] = field(default_factory=list)
    held: int = 0
    _wake: simpy.Event | None = None

    def add(self, order: Order) -> None:
        """Queue ``order``, merged into an open order with the same owner, purpose and route."""
        if order.size == 0:
            return
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
                break
        else:
            self.orders.append(order)
        self.notify()

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
        """Orders this asset may take now: returns first, drawdown only when not held."""
        fits = [o for o in self.orders if serves is None or o.destination in serves]
        returns = [o for o in fits if o.purpose == "return"]
        drawdown = [] if self.held else [o for o in fits if o.purpose == "drawdown"]
        return returns + drawdown

    def take(
        self, serves: frozenset[int] | None, capacity: int, dropped: Callable[[Order, int], None]
    ) -> tuple[Order, list[int]] | None:
        """Remove up to ``capacity`` personnel of one order; ``None`` when nothing fits.

        An order asks for people who may since have left their site (a return drew on
        them); what the site no longer holds is dropped and reported through ``dropped``.
        """
        for order in self.servable(serves):
            available = self.posture.counts[order.origin]
            load = [0] * len(order.roles)
            room = capacity
            for j, wanted in enumerate(order.roles):
                short = max(0, wanted - available[j])
                if short:
                    dropped(order, short)
                    wanted -= short
                load[j] = min(wanted, room)
                room -= load[j]
                order.roles[j] = wanted - load[j]
            if order.size == 0:
                self.orders.remove(order)
            if sum(load) > 0:
                return order, load
        return None


class LiftAssetProcess:
    """One lift asset: a SimPy process that departs up to ``lifts_per_day`` loads a day."""

    def __init__(
        self,
        env: simpy.Environment,
        spec: LiftAsset,
        book: OrderBook,
        transit: DurationSampler,
        on_depart: Callable[[Order, list[int], float], None],
        on_arrive: Callable[[Order, list[int]], None],
        dropped: Callable[[Order, int], None],
        site_index: dict[str, int],
    ) -> None:
        self.env = env
        self.spec = spec
        self.book = book
        self.transit = transit
        self.on_depart = on_depart
        self.on_arrive = on_arrive
        self.dropped = dropped
        self.serves = frozenset(site_index[s] for s in spec.serves) if spec.serves else None
        self.offset = spec.departure_hour / 24.0
        self.next_slot = self.offset
        env.process(self.run())

    def _slot_at_or_after(self, now: float) -> float:
        slot = math.ceil(now - self.offset - 1e-9) + self.offset
        return max(slot, self.next_slot)

    def run(self):
        while True:
            if not self.book.servable(self.serves):
                yield self.book.wait()
                continue
            slot = self._slot_at_or_after(self.env.now)
            yield LateTimeout(self.env, slot)
            for _ in range(self.spec.lifts_per_day):
                taken = self.book.take(self.serves, self.spec.capacity_personnel, self.dropped)
                if taken is None:
                    break
                order, load = taken
                transit = self.transit()
                self.on_depart(order, load, transit)
                self.env.process(self._carry(order, load, transit))
            self.next_slot = slot + 1.0

    def _carry(self, order: Order, load: list[int], transit: float):
        yield self.env.timeout(transit)
        self.on_arrive(order, load)
