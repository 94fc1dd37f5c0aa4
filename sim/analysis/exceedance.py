"""Exceedance probabilities: the share of replications in which a KPI reaches a threshold,
with a Wilson score interval (scipy's ``binomtest(...).proportion_ci``).

A risk question asks "how likely is a bad month", not "what is the mean": P(peak weekly
incidents ≥ k), P(any 30-day window with at least k incidents), P(a repositioning rule
fires). Without thresholds given, each window KPI's threshold is the reference run's 90th
percentile rounded up (so the reference's probability is near 10% and a scenario's shows how
far the bad tail moved), and the rule's is "fires at least once".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.analysis.summary import LEVEL, NOT_KPIS
from sim.experiment.errors import RunError
from sim.experiment.results import RunResults

WINDOW_KPIS = ("peak_week_incidents", "worst_30d_incidents")
FIRES = "repositioning_triggers"
METHOD = "Wilson score"


@dataclass(frozen=True)
class Threshold:
    """``kpi ≥ value``, and where the value came from."""

    kpi: str
    value: float
    source: str

    @property
    def rule(self) -> str:
        return f"{self.kpi} ≥ {self.value:g}"


THRESHOLD_FORM = re.compile(r"^\s*(?P<kpi>[a-z0-9_]+)\s*>=\s*(?P<value>[-+0-9.eE]+)\s*$")


def parse_threshold(text: str) -> Threshold:
    """``KPI>=VALUE`` (from ``--exceed``); a one-line RunError otherwise."""
    match = THRESHOLD_FORM.match(text)
    value = None
    if match:
        try:
            value = float(match["value"])
        except ValueError:
            value = None
    if match is None or value is None or not math.isfinite(value):
        raise RunError(f"--exceed {text!r}: expected KPI>=NUMBER, e.g. peak_week_incidents>=5")
    return Threshold(match["kpi"], value + 0.0, "given")  # + 0.0: -0 reads as 0


def chosen_thresholds(texts: list[str] | None) -> list[Threshold] | None:
    """The thresholds given as ``KPI>=VALUE`` texts, or None for the defaults."""
    return [parse_threshold(t) for t in texts] if texts else None


def default_thresholds(reference: RunResults) -> list[Threshold]:
    """The reference's 90th percentile (rounded up) of each window KPI it has, and
    "a rule fires at least once"."""
    kpis = reference.kpis
    found = [
        Threshold(name, float(math.ceil(np.percentile(kpis[name].dropna(), 90))), "reference p90")
        for name in WINDOW_KPIS
        if name in kpis.columns and kpis[name].notna().any()
    ]
    return [*found, Threshold(FIRES, 1.0, "fires at least once")]


def probability(values: np.ndarray, threshold: float, level: float = LEVEL) -> dict:
    """The share of ``values`` ≥ ``threshold`` and its Wilson interval (NaN when empty)."""
    values = values[~np.isnan(values)]
    n, k = len(values), int((values >= threshold).sum())
    if not n:
        return {
            "exceed": 0,
            "n": 0,
            "probability": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
        }
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    return {"exceed": k, "n": n, "probability": k / n, "ci_low": ci.low, "ci_high": ci.high}


def exceedance_table(
    runs: list[RunResults], thresholds: list[Threshold] | None = None, level: float = LEVEL
) -> pd.DataFrame:
    """One row per run and threshold; a threshold on a KPI no run has is refused."""
    thresholds = list(dict.fromkeys(thresholds or default_thresholds(runs[0])))
    for threshold in thresholds:
        if threshold.kpi in NOT_KPIS or not any(threshold.kpi in r.kpis.columns for r in runs):
            names = ", ".join(c for c in runs[0].kpis.columns if c not in NOT_KPIS)
            raise RunError(f"--exceed {threshold.rule}: no KPI {threshold.kpi!r}; KPIs: {names}")
    rows = []
    for run in runs:
        for threshold in thresholds:
            if threshold.kpi not in run.kpis.columns:
                continue
            values = run.kpis[threshold.kpi].to_numpy(float)
            rows.append(
                {
                    "scenario": run.name,
                    "rule": threshold.rule,
                    "threshold_from": threshold.source,
                    **probability(values, threshold.value, level),
                    "method": METHOD,
                }
            )
    return pd.DataFrame(rows)
