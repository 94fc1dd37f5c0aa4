"""The calibration report folder: ``fits.csv``, the QQ and rate figures, ``summary.md``.

``fits.csv`` has one row per process, model and parameter: ``process, sector, actor, model,
parameter, estimate, lower, upper, aic`` plus ``mle`` (the maximum-likelihood estimate;
``estimate`` is bias-corrected for Hawkes fits), ``delta_aic`` (0 for the chosen model),
``chosen``, ``holdout_log_score`` and ``on_bound``. The QQ figure plots each process's
time-rescaled residuals (compensator increments) against Exp(1), with the KS test's p-value;
the rate figure its events per month against the fitted model's expected count.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from sim.analysis.drawn import new_figure
from sim.calibration.choice import ProcessFits
from sim.calibration.fitting import Series, compensator_at

MONTH = 30.4375


def fits_table(fitted: list[ProcessFits]) -> pd.DataFrame:
    rows = []
    for fits in fitted:
        for candidate in fits.candidates:
            fit = candidate.fit
            for name, value in fit.estimates.items():
                low, high = fit.intervals.get(name, (math.nan, math.nan))
                rows.append(
                    {
                        "process": fits.process,
                        "sector": fits.sector or fits.place,
                        "actor": fits.actor,
                        "model": fit.model,
                        "parameter": name,
                        "estimate": value,
                        "lower": low,
                        "upper": high,
                        "aic": fit.aic,
                        "mle": fit.mle[name],
                        "delta_aic": fits.delta_aic(fit),
                        "chosen": fit is fits.chosen,
                        "holdout_log_score": candidate.holdout_score,
                        "on_bound": name in fit.on_bound,
                    }
                )
    return pd.DataFrame(rows)


def ks_pvalue(fits: ProcessFits) -> float:
    if len(fits.residuals) < 2:
        return math.nan
    return float(stats.kstest(fits.residuals, "expon").pvalue)


def _grid(count: int) -> tuple[Figure, np.ndarray]:
    """A grid of panels, three a row, on a figure outside pyplot (``new_figure``)."""
    columns = min(3, count)
    rows = math.ceil(count / columns)
    figure = new_figure((4.2 * columns, 3.4 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    return figure, axes.flat


def qq_figure(fitted: list[ProcessFits]) -> Figure:
    figure, axes = _grid(len(fitted))
    for ax, fits in zip(axes, fitted, strict=False):
        sample = np.sort(fits.residuals)
        theory = stats.expon.ppf((np.arange(1, len(sample) + 1) - 0.5) / max(len(sample), 1))
        top = max(sample.max(initial=1.0), theory.max(initial=1.0))
        ax.plot([0, top], [0, top], color="0.5", linewidth=0.8, label="Exp(1)")
        ax.scatter(theory, sample, s=8, color="tab:blue", label="residuals")
        ax.set_title(f"{fits.process} ({fits.chosen.model})\nKS p = {ks_pvalue(fits):.3g}")
        ax.set_xlabel("Exp(1) quantile")
        ax.set_ylabel("compensator increment")
        ax.legend(loc="upper left", fontsize=8)
    figure.suptitle("Time-rescaling residuals against Exp(1)")
    return figure


def rate_figure(fitted: list[ProcessFits], series: dict[str, Series], start) -> Figure:
    figure, axes = _grid(len(fitted))
    for ax, fits in zip(axes, fitted, strict=False):
        s = series[fits.process]
        edges = np.arange(0.0, s.horizon + MONTH, MONTH)
        edges[-1] = min(edges[-1], s.horizon)
        counts = np.histogram(s.times, bins=edges)[0]
        expected = np.diff(compensator_at(fits.chosen, s, edges))
        middle = pd.to_datetime(start) + pd.to_timedelta((edges[:-1] + edges[1:]) / 2, "D")
        ax.bar(middle, counts, width=25, color="0.75", label="events per month")
        ax.plot(middle, expected, color="tab:red", label=f"fitted {fits.chosen.model}")
        ax.set_title(fits.process)
        ax.set_ylabel("events per month")
        ax.legend(loc="upper left", fontsize=8)
        ax.tick_params(axis="x", labelrotation=30)
    figure.suptitle("Events per month and the fitted model's expected count")
    return figure
