"""The border response against the M/M/k queue (Erlang C), run from the shipped
``scenarios/validation/mmk.yaml``: Poisson arrivals, every incident detected, exponential
handling, k response units.

Waits of successive incidents are correlated, so standard errors come from batch means:
each replication is cut, after a burn-in, into batches of BATCH days, much longer than the
queue's relaxation time (about 1/(kμ(1 − √ρ)²) ≈ 7 days here), and batches are treated as
independent. A mean is accepted within Z standard errors of the closed form.
"""

from __future__ import annotations

import math

import numpy as np

Z = 4.0  # accepted distance from theory, in standard errors
REPS, SEED = 12, 21
BURN_IN = 50.0  # days discarded at the start (the queue starts empty)
BATCH = 200.0  # days per batch
TAIL = 20.0  # arrivals this close to the horizon may not have started service


def erlang_c(k: int, a: float) -> float:
    """Probability that an arrival waits in M/M/k with offered load a = λ/μ < k."""
    term, head = 1.0, 0.0
    for i in range(k):
        head += term  # a^i / i!
        term *= a / (i + 1)
    tail = term * k / (k - a)  # a^k / k! · k/(k − a)
    return tail / (head + tail)


def mmk_theory(scenario) -> tuple[int, float, float]:
    """(k, λ, μ) of the validation scenario."""
    sector = scenario.border.sectors[0]
    handling = sector.handling_days or scenario.border.response.handling_days
    assert handling.distribution == "exponential"
    assert sector.surveillance == 1.0
    (process,) = scenario.threats.processes
    return sector.response_units, process.rate_per_day, 1.0 / handling.mean


def ratio_se(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Σy/Σx over batches and its standard error (delta method over the batches)."""
    ratio = y.sum() / x.sum()
    k = len(x)
    residual = y - ratio * x
    return ratio, math.sqrt((residual**2).sum() / (k * (k - 1))) / x.mean()


def batch_edges(horizon: float) -> np.ndarray:
    edges = np.arange(BURN_IN, horizon - TAIL - BATCH + 1e-9, BATCH)
    return np.append(edges, edges[-1] + BATCH)


def test_erlang_c_reference_values():
    # M/M/1: C = ρ; M/M/2 with a = 1: C = 1/3 (textbook values).
    assert math.isclose(erlang_c(1, 0.7), 0.7)
    assert math.isclose(erlang_c(2, 1.0), 1.0 / 3.0)


def test_mmk_mean_wait_and_probability_of_waiting(validation_run):
    scenario, tables = validation_run("mmk", REPS, SEED)
    k, lam, mu = mmk_theory(scenario)
    c = erlang_c(k, lam / mu)
    wq = c / (k * mu - lam)

    incidents = tables["incidents"]
    assert incidents["detected"].all()
    served = incidents[incidents["response_start_day"].notna()]
    assert (served["wait_days"] >= 0.0).all()
    edges = batch_edges(scenario.horizon_days)
    n, total, waited = [], [], []
    for _, group in served.groupby("replication"):
        days = group["day"].to_numpy()
        wait = group["wait_days"].to_numpy()
        n.append(np.histogram(days, bins=edges)[0])
        total.append(np.histogram(days, bins=edges, weights=wait)[0])
        waited.append(np.histogram(days, bins=edges, weights=(wait > 0.0).astype(float))[0])
    n, total, waited = (np.concatenate(v).astype(float) for v in (n, total, waited))
    assert len(n) >= 90

    mean_wait, se = ratio_se(total, n)
    assert abs(mean_wait - wq) < Z * se, (mean_wait, wq, se)
    p_wait, se = ratio_se(waited, n)
    assert abs(p_wait - c) < Z * se, (p_wait, c, se)


def test_mmk_utilisation(validation_run):
    scenario, tables = validation_run("mmk", REPS, SEED)
    k, lam, mu = mmk_theory(scenario)
    daily = tables["daily"]
    edges = batch_edges(scenario.horizon_days)
    means = []
    for _, group in daily.groupby("replication"):
        # row at ``day`` covers the interval that ends at ``day``
        start = group["day"].to_numpy() - scenario.clock.record_interval_days
        sums = np.histogram(start, bins=edges, weights=group["utilisation"].to_numpy())[0]
        means.append(sums / np.histogram(start, bins=edges)[0])
    means = np.concatenate(means)
    rho = lam / (k * mu)
    se = means.std(ddof=1) / math.sqrt(len(means))
    assert abs(means.mean() - rho) < Z * se, (means.mean(), rho, se)
