"""Named, typed hooks: how the parts of a world tell each other what they saw.

A part announces an event through a hook it owns (the lift announces every change of the
forces, the border every sector about to change); other parts subscribe once the whole world
is built. The announcer does not know who listens, so the parts can be built in any order and
a new listener needs no edit to the part it listens to. Handlers run at once, in the order
they subscribed, inside the SimPy event that made the change, so they see the same instant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


def _nobody(*args: object, **kwargs: object) -> None:
    """What announcing does while nobody listens."""


class Hook(Generic[P]):
    """One kind of event a part announces; ``Hook[[float]]`` passes the day, for example.

    ``announce`` is rebound whenever a handler subscribes: with one handler it *is* that
    handler, so announcing costs no more than a direct call (some hooks fire at every
    incident)."""

    __slots__ = ("announce", "handlers", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: tuple[Callable[P, object], ...] = ()
        self.announce: Callable[P, object] = _nobody

    def connect(self, handler: Callable[P, object]) -> None:
        """Call ``handler`` on every announcement from now on, after the earlier ones."""
        self.handlers = handlers = (*self.handlers, handler)
        if len(handlers) == 1:
            self.announce = handler
            return

        def every(*args: P.args, **kwargs: P.kwargs) -> None:
            for each in handlers:
                each(*args, **kwargs)

        self.announce = every

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self.handlers)} handler(s))"
