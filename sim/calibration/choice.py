"""Fit every candidate model to one process's events, choose by AIC, score a later window.

Candidates: homogeneous Poisson and Hawkes; with breakpoints also their piecewise forms
(NHPP, Hawkes with a piecewise background). A process with fewer than ``MIN_EVENTS``
events is fitted as Poisson only (a Hawkes fit would sit on its bounds). The hold-out
log-score of each model is its log-likelihood of the events after the split, given the
history before it, per event, with the parameters fitted before the split: ℓ[0, T] − ℓ[0, h]
(the likelihood of a point process factorises over time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.calibration.fitting import (
    BIAS_REPLICATES,
    Fit,
    Series,
    compensator_at_events,
    hawkes_fit,
    hawkes_loglik,
    poisson_fit,
)

MIN_EVENTS = 10
MAX_CHOSEN_BREAKS = 3
BREAK_PENALTY = 4.0  # AIC: a break adds a rate and a date


@dataclass
class Candidate:
    """One model of one process: the fit on the whole window, and its hold-out score."""

    fit: Fit
    holdout_score: float


@dataclass
class ProcessFits:
    """Every candidate of one process, the chosen one (lowest AIC) and its residuals."""

    process: str
    sector: str
    place: str
    actor: str
    events: int
    candidates: list[Candidate]
    residuals: np.ndarray
    breaks: tuple[float, ...] = ()

    @property
    def chosen(self) -> Fit:
        return min((c.fit for c in self.candidates), key=lambda fit: fit.aic)

    def delta_aic(self, fit: Fit) -> float:
        return fit.aic - self.chosen.aic


def _loglik(fit: Fit, series: Series) -> float:
    """A constant-background model's log-likelihood of ``series``."""
    n, beta = fit.estimates.get("n", 0.0), fit.estimates.get("beta", 1.0)
    return hawkes_loglik(series, np.array([fit.estimates["mu"]]), n, beta)[0]


def _holdout(model: str, series: Series, split: float, seed: int) -> float:
    """Per-event log-likelihood of [split, T) given [0, split), fitted on [0, split)."""
    train = Series(series.times[series.times < split], split)
    later = int((series.times >= split).sum())
    if not later or (model == "hawkes" and len(train.times) < MIN_EVENTS):
        return math.nan
    early = (
        poisson_fit(train) if model == "poisson" else hawkes_fit(train, seed=seed, intervals=False)
    )
    whole = Series(series.times, series.horizon)
    return (_loglik(early, whole) - _loglik(early, train)) / later


def fit_process(
    series: Series, split: float, seed: int, bias_replicates: int = BIAS_REPLICATES
) -> list[Candidate]:
    """Every candidate model on the whole window (Hawkes fits bias-corrected by
    ``bias_replicates`` bootstrap series), each scored on [split, T) by its MLE fitted
    before the split (the piecewise ones are not: their later pieces are not in the
    training window)."""
    constant = Series(series.times, series.horizon)
    hawkes = len(series.times) >= MIN_EVENTS

    def fit(s: Series) -> Fit:
        return hawkes_fit(s, seed=seed, bias_replicates=bias_replicates)

    found = [Candidate(poisson_fit(constant), _holdout("poisson", constant, split, seed))]
    if hawkes:
        found.append(Candidate(fit(constant), _holdout("hawkes", constant, split, seed)))
    if series.breaks:
        found.append(Candidate(poisson_fit(series), math.nan))
        if hawkes:
            found.append(Candidate(fit(series), math.nan))
    return found


def residuals(fit: Fit, series: Series) -> np.ndarray:
    """Compensator increments between events: Exp(1) under the model (time rescaling)."""
    return np.diff(compensator_at_events(fit, series), prepend=0.0)


def choose_breaks(times: np.ndarray, horizon: float, candidates: list[float]) -> tuple:
    """Breakpoints of the background, added one at a time where they lower the AIC of the
    Hawkes model (Poisson below ``MIN_EVENTS`` events) most, by more than
    ``BREAK_PENALTY`` (a rate and a date each), at most ``MAX_CHOSEN_BREAKS``, among
    ``candidates`` (days). Judged with a Poisson model, clusters would pass for changes of
    rate (Mohler 2013, docs/sources.md [P14])."""

    def aic(breaks: tuple[float, ...]) -> float:
        series = Series(times, horizon, breaks)
        if len(times) < MIN_EVENTS:
            return poisson_fit(series).aic
        return hawkes_fit(series, starts=2, intervals=False).aic

    chosen: tuple[float, ...] = ()
    best = aic(chosen)
    for _ in range(MAX_CHOSEN_BREAKS):
        trials = [(aic(tuple(sorted((*chosen, c)))), c) for c in candidates if c not in chosen]
        if not trials:
            break
        value, where = min(trials)
        if best - value <= BREAK_PENALTY - 2.0:  # the AIC counts the added rate already
            break
        chosen, best = tuple(sorted((*chosen, where))), value
    return chosen
