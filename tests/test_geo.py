"""Great-circle geometry against hand arithmetic and against brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.geo import EARTH_RADIUS_KM, Polyline, distance_km

DEGREE_KM = EARTH_RADIUS_KM * math.pi / 180  # one degree of a great circle: 111.195 km


def test_a_degree_of_latitude_and_of_the_equator():
    assert distance_km(33.0, 40.0, 34.0, 40.0) == pytest.approx(DEGREE_KM, rel=1e-12)
    assert distance_km(0.0, 10.0, 0.0, 11.0) == pytest.approx(DEGREE_KM, rel=1e-12)
    assert pytest.approx(111.195, abs=1e-3) == DEGREE_KM


def test_distance_to_an_equatorial_segment_by_hand():
    line = Polyline.of([(0.0, 0.0), (0.0, 1.0)])
    # above the middle of the segment: the cross-track distance is the latitude itself
    assert line.distance_km(1.0, 0.5) == pytest.approx(DEGREE_KM, rel=1e-9)
    # beyond its end: the distance to the end point
    assert line.distance_km(0.0, 2.0) == pytest.approx(DEGREE_KM, rel=1e-9)
    assert line.distance_km(0.0, 0.25) == pytest.approx(0.0, abs=1e-6)


def test_points_along_a_meridian_by_hand():
    line = Polyline.of([(33.0, 41.0), (35.0, 41.0), (37.0, 41.0)])
    assert line.length_km == pytest.approx(4 * DEGREE_KM, rel=1e-12)
    lat, lon = line.at(np.array([0.0, DEGREE_KM, 3.5 * DEGREE_KM, 99 * DEGREE_KM]))
    np.testing.assert_allclose(lat, [33.0, 34.0, 36.5, 37.0], atol=1e-9)
    np.testing.assert_allclose(lon, 41.0, atol=1e-9)


def test_sections_add_up_to_the_line():
    line = Polyline.of([(37.1, 42.36), (36.3, 41.28), (34.45, 40.95), (33.37, 38.79)])
    cut = 123.4
    first, second = line.section(0.0, cut), line.section(cut, line.length_km)
    assert first.length_km + second.length_km == pytest.approx(line.length_km, rel=1e-12)
    assert first.length_km == pytest.approx(cut, rel=1e-12)
    with pytest.raises(ValueError, match="no section"):
        line.section(200.0, 100.0)


places = st.tuples(st.floats(30.0, 40.0), st.floats(36.0, 46.0))


@given(st.lists(places, min_size=2, max_size=6), places)
def test_nearest_point_is_no_farther_than_any_point_of_the_line(points, place):
    line = Polyline.of(points)
    nearest = line.distance_km(*place)
    sampled_lat, sampled_lon = line.at(np.linspace(0.0, line.length_km, 2001))
    sampled = min(distance_km(*place, a, b) for a, b in zip(sampled_lat, sampled_lon, strict=True))
    assert 0.0 <= nearest <= sampled + 1e-6
    spacing = line.length_km / 2000
    assert sampled - nearest <= spacing / 2 + 1e-6  # the exact minimum is between samples


@given(st.lists(places, min_size=2, max_size=6), st.floats(0.0, 1.0))
def test_every_point_of_the_line_is_on_it(points, fraction):
    line = Polyline.of(points)
    lat, lon = line.at(fraction * line.length_km)
    assert line.distance_km(float(lat), float(lon)) == pytest.approx(0.0, abs=1e-6)
