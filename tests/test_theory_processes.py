"""The incident processes against their theory (docs/sources.md [P16], [P17]), run from the
shipped files in ``scenarios/validation/``.

Every tolerance is a multiple of a standard error estimated from the runs themselves (or
the exact one under the theory), never a number picked to pass: a mean is accepted within
Z standard errors, a goodness-of-fit test when its p-value is above P_MIN. Seeds are fixed,
so each test is deterministic; with the Z and P_MIN below a correct model would fail one of
these checks by chance well under once in a thousand reruns with other seeds.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

ROOT = Path(__file__).resolve().parent.parent

Z = 4.0  # accepted distance from theory, in standard errors
P_MIN = 0.001  # smallest accepted p-value of a goodness-of-fit test


def within(estimate: float, theory: float, se: float) -> bool:
    return abs(estimate - theory) < Z * se


def window_counts(days: np.ndarray, horizon: float, width: float, start: float = 0.0):
    """Counts of events in consecutive windows of ``width`` (only whole windows)."""
    edges = np.arange(start, horizon - width + 1e-9, width)
    edges = np.append(edges, edges[-1] + width)
    return np.histogram(days, bins=edges)[0]


def ratio_se(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Σy/Σx over batches and its standard error (delta method over the batches)."""
    ratio = y.sum() / x.sum()
    k = len(x)
    residual = y - ratio * x
    return ratio, math.sqrt((residual**2).sum() / (k * (k - 1))) / x.mean()


def per_replication(incidents: pd.DataFrame):
    for _, group in incidents.groupby("replication", sort=True):
        yield group.sort_values("day")


# --- homogeneous Poisson -----------------------------------------------------------------


def test_poisson_counts_have_mean_and_variance_lambda_t(validation_run):
    scenario, tables = validation_run("poisson", 8, 11)
    rate = scenario.threats.processes[0].rate_per_day
    horizon, width = scenario.horizon_days, 10.0
    counts = np.concatenate(
        [
            window_counts(g["day"].to_numpy(), horizon, width)
            for g in per_replication(tables["incidents"])
        ]
    )
    k, expected = len(counts), rate * width
    mean, var = counts.mean(), counts.var(ddof=1)
    assert within(mean, expected, counts.std(ddof=1) / math.sqrt(k)), (mean, expected)
    # Dispersion index var/mean; for Poisson(m) counts Var(s²) ≈ (m + 2m²)/k.
    dispersion = var / mean
    assert within(dispersion, 1.0, math.sqrt((1.0 / expected + 2.0) / k)), dispersion
    # Whole-horizon counts, one per replication: Poisson(λT).
    totals = tables["incidents"].groupby("replication").size().to_numpy()
    lam_t = rate * horizon
    assert within(totals.mean(), lam_t, math.sqrt(lam_t / len(totals))), (totals, lam_t)


def test_poisson_gaps_are_exponential(validation_run):
    scenario, tables = validation_run("poisson", 8, 11)
    rate = scenario.threats.processes[0].rate_per_day
    gaps = np.concatenate(
        [np.diff(g["day"].to_numpy(), prepend=0.0) for g in per_replication(tables["incidents"])]
    )
    assert stats.kstest(gaps * rate, "expon").pvalue > P_MIN


# --- time-varying Poisson ----------------------------------------------------------------


class NHPPRate:
    """λ(t) written out from the scenario's parameters (the theory reference, independent of
    the model's code), with its breakpoints for integration."""

    def __init__(self, scenario) -> None:
        spec = scenario.threats.processes[0]
        start = scenario.clock.start_date
        self.spec = spec
        self.horizon = scenario.horizon_days
        self.peak = float((spec.seasonal_peak_date - start).days)
        self.step_days = [float((s.date - start).days) for s in spec.steps]
        self.step_values = [s.value for s in spec.steps]
        self.breaks = sorted(d for d in self.step_days if 0.0 < d < self.horizon)

    def __call__(self, t: float) -> float:
        s = self.spec
        trend = max(0.0, 1.0 + s.trend_per_year * t / 365.25)
        season = 1.0 + s.seasonal_amplitude * math.cos(
            2.0 * math.pi * (t - self.peak) / s.seasonal_period_days
        )
        step = self.step_values[0]
        for day, value in zip(self.step_days, self.step_values, strict=True):
            if t >= day:
                step = value
        return s.rate_per_day * trend * season * step

    def integral(self, a: float, b: float) -> float:
        points = [d for d in self.breaks if a < d < b]
        return integrate.quad(self, a, b, points=points or None, limit=200)[0]


def test_nhpp_mean_count_is_integral_of_rate(validation_run):
    scenario, tables = validation_run("nhpp", 20, 12)
    rate = NHPPRate(scenario)
    horizon = scenario.horizon_days
    big_lambda = rate.integral(0.0, horizon)
    totals = tables["incidents"].groupby("replication").size().reindex(range(20), fill_value=0)
    # Under the theory each total is Poisson(Λ(T)), so the SE of the mean is √(Λ/R).
    assert within(totals.mean(), big_lambda, math.sqrt(big_lambda / len(totals))), (
        totals.mean(),
        big_lambda,
    )
    # The shape of λ(t): pooled counts in 30-day windows against R·∫window λ (chi-square).
    width = 30.0
    edges = np.arange(0.0, horizon - width + 1e-9, width)
    edges = np.append(edges, edges[-1] + width)
    observed = np.histogram(tables["incidents"]["day"], bins=edges)[0]
    expected = np.array([len(totals) * rate.integral(a, b) for a, b in itertools.pairwise(edges)])
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, len(expected)) > P_MIN, chi2


def test_nhpp_rescaled_gaps_are_unit_exponential(validation_run):
    scenario, tables = validation_run("nhpp", 20, 12)
    rate = NHPPRate(scenario)
    gaps = []
    for group in list(per_replication(tables["incidents"]))[:4]:
        days = np.concatenate([[0.0], group["day"].to_numpy()])
        gaps.extend(rate.integral(a, b) for a, b in itertools.pairwise(days))
    assert len(gaps) > 5000
    assert stats.kstest(gaps, "expon").pvalue > P_MIN


# --- Hawkes ------------------------------------------------------------------------------

HAWKES_REPS, HAWKES_SEED = 12, 13
BURN_IN = 100.0  # days; the rate relaxes to stationarity in 1/(β(1−n)) = 4 days
BATCH = 100.0  # days per batch: much longer than the 4-day correlation time
CLUSTER_MARGIN = 200.0  # clusters rooted this close to the horizon may be cut off


def hawkes_params(scenario):
    spec = scenario.threats.processes[0]
    return spec.background_rate_per_day, spec.branching_ratio, spec.decay_per_day


def hawkes_batches(scenario, incidents: pd.DataFrame):
    """Per batch of BATCH days after the burn-in: (events, triggered events)."""
    horizon = scenario.horizon_days
    counts, triggered = [], []
    for group in per_replication(incidents):
        days = group["day"].to_numpy()
        counts.append(window_counts(days, horizon, BATCH, BURN_IN))
        child = days[group["parent"].to_numpy() >= 0]
        triggered.append(window_counts(child, horizon, BATCH, BURN_IN))
    return np.concatenate(counts).astype(float), np.concatenate(triggered).astype(float)


def test_hawkes_stationary_rate_fraction_triggered_and_fano(validation_run):
    scenario, tables = validation_run("hawkes", HAWKES_REPS, HAWKES_SEED)
    mu, n, beta = hawkes_params(scenario)
    counts, triggered = hawkes_batches(scenario, tables["incidents"])
    k = len(counts)
    assert k >= 300

    rate = counts.mean() / BATCH
    assert within(rate, mu / (1.0 - n), counts.std(ddof=1) / math.sqrt(k) / BATCH), rate

    fraction, se = ratio_se(triggered, counts)
    assert within(fraction, n, se), fraction

    # Fano factor of counts in windows of length w: κ² − (κ² − 1)(1 − e^{−γw})/(γw),
    # κ = 1/(1 − n), γ = β(1 − n); it tends to 1/(1 − n)² for long windows.
    kappa2, gamma = 1.0 / (1.0 - n) ** 2, beta * (1.0 - n)
    fano_theory = kappa2 - (kappa2 - 1.0) * (1.0 - math.exp(-gamma * BATCH)) / (gamma * BATCH)
    mean, var = counts.mean(), counts.var(ddof=1)
    m4 = ((counts - mean) ** 4).mean()
    se_fano = math.sqrt((m4 - var**2) / k) / mean
    assert within(var / mean, fano_theory, se_fano), (var / mean, fano_theory)


def borel_pmf(k: int, n: float) -> float:
    return math.exp(-n * k + (k - 1) * math.log(n * k) - math.lgamma(k + 1))


def test_hawkes_cluster_sizes_are_borel(validation_run):
    scenario, tables = validation_run("hawkes", HAWKES_REPS, HAWKES_SEED)
    _, n, _ = hawkes_params(scenario)
    incidents = tables["incidents"]
    roots = incidents[incidents["parent"] < 0]
    inside = roots[roots["day"] < scenario.horizon_days - CLUSTER_MARGIN]
    sizes = incidents.groupby(["replication", "cluster"]).size()
    sizes = sizes.loc[list(zip(inside["replication"], inside["incident"], strict=True))].to_numpy()
    k = len(sizes)
    assert k > 10_000

    # Borel: mean 1/(1 − n), variance n/(1 − n)³; clusters are independent.
    assert within(sizes.mean(), 1.0 / (1.0 - n), sizes.std(ddof=1) / math.sqrt(k)), sizes.mean()
    var_se = math.sqrt((((sizes - sizes.mean()) ** 4).mean() - sizes.var() ** 2) / k)
    assert within(sizes.var(ddof=1), n / (1.0 - n) ** 3, var_se), sizes.var(ddof=1)

    # The pmf for sizes 1..5 and the tail ≥ 6: chi-square with 5 degrees of freedom.
    pmf = np.array([borel_pmf(j, n) for j in range(1, 6)])
    expected = k * np.append(pmf, 1.0 - pmf.sum())
    observed = np.array([(sizes == j).sum() for j in range(1, 6)] + [(sizes >= 6).sum()])
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, len(expected) - 1) > P_MIN, (observed, expected)


def test_hawkes_parents_precede_children_within_their_cluster(validation_run):
    _, tables = validation_run("hawkes", HAWKES_REPS, HAWKES_SEED)
    incidents = tables["incidents"]
    for _, group in incidents.groupby("replication"):
        group = group.set_index("incident")
        child = group[group["parent"] >= 0]
        parent = group.loc[child["parent"]]
        assert (parent["day"].to_numpy() < child["day"].to_numpy()).all()
        assert (parent["cluster"].to_numpy() == child["cluster"].to_numpy()).all()
        roots = group[group["parent"] < 0]
        assert (roots.index == roots["cluster"]).all()


def test_hawkes_compensator_gaps_are_unit_exponential(validation_run):
    scenario, tables = validation_run("hawkes", HAWKES_REPS, HAWKES_SEED)
    mu, n, beta = hawkes_params(scenario)
    alpha = n * beta
    gaps = []
    for group in per_replication(tables["incidents"]):
        last, excitation = 0.0, 0.0  # excitation just after the last event
        for t in group["day"].to_numpy():
            dt = t - last
            decay = math.exp(-beta * dt)
            gaps.append(mu * dt + excitation * (1.0 - decay) / beta)
            excitation = excitation * decay + alpha
            last = t
    assert stats.kstest(gaps, "expon").pvalue > P_MIN


def test_thinning_refuses_an_intensity_above_its_bound(monkeypatch):
    # Thinning is exact only if λ(t) never exceeds the bound; a wrong bound must not pass
    # silently as a wrong rate.
    from sim.config.load import load_scenario
    from sim.model.modulation import RateModulation
    from sim.model.world import simulate

    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    monkeypatch.setattr(RateModulation, "upper_bound", lambda self, sector, place=None: 0.5)
    with pytest.raises(RuntimeError, match="above its thinning bound"):
        simulate(scenario, 0, 1)
