"""Distances on the Earth for the border's geometry: great-circle lengths, points along a
polyline, and the distance from a place to the nearest point of a stretch of border.

The model needs only these three operations, on a sphere of the IUGG mean radius. Against
the WGS84 ellipsoid a sphere errs by at most about 0.5% in distance, far inside the
uncertainty of every kernel that uses it (docs/model.md §5), so the package does without a
geodesy library. Segments of a polyline are great-circle arcs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0088
"""The IUGG mean radius of the Earth (Moritz 2000, *Geodetic Reference System 1980*)."""


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Points on the unit sphere, one row per (latitude, longitude) in degrees."""
    phi, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], -1)


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The angle between unit vectors, stable for small and large angles alike."""
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1))


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance between two places, in km."""
    return float(distances_km(np.array([lat1]), np.array([lon1]), lat2, lon2)[0])


def distances_km(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """The great-circle distance from each of many places to one place, in km."""
    a = unit_vectors(np.asarray(lat, float), np.asarray(lon, float)).reshape(-1, 3)
    b = unit_vectors(np.array([lat0]), np.array([lon0]))
    return EARTH_RADIUS_KM * _angle(a, b)


@dataclass(frozen=True)
class Polyline:
    """An ordered line of places (latitude, longitude in degrees), measured along itself."""

    lat: np.ndarray
    lon: np.ndarray

    @classmethod
    def of(cls, points: Sequence[tuple[float, float]]) -> Polyline:
        lat, lon = np.asarray(points, dtype=float).reshape(-1, 2).T
        if len(lat) < 2:
            raise ValueError("a polyline needs at least two points")
        return cls(lat, lon)

    @property
    def vectors(self) -> np.ndarray:
        return unit_vectors(self.lat, self.lon)

    @property
    def cumulative_km(self) -> np.ndarray:
        """Distance along the line from its first point to each vertex."""
        v = self.vectors
        return np.concatenate([[0.0], np.cumsum(EARTH_RADIUS_KM * _angle(v[:-1], v[1:]))])

    @property
    def length_km(self) -> float:
        return float(self.cumulative_km[-1])

    def at(self, km: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Latitude and longitude of the points ``km`` along the line (clipped to it)."""
        km = np.clip(np.asarray(km, dtype=float), 0.0, self.length_km)
        cumulative, v = self.cumulative_km, self.vectors
        segment = np.clip(np.searchsorted(cumulative, km, side="right") - 1, 0, len(v) - 2)
        a, b = v[segment], v[segment + 1]
        omega = _angle(a, b)
        width = cumulative[segment + 1] - cumulative[segment]
        t = np.divide(km - cumulative[segment], width, out=np.zeros_like(km), where=width > 0)
        sin_omega = np.sin(omega)
        safe = np.where(sin_omega > 0, sin_omega, 1.0)
        wa = np.where(sin_omega > 0, np.sin((1 - t) * omega) / safe, 1 - t)
        wb = np.where(sin_omega > 0, np.sin(t * omega) / safe, t)
        p = wa[..., None] * a + wb[..., None] * b  # spherical interpolation along the arc
        p /= np.linalg.norm(p, axis=-1, keepdims=True)
        return np.degrees(np.arcsin(np.clip(p[..., 2], -1, 1))), np.degrees(
            np.arctan2(p[..., 1], p[..., 0])
        )

    def section(self, from_km: float, to_km: float) -> Polyline:
        """The part of the line from ``from_km`` to ``to_km`` along it."""
        if not 0.0 <= from_km < to_km <= self.length_km * (1 + 1e-12):
            raise ValueError(f"no section {from_km:g}–{to_km:g} km of a {self.length_km:g} km line")
        cumulative = self.cumulative_km
        inside = (cumulative > from_km) & (cumulative < to_km)
        km = np.concatenate([[from_km], cumulative[inside], [to_km]])
        lat, lon = self.at(km)
        return Polyline(lat, lon)

    def distance_km(self, lat: float, lon: float) -> float:
        """Distance from a place to the nearest point of the line, in km."""
        p = unit_vectors(np.array(lat), np.array(lon))
        v = self.vectors
        a, b = v[:-1], v[1:]
        normal = np.cross(a, b)
        norm = np.linalg.norm(normal, axis=-1)
        nearest_vertex = _angle(p[None, :], v).min()
        usable = norm > 0  # a segment of two equal points has no great circle
        if not usable.any():
            return float(EARTH_RADIUS_KM * nearest_vertex)
        n = normal[usable] / norm[usable, None]
        a, b = a[usable], b[usable]
        off = n @ p  # the sine of the angle off each segment's great circle
        foot = p[None, :] - off[:, None] * n  # the place projected onto each great circle
        within = (np.sum(np.cross(a, foot) * n, axis=-1) >= 0) & (
            np.sum(np.cross(foot, b) * n, axis=-1) >= 0
        )
        across = np.abs(np.arcsin(np.clip(off, -1.0, 1.0)))
        best = min(nearest_vertex, across[within].min(initial=np.inf))
        return float(EARTH_RADIUS_KM * best)

    def locate(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each place: km along the line of its nearest point, its distance to the line
        in km, and its side (+1 left, −1 right, walking the line from its first point; the
        Syrian side of the Iraq–Syria border, drawn north to south, is the right)."""
        p = unit_vectors(np.asarray(lat, float), np.asarray(lon, float)).reshape(-1, 3)
        v, cumulative = self.vectors, self.cumulative_km
        a, b = v[:-1], v[1:]
        normal = np.cross(a, b)
        norm = np.linalg.norm(normal, axis=-1)
        n = normal / np.where(norm > 0, norm, 1.0)[:, None]
        off = p @ n.T  # (place, segment): the sine of the angle off each great circle
        foot = p[:, None, :] - off[..., None] * n[None, :, :]
        within = (
            (np.sum(np.cross(a[None], foot) * n[None], axis=-1) >= 0)
            & (np.sum(np.cross(foot, b[None]) * n[None], axis=-1) >= 0)
            & (norm > 0)[None, :]
        )
        across = np.where(within, np.abs(np.arcsin(np.clip(off, -1.0, 1.0))), np.inf)
        to_vertex = _angle(p[:, None, :], v[None, :, :])
        segment, vertex = across.argmin(axis=1), to_vertex.argmin(axis=1)
        rows = np.arange(len(p))
        on_segment = across[rows, segment] <= to_vertex[rows, vertex]
        unit_foot = foot[rows, segment] / np.maximum(
            np.linalg.norm(foot[rows, segment], axis=-1, keepdims=True), 1e-300
        )
        along_segment = cumulative[segment] + EARTH_RADIUS_KM * _angle(a[segment], unit_foot)
        along = np.where(on_segment, along_segment, cumulative[vertex])
        distance = EARTH_RADIUS_KM * np.where(
            on_segment, across[rows, segment], to_vertex[rows, vertex]
        )
        nearby = np.minimum(vertex, len(a) - 1)  # a vertex's side: that of its next segment
        side = np.sign(np.where(on_segment, off[rows, segment], off[rows, nearby]))
        return along, distance, np.where(side == 0, 1.0, side)
