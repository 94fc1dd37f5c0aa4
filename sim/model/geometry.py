"""The scenario's border as the model measures it: sector stretches, lengths, and the
distance from a named place to each sector (docs/model.md §5.5).

Distances are great-circle distances from a place to the nearest point of a sector's
stretch of the border (``sim.geo``). They depend on the scenario's geography, sites and
sectors alone, so one ``Geometry`` serves every replication of every scenario that shares
them (``geometry_of``); a place's distances are computed the first time a part asks for
them.
"""

from __future__ import annotations

import numpy as np

from sim.config.geography_checks import (
    border_line,
    located_places,
    sector_lengths,
    sector_span,
)
from sim.config.schema import Scenario
from sim.geo import Polyline, distance_km


class Geometry:
    """Sector lengths always; with a geography, the border line, each sector's stretch
    (km from the northern end) and the distances from located places to the sectors."""

    def __init__(self, scenario: Scenario) -> None:
        self.lengths = sector_lengths(scenario)
        self.line: Polyline | None = border_line(scenario)
        self.spans: list[tuple[float, float]] = []
        self.sections: list[Polyline] = []
        self.places: dict[str, tuple[float, float]] = {}
        self._distances: dict[str, np.ndarray] = {}
        self._points: dict[tuple[str, str], float] = {}
        if self.line is None:
            return
        end = self.line.length_km
        for sector in scenario.border.sectors:
            start, stop = sector_span(sector, end)
            self.spans.append((start, min(stop, end)))  # a last to_km may round past the end
        self.sections = [self.line.section(start, stop) for start, stop in self.spans]
        self.places = located_places(scenario)

    def distances(self, place: str) -> np.ndarray:
        """Km from ``place`` to the nearest point of each sector, in the sectors' order."""
        if place not in self._distances:
            lat, lon = self.places[place]
            self._distances[place] = np.array([s.distance_km(lat, lon) for s in self.sections])
        return self._distances[place]

    def point_distances(self, site: str, places: list[str]) -> np.ndarray:
        """Km from ``site`` to each of ``places`` (great circle), computed once per pair."""
        lat, lon = self.places[site]
        for name in places:
            if (site, name) not in self._points:
                self._points[site, name] = distance_km(lat, lon, *self.places[name])
        return np.array([self._points[site, name] for name in places])


GeometryKey = tuple[object, ...]
_MADE: dict[GeometryKey, Geometry] = {}
KEPT = 64  # geometries kept per process: a sweep over coordinates makes one per point


def _key(scenario: Scenario) -> GeometryKey:
    """Everything a geometry depends on: the border, the places, the located sites and the
    sectors' stretches (equal keys, equal geometries)."""
    geography = scenario.geography
    return (
        None if geography is None else tuple((p.name, p.lat, p.lon) for p in geography.border),
        None if geography is None else tuple((p.name, p.lat, p.lon) for p in geography.places),
        tuple((s.name, s.lat, s.lon) for s in scenario.forces.sites),
        tuple((s.from_km, s.to_km, s.length_km) for s in scenario.border.sectors),
    )


def geometry_of(scenario: Scenario) -> Geometry:
    """The scenario's geometry, made once per process for every scenario with the same
    border, places, sites and sectors: distances cost more than a short replication, and a
    worker receives a fresh copy of the scenario with every chunk of replications."""
    key = _key(scenario)
    made = _MADE.get(key)
    if made is None:
        if len(_MADE) >= KEPT:
            del _MADE[next(iter(_MADE))]  # the oldest
        made = _MADE[key] = Geometry(scenario)
    return made
