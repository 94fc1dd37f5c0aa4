"""KPIs of waits still running at the horizon and of the busiest windows of the run.

``mean_wait_days`` counts only the waits that ended (a unit took the incident) before T;
``waiting_at_horizon`` counts the detected incidents still waiting then, and
``mean_wait_censored_days`` is the Kaplan–Meier restricted mean with those waits
right-censored at T − day. ``peak_week_incidents`` and ``worst_30d_incidents`` are the most
incidents in any sliding 7- and 30-day window [t, t + w).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import VALIDATION
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_profiles import examples

from sim.config.load import load_scenario
from sim.model.border import OUTCOMES, incident_kpis, peak_window_count, restricted_mean_wait
from sim.model.world import simulate
from sim.tables import KPI_COLUMNS, Labels

NEW = ("waiting_at_horizon", "mean_wait_censored_days", "peak_week_incidents")


def incidents(day, start, detected=None) -> dict:
    """An ``incidents`` table as ``BorderResponse.record`` builds it, from the incident times,
    the response starts (NaN: not started) and detection (default: every one detected)."""
    day, start = np.asarray(day, float), np.asarray(start, float)
    detected = np.ones(len(day), bool) if detected is None else np.asarray(detected, bool)
    outcome = np.where(~detected, OUTCOMES.index("undetected"), OUTCOMES.index("pending"))
    outcome[~np.isnan(start)] = OUTCOMES.index("missed")
    n = len(day)
    return {
        "day": day,
        "severity": np.ones(n),
        "parent": np.full(n, -1, np.int64),
        "displaced": np.zeros(n, bool),
        "detected": detected,
        "response_start_day": start,
        "wait_days": start - day,
        "outcome": Labels(outcome.astype(np.int64), OUTCOMES),
    }


def km_restricted_mean(observed: np.ndarray, censored: np.ndarray) -> float:
    """Oracle: the Kaplan–Meier product limit by hand (a wait censored at an event time is
    still at risk then), integrated from 0 to the longest wait seen."""
    times = np.concatenate([observed, censored])
    ends = np.unique(np.concatenate([[0.0], times]))
    area, survival = 0.0, 1.0
    for left, right in zip(ends, [*ends[1:], ends[-1]], strict=True):
        events = np.sum(observed == left)
        if events:
            survival *= 1.0 - events / np.sum(times >= left)
        area += survival * (right - left)
    return area


def brute_peak(times: np.ndarray, width: float) -> int:
    return max((int(np.sum((times >= t) & (times < t + width))) for t in times), default=0)


def test_the_new_kpis_are_declared_after_the_wait_and_backlog():
    names = list(KPI_COLUMNS)
    at = names.index("max_backlog")
    assert names[at - 1 : at + 5] == [
        "mean_wait_days",
        "max_backlog",
        "waiting_at_horizon",
        "mean_wait_censored_days",
        "peak_week_incidents",
        "worst_30d_incidents",
    ]
    assert [KPI_COLUMNS[n] for n in names[at + 1 : at + 5]] == [
        "int64",
        "float64",
        "int64",
        "int64",
    ]


def test_without_censored_waits_the_censored_mean_is_the_mean():
    # waits 0, 0, 1.5, 3.25 ended before T; an undetected incident neither waits nor counts
    table = incidents(
        [0.0, 2.0, 4.0, 10.0, 11.0],
        [0.0, 2.0, 5.5, 13.25, math.nan],
        [True, True, True, True, False],
    )
    kpis = incident_kpis(table, horizon=20.0)
    assert kpis["waiting_at_horizon"] == 0
    assert kpis["mean_wait_days"] == pytest.approx(4.75 / 4, rel=1e-15)
    assert kpis["mean_wait_censored_days"] == pytest.approx(kpis["mean_wait_days"], rel=1e-12)


@settings(max_examples=examples(30))
@given(
    st.lists(
        st.one_of(st.just(0.0), st.floats(0.0, 500.0, allow_subnormal=False)),
        min_size=1,
        max_size=60,
    )
)
def test_without_censoring_kaplan_meier_gives_back_the_plain_mean(waits):
    """Without censored waits restricted_mean_wait skips scipy and returns the plain mean;
    scipy's Kaplan–Meier, integrated the same way, gives the same number."""
    from scipy.stats import CensoredData, ecdf

    waits = np.array(waits)
    survival = ecdf(CensoredData(uncensored=waits)).sf
    steps = np.unique(np.concatenate([[0.0], waits]))
    kaplan_meier = float(np.sum(survival.evaluate(steps[:-1]) * np.diff(steps)))
    mean = restricted_mean_wait(waits, np.array([]))
    assert mean == pytest.approx(kaplan_meier, rel=1e-12, abs=1e-12)


def test_a_wait_censored_at_the_horizon_by_hand():
    # waits 1 and 2 ended; the third incident, at day 7, still waits at T = 10 (censored at 3):
    # S = 1 on [0, 1), 2/3 on [1, 2), 1/3 on [2, 3) -> 1 + 2/3 + 1/3 = 2
    table = incidents([0.0, 0.0, 7.0], [1.0, 2.0, math.nan])
    kpis = incident_kpis(table, horizon=10.0)
    assert kpis["waiting_at_horizon"] == 1
    assert kpis["mean_wait_days"] == 1.5
    assert kpis["mean_wait_censored_days"] == pytest.approx(2.0, rel=1e-12)


def test_a_censored_wait_shorter_than_an_observed_one_by_hand():
    # waits 1 and 4 ended, one censored at 2 (day 8, T = 10): S = 1 on [0, 1); at 1, one of
    # three at risk ends: 2/3 on [1, 4); at 4 the last at risk ends: 0 -> 1 + 3 · 2/3 = 3
    table = incidents([0.0, 1.0, 8.0], [1.0, 5.0, math.nan])
    kpis = incident_kpis(table, horizon=10.0)
    assert kpis["waiting_at_horizon"] == 1
    assert kpis["mean_wait_days"] == 2.5
    assert kpis["mean_wait_censored_days"] == pytest.approx(3.0, rel=1e-12)


def test_when_every_wait_is_censored_the_longest_is_the_lower_bound():
    # nobody was served: S = 1 up to the longest censored wait, 5 days (mean_wait_days: NaN)
    table = incidents([5.0, 7.0], [math.nan, math.nan])
    kpis = incident_kpis(table, horizon=10.0)
    assert kpis["waiting_at_horizon"] == 2
    assert math.isnan(kpis["mean_wait_days"])
    assert kpis["mean_wait_censored_days"] == 5.0


def test_no_detected_incident_gives_nan_waits_and_empty_runs_zero_peaks():
    undetected = incident_kpis(incidents([1.0, 2.0], [math.nan] * 2, [False, False]), 10.0)
    assert undetected["waiting_at_horizon"] == 0
    assert math.isnan(undetected["mean_wait_days"])
    assert math.isnan(undetected["mean_wait_censored_days"])
    assert undetected["peak_week_incidents"] == 2
    empty = incident_kpis(incidents([], []), 10.0)
    assert empty["incidents"] == 0 and empty["waiting_at_horizon"] == 0
    assert math.isnan(empty["mean_wait_censored_days"])
    assert empty["peak_week_incidents"] == 0
    assert empty["worst_30d_incidents"] == 0


def test_peak_windows_by_hand():
    # [0, 7) holds 0, 1 and 6.9 (7.0 is the next window's); [1, 8) holds 1, 6.9 and 7.0
    times = [20.0, 7.0, 0.0, 6.9, 1.0]  # any order: incidents of sectors interleave
    kpis = incident_kpis(incidents(times, [math.nan] * 5, [False] * 5), 30.0)
    assert kpis["peak_week_incidents"] == 3
    assert kpis["worst_30d_incidents"] == 5  # [0, 30) holds them all
    # [10, 40) holds 4, [31, 61) holds 31, 35, 39.9, 40 and 45: five; no week holds four
    times = [0.0, 10.0, 31.0, 35.0, 39.9, 40.0, 45.0]
    assert peak_window_count(np.array(times), 30.0) == 5
    assert peak_window_count(np.array(times), 7.0) == 3
    assert peak_window_count(np.array([3.0, 3.0, 3.0, 10.0]), 7.0) == 3  # ties all count


@settings(max_examples=examples(30))
@given(
    st.lists(st.floats(0.0, 120.0, allow_subnormal=False), max_size=80),
    st.sampled_from([7.0, 30.0]),
)
def test_peak_windows_match_brute_force(times, width):
    times = np.array(times)
    assert peak_window_count(times, width) == brute_peak(times, width)


@settings(max_examples=examples(30))
@given(
    st.lists(st.floats(0.0, 50.0, allow_subnormal=False), min_size=0, max_size=40),
    st.lists(st.floats(0.0, 50.0, allow_subnormal=False), min_size=0, max_size=40),
)
def test_censored_mean_matches_a_kaplan_meier_by_hand(observed, censored):
    observed, censored = np.array(observed), np.array(censored)
    got = restricted_mean_wait(observed, censored)
    if not len(observed) and not len(censored):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(km_restricted_mean(observed, censored), rel=1e-9, abs=1e-12)
    if len(observed):  # censored waits only ever lengthen the mean of the ended ones
        assert got >= observed.mean() * (1 - 1e-12)


def test_an_overloaded_queue_counts_its_waiting_incidents():
    # M/M/1 at four arrivals a day for a day's handling (ρ = 4) over 60 days: the queue grows
    # without bound, so most detected incidents still wait at T and the served ones are the
    # earliest, shortest waits
    scenario = load_scenario(
        VALIDATION / "mmk.yaml",
        [
            "clock.end_date=2025-03-02",
            "border.sectors.sector_a.response_units=1",
            "threats.processes.arrivals_a.rate_per_day=4",
        ],
    )
    tables = simulate(scenario, 0, 7)
    kpis, table = tables["kpis"].iloc[0], tables["incidents"]
    waiting = table["detected"] & table["response_start_day"].isna()
    assert kpis["waiting_at_horizon"] == waiting.sum() > 0
    assert kpis["waiting_at_horizon"] > kpis["incidents"] / 2
    assert kpis["mean_wait_censored_days"] > kpis["mean_wait_days"]
    served = table["wait_days"].dropna().to_numpy()
    censored = scenario.horizon_days - table.loc[waiting, "day"].to_numpy()
    assert kpis["mean_wait_days"] == pytest.approx(served.mean(), rel=1e-12)
    oracle = km_restricted_mean(served, censored)
    assert kpis["mean_wait_censored_days"] == pytest.approx(oracle, rel=1e-9)
    days = table["day"].to_numpy()
    assert kpis["peak_week_incidents"] == brute_peak(days, 7.0)
    assert kpis["worst_30d_incidents"] == brute_peak(days, 30.0)
    assert kpis["peak_week_incidents"] <= kpis["worst_30d_incidents"] <= kpis["incidents"]
    assert {c: str(tables["kpis"][c].dtype) for c in NEW} == {c: KPI_COLUMNS[c] for c in NEW}


def test_a_stable_queue_has_next_to_nothing_censored():
    # the shipped M/M/3 at utilisation 0.6: few wait at T, the two means nearly agree
    scenario = load_scenario(VALIDATION / "mmk.yaml", ["clock.end_date=2025-07-01"])
    kpis = simulate(scenario, 0, 7)["kpis"].iloc[0]
    assert kpis["waiting_at_horizon"] <= 5
    assert kpis["mean_wait_censored_days"] >= kpis["mean_wait_days"] - 1e-12
    assert kpis["mean_wait_censored_days"] == pytest.approx(kpis["mean_wait_days"], abs=0.1)
    if kpis["waiting_at_horizon"] == 0:  # nothing censored: the same mean, to rounding
        assert kpis["mean_wait_censored_days"] == pytest.approx(kpis["mean_wait_days"], rel=1e-12)
