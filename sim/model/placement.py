"""Where along the border an incident happens: km from the northern end, within its sector
(docs/model.md §6.4).

With probability Σ_c share_c an incident is near one of the sector's crossings (crossing c
with probability share_c), uniform over the stretch ``at_km ± spread_km`` clipped to the
sector; otherwise it is uniform over the sector. Each incident takes exactly two uniforms,
one for the choice and one for the position, so the stream stays aligned across scenarios
that move a crossing or change its share.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.config.schema import Sector


@dataclass(frozen=True, slots=True)
class SectorPlacement:
    """A sector's stretch and its crossings' stretches, ready for two uniforms."""

    start: float
    end: float
    crossings: tuple[tuple[float, float, float], ...]  # (cumulative share, from km, to km)

    @classmethod
    def of(cls, sector: Sector, span: tuple[float, float]) -> SectorPlacement:
        start, end = span
        crossings, cumulative = [], 0.0
        for c in sector.crossings:
            cumulative += c.share
            at = min(max(c.at_km, start), end)  # a crossing is inside its (clipped) sector
            low, high = max(start, at - c.spread_km), min(end, at + c.spread_km)
            crossings.append((cumulative, low, high))
        return cls(start, end, tuple(crossings))

    def km(self, u_choice: float, u_position: float) -> float:
        """The position of one incident, from its two uniforms."""
        for cumulative, low, high in self.crossings:
            if u_choice < cumulative:
                return low + u_position * (high - low)
        return self.start + u_position * (self.end - self.start)
