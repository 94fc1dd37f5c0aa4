"""Maximum-likelihood fits of one series of event times on [0, T]: homogeneous Poisson,
piecewise-constant Poisson (NHPP) and Hawkes with an exponential kernel (optionally with a
piecewise background), with 95% profile-likelihood intervals and AIC.

The Hawkes log-likelihood with background μ(t), branching ratio n and decay β is

    ℓ = Σ_i log(μ(t_i) + n β A_i) − ∫₀ᵀ μ − n Σ_i (1 − e^{−β (T − t_i)}),
    A_i = Σ_{j<i} e^{−β (t_i − t_j)},

and A_i is computed for all i at once in logarithms, log A_i = logsumexp_{j<i}(β t_j) − β t_i
(``numpy.logaddexp.accumulate``), so one evaluation is O(n) vectorised and never overflows.
scipy's L-BFGS-B maximises it within bounds (n < 1) from several starts; a 95% interval of
each parameter is where the profile log-likelihood is within χ²₁(0.95)/2 = 1.92 of the
maximum (scipy's ``brentq`` on the profile). No maintained library offers these
likelihoods with a piecewise background and bounds; scipy does the optimisation, root
finding and distributions.

The MLE of n is biased low, and of μ high, over a few hundred events (docs/calibration.md
§5). ``hawkes_fit`` with ``bias_replicates`` removes that first-order bias by a parametric
bootstrap (Efron & Tibshirani 1993, ch. 10; docs/sources.md [P30]): B series are drawn from
the fitted model and refitted; n_bc = 2 n̂ − mean(n̂*), β_bc = β̂² / geomean(β̂*) (β's
estimates are skewed, so on the log scale); the backgrounds are then the MLE given
(n_bc, β_bc). The intervals stay the profile intervals of the likelihood; the AIC is the
MLE's.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from sim.calibration.synthetic import hawkes_series

PROFILE_DROP = stats.chi2.ppf(0.95, 1) / 2.0  # 1.92: the 95% profile-likelihood interval
MAX_BRANCHING = 0.99
ON_BOUND = 1e-3  # relative distance to a bound below which a fit "sits on" it
BIAS_REPLICATES = 100  # bootstrap series per Hawkes fit for its bias correction


@dataclass(frozen=True)
class Series:
    """Event times in days from the window's start, the window's length, and the background's
    breakpoints (days; none for a constant background)."""

    times: np.ndarray
    horizon: float
    breaks: tuple[float, ...] = ()

    @property
    def pieces(self) -> list[tuple[float, float]]:
        edges = [0.0, *self.breaks, self.horizon]
        return list(itertools.pairwise(edges))

    def counts(self) -> np.ndarray:
        edges = [0.0, *self.breaks, self.horizon]
        return np.histogram(self.times, bins=edges)[0]

    def piece_of(self, times: np.ndarray) -> np.ndarray:
        return np.searchsorted(np.asarray(self.breaks), times, side="right")


@dataclass
class Fit:
    """One model fitted to one series: estimates (bias-corrected where ``mle`` differs),
    the maximum-likelihood estimates, 95% intervals, log-likelihood (at the MLE) and AIC."""

    model: str
    estimates: dict[str, float]
    loglik: float
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    on_bound: list[str] = field(default_factory=list)
    mle: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.mle:
            self.mle = dict(self.estimates)

    @property
    def parameters(self) -> int:
        return len(self.estimates)

    @property
    def aic(self) -> float:
        return 2.0 * self.parameters - 2.0 * self.loglik


def _background_names(series: Series) -> list[str]:
    if not series.breaks:
        return ["mu"]
    return [f"mu_{k + 1}" for k in range(len(series.breaks) + 1)]


def poisson_fit(series: Series) -> Fit:
    """Constant rate (or one rate per piece): the MLE is each piece's count over its length,
    and the interval the exact Poisson (Garwood) one for the count."""
    counts = series.counts()
    estimates, intervals, loglik = {}, {}, 0.0
    for name, count, (start, end) in zip(
        _background_names(series), counts, series.pieces, strict=True
    ):
        length = end - start
        rate = count / length
        estimates[name] = float(rate)
        low = stats.chi2.ppf(0.025, 2 * count) / 2 / length if count else 0.0
        intervals[name] = (low, stats.chi2.ppf(0.975, 2 * count + 2) / 2 / length)
        loglik += count * math.log(rate) - rate * length if count else 0.0
    model = "nhpp" if series.breaks else "poisson"
    return Fit(model, estimates, loglik, intervals)


def _sums(t: np.ndarray, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """A_i = Σ_{j<i} e^{−β(t_i − t_j)} and D_i = Σ_{j<i} (t_i − t_j) e^{−β(t_i − t_j)}, in
    logarithms (D_i = t_i A_i − e^{−β t_i} Σ_{j<i} t_j e^{β t_j})."""
    a, d = np.zeros(len(t)), np.zeros(len(t))
    if len(t) > 1:
        x = beta * t
        a[1:] = np.exp(np.logaddexp.accumulate(x)[:-1] - x[1:])
        with np.errstate(divide="ignore"):
            weighted = np.logaddexp.accumulate(x + np.log(t))[:-1] - x[1:]
        d[1:] = np.maximum(t[1:] * a[1:] - np.exp(weighted), 0.0)
    return a, d


def hawkes_loglik(
    series: Series, background: np.ndarray, n: float, beta: float
) -> tuple[float, np.ndarray]:
    """ℓ(μ, n, β) of the series (see the module docstring) and its gradient in (μ…, n, β);
    (−inf, 0) where the intensity is not positive at an event."""
    t, pieces = series.times, series.pieces
    lengths = np.array([end - start for start, end in pieces])
    piece = series.piece_of(t)
    compensator = float(background @ lengths)
    gradient = np.zeros(len(background) + 2)
    if not len(t):
        gradient[: len(background)] = -lengths
        return -compensator, gradient
    a, d = _sums(t, beta)
    intensity = background[piece] + n * beta * a
    if np.any(intensity <= 0.0):
        return -math.inf, gradient
    left = series.horizon - t
    kept = -np.expm1(-beta * left)
    inverse = 1.0 / intensity
    gradient[: len(background)] = np.bincount(piece, inverse, len(background)) - lengths
    gradient[-2] = beta * (a @ inverse) - kept.sum()
    gradient[-1] = n * ((a - beta * d) @ inverse) - n * (left @ np.exp(-beta * left))
    return float(np.log(intensity).sum() - compensator - n * kept.sum()), gradient


@dataclass(frozen=True)
class HawkesSpace:
    """The parameter vector (backgrounds…, n, β), its bounds and a start, for one series."""

    series: Series

    @property
    def names(self) -> list[str]:
        return [*_background_names(self.series), "n", "beta"]

    def bounds(self) -> list[tuple[float, float]]:
        horizon = self.series.horizon
        rate = max(len(self.series.times), 1) / horizon
        backgrounds = [(1e-6 * rate, 10.0 * rate + 1.0 / horizon)] * (len(self.names) - 2)
        # β from one excitation lifetime per horizon to one of a tenth of a day
        return [*backgrounds, (0.0, MAX_BRANCHING), (1.0 / horizon, 10.0)]

    def loglik(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        return hawkes_loglik(self.series, np.asarray(x[:-2]), float(x[-2]), float(x[-1]))


def _maximise(space: HawkesSpace, starts: list[np.ndarray], fixed: dict[int, float]) -> tuple:
    """The best of L-BFGS-B runs from ``starts`` with the coordinates in ``fixed`` held."""
    free = [i for i in range(len(space.names)) if i not in fixed]
    bounds = [space.bounds()[i] for i in free]

    def full(y: np.ndarray) -> np.ndarray:
        x = np.empty(len(space.names))
        x[free] = y
        for i, value in fixed.items():
            x[i] = value
        return x

    def objective(y: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = space.loglik(full(y))
        if not math.isfinite(value):
            return 1e300, np.zeros(len(free))
        return -value, -gradient[free]

    best = None
    for start in starts:
        y0 = np.clip(start[free], [lo for lo, _ in bounds], [hi for _, hi in bounds])
        found = optimize.minimize(objective, y0, jac=True, method="L-BFGS-B", bounds=bounds)
        if best is None or found.fun < best.fun:
            best = found
    return full(best.x), -best.fun


def _starts(space: HawkesSpace, count: int, seed: int) -> list[np.ndarray]:
    """Several starting points: the Poisson fit with n 0.2 and β of a week, then random."""
    rng = np.random.default_rng(seed)
    poisson = poisson_fit(space.series).estimates
    mean = np.array([max(v, 1e-3) for v in poisson.values()])
    starts = [np.array([*(0.8 * mean), 0.2, 1.0 / 7.0])]
    for _ in range(count - 1):
        n = rng.uniform(0.05, 0.8)
        starts.append(np.array([*(mean * (1 - n)), n, math.exp(rng.uniform(-4.0, 0.5))]))
    return starts


def hawkes_fit(
    series: Series,
    starts: int = 4,
    seed: int = 0,
    intervals: bool = True,
    bias_replicates: int = 0,
) -> Fit:
    """The Hawkes MLE, its 95% profile intervals (``intervals``) and the bounds it sits on;
    with ``bias_replicates``, estimates bias-corrected by that many bootstrap series (not
    when n or β sits on a bound, where the bootstrap's law is degenerate)."""
    space = HawkesSpace(series)
    x, loglik = _maximise(space, _starts(space, starts, seed), {})
    names = space.names
    fit = Fit(
        "hawkes_piecewise" if series.breaks else "hawkes",
        dict(zip(names, map(float, x), strict=True)),
        loglik,
    )
    for (low, high), name, value in zip(space.bounds(), names, x, strict=True):
        scale = max(high - low, 1e-12)
        if (value - low) / scale < ON_BOUND or (high - value) / scale < ON_BOUND:
            fit.on_bound.append(name)
    if intervals:
        fit.intervals = {
            name: _profile_interval(space, x, loglik, i) for i, name in enumerate(names)
        }
    if bias_replicates and not {"n", "beta"} & set(fit.on_bound):
        corrected = _bias_corrected(space, x, bias_replicates, starts, seed)
        fit.estimates = dict(zip(names, map(float, corrected), strict=True))
    return fit


def _bias_corrected(
    space: HawkesSpace, x: np.ndarray, replicates: int, starts: int, seed: int
) -> np.ndarray:
    """(backgrounds…, n, β) with the bootstrap estimate of the MLE's bias removed (module
    docstring); each bootstrap series is fitted as the data was, from ``starts`` starts."""
    series, (n, beta) = space.series, x[-2:]
    rng = np.random.default_rng([seed, replicates])
    warm_up = min(20.0 / (beta * (1.0 - n)), 10.0 * series.horizon)
    draws = np.empty((replicates, 2))
    for k in range(replicates):
        times = hawkes_series(x[:-2], n, beta, series.horizon, rng, warm_up, series.breaks)
        boot = HawkesSpace(Series(times, series.horizon, series.breaks))
        draws[k] = _maximise(boot, _starts(boot, starts, seed + 1 + k), {})[0][-2:]
    (n_low, n_high), (beta_low, beta_high) = space.bounds()[-2:]
    n_bc = float(np.clip(2.0 * n - draws[:, 0].mean(), n_low, n_high))
    beta_bc = float(np.clip(beta**2 / np.exp(np.log(draws[:, 1]).mean()), beta_low, beta_high))
    start = x.copy()
    start[-2:] = n_bc, beta_bc
    last = len(x) - 1
    return _maximise(space, [start], {last - 1: n_bc, last: beta_bc})[0]


def _profile_interval(space: HawkesSpace, best: np.ndarray, top: float, i: int) -> tuple:
    """Where the profile log-likelihood of coordinate ``i`` falls 1.92 below the maximum,
    each side (the bound itself when it never does)."""
    low, high = space.bounds()[i]

    def gap(value: float) -> float:
        start = best.copy()
        start[i] = value
        _, profile = _maximise(space, [start], {i: value})
        return profile - (top - PROFILE_DROP)

    ends = []
    for edge in (low, high):
        if gap(edge) >= 0.0:
            ends.append(edge)
            continue
        ends.append(
            optimize.brentq(gap, min(edge, best[i]), max(edge, best[i]), xtol=1e-6 * (high - low))
        )
    return ends[0], ends[1]


def _background_integral(fit: Fit, series: Series, times: np.ndarray) -> np.ndarray:
    """∫₀ᵗ μ at each of ``times``: the time each piece of the background covers by then."""
    background = np.array([fit.estimates.get(name, 0.0) for name in _background_names(series)])
    edges = np.array([0.0, *series.breaks, series.horizon])
    covered = np.clip(times[:, None] - edges[None, :-1], 0.0, np.diff(edges)[None, :])
    return covered @ background


def compensator_at_events(fit: Fit, series: Series) -> np.ndarray:
    """Λ(t_i) = ∫₀^{t_i} λ at each event time: increments are Exp(1) if the model is right
    (the time-rescaling theorem). O(events), from the sums the likelihood uses."""
    t = series.times
    base = _background_integral(fit, series, t)
    n, beta = fit.estimates.get("n", 0.0), fit.estimates.get("beta", 1.0)
    if not n or not len(t):
        return base
    return base + n * (np.arange(len(t)) - _sums(t, beta)[0])


def compensator_at(fit: Fit, series: Series, times: np.ndarray) -> np.ndarray:
    """Λ(t) = ∫₀ᵗ λ at any ``times`` (the expected number of events by then); O(times ×
    events), for figures."""
    times = np.asarray(times, float)
    base = _background_integral(fit, series, times)
    n, beta = fit.estimates.get("n", 0.0), fit.estimates.get("beta", 1.0)
    if not n:
        return base
    elapsed = times[:, None] - series.times[None, :]
    return base + n * np.where(elapsed > 0, -np.expm1(-beta * np.maximum(elapsed, 0.0)), 0.0).sum(1)
