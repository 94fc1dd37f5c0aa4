"""Coalition surveillance by asset: drones and aircraft that cover the sectors in range of
their base (docs/model.md §6.1).

An asset covers sector s when its current base is within ``range_km`` of the nearest point
of the sector. The coalition ISR channel of detection then misses an incident in s with
probability

    Π_{assets a in range of s} (1 − detection_a)^{count_a(t)},

so detection by ISR is 1 minus that. A phase moves assets when it starts (a new count, a
new base or both; the drawdown's ``phase_started`` hook), so the channel is piecewise
constant and kept live, one value per sector.
"""

from __future__ import annotations

from sim.config.schema import Phase
from sim.config.schema.border import IsrAsset
from sim.config.schema.forces import IsrMove
from sim.model.geometry import Geometry


class Surveillance:
    """The ISR assets' counts and bases now, and the chance each sector's ISR misses.

    Listens to ``Drawdown.phase_started`` (``phase_started``)."""

    def __init__(self, *, assets: list[IsrAsset], phases: list[Phase], geometry: Geometry) -> None:
        self.assets = assets
        self.geometry = geometry
        self.count = [a.count for a in assets]
        self.base = [a.base for a in assets]
        index = {a.name: i for i, a in enumerate(assets)}
        self.moves: dict[str, list[tuple[int, IsrMove]]] = {
            p.name: [(index[name], move) for name, move in p.isr.items()] for p in phases if p.isr
        }
        self.miss = self._miss()

    def _miss(self) -> list[float]:
        """Π (1 − detection_a)^count_a over the assets in range, for every sector."""
        sectors = len(self.geometry.lengths)
        miss = [1.0] * sectors
        for asset, count, base in zip(self.assets, self.count, self.base, strict=True):
            reach = self.geometry.distances(base)
            for s in range(sectors):
                if reach[s] <= asset.range_km:
                    miss[s] *= (1.0 - asset.detection) ** count
        return miss

    def phase_started(self, phase: str, day: float) -> None:
        """Hook: ``phase`` started at ``day``; the assets it moves take their new count or
        base."""
        moves = self.moves.get(phase)
        if not moves:
            return
        for i, move in moves:
            if move.count is not None:
                self.count[i] = move.count
            if move.base is not None:
                self.base[i] = move.base
        self.miss = self._miss()
