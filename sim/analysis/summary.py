"""KPI summaries and comparisons of runs, with confidence intervals from scipy.

Runs that share a root seed and replication ids were driven by the same random numbers
(common random numbers), so they are compared *paired*: replication by replication, with a
t interval on the differences. That interval is usually far narrower than the unpaired one;
``variance_reduction`` says by how much. Runs that are not pairable fall back to Welch's
t test, and the ``method`` column says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiment.results import RunResults
from sim.tables import KPI_SCHEMA, PER_PHASE, PER_SECTOR, PHASE_KPI, SECTOR_KPI

LEVEL = 0.95
NOT_KPIS = {"replication", "seed"}


def kpi_names(run: RunResults) -> list[str]:
    return [c for c in run.kpis.columns if c not in NOT_KPIS]


def kpi_definitions(names: list[str]) -> pd.DataFrame:
    """Each KPI's unit and meaning (``sim.tables.KPI_SCHEMA``; the per-phase and per-sector
    columns by their prefix), in the order given."""
    rows = []
    for name in names:
        if name in KPI_SCHEMA:
            column = KPI_SCHEMA[name]
        elif name.startswith(PER_PHASE):
            column = PHASE_KPI
        elif name.startswith(PER_SECTOR):
            column = SECTOR_KPI
        else:
            continue
        rows.append({"kpi": name, "unit": column.unit, "definition": column.description})
    return pd.DataFrame(rows, columns=["kpi", "unit", "definition"])


def summarize(values: np.ndarray, level: float = LEVEL) -> dict[str, float]:
    """n, mean, t-interval of the mean, sd, median and 5th/95th percentiles of ``values``
    (NaN left out)."""
    values = values[~np.isnan(values)]
    n = len(values)
    mean = values.mean() if n else math.nan
    if n >= 2 and values.std() > 0:
        low, high = stats.t.interval(level, n - 1, loc=mean, scale=stats.sem(values))
    else:
        low = high = mean
    return {
        "n": n,
        "mean": mean,
        "ci_low": low,
        "ci_high": high,
        "sd": values.std(ddof=1) if n >= 2 else math.nan,
        "median": np.median(values) if n else math.nan,
        "p05": np.percentile(values, 5) if n else math.nan,
        "p95": np.percentile(values, 95) if n else math.nan,
    }


def summarize_kpis(run: RunResults, level: float = LEVEL) -> pd.DataFrame:
    """One row per KPI: n, mean, t-interval of the mean, sd, median and 5th/95th percentiles."""
    rows = [
        {"kpi": name, **summarize(run.kpis[name].to_numpy(dtype=float), level)}
        for name in kpi_names(run)
    ]
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Pairing:
    pairable: bool
    reason: str


def pairing(reference: RunResults, other: RunResults) -> Pairing:
    """Whether two runs can be compared replication by replication, and why not."""
    a, b = reference.manifest.root_seed, other.manifest.root_seed
    if a != b:
        return Pairing(False, f"root seeds differ ({a} vs {b})")
    reps_a = set(reference.kpis["replication"])
    reps_b = set(other.kpis["replication"])
    if not reps_a & reps_b:
        return Pairing(False, "no replication ids in common")
    return Pairing(True, f"paired on {len(reps_a & reps_b)} common replications")


def compare_kpi(a: np.ndarray, b: np.ndarray, paired: bool, level: float = LEVEL) -> dict:
    """Difference of means (b − a) with its interval, p-value, and variance reduction."""
    constant = np.ptp(b - a) == 0 if paired else np.ptp(a) == 0 and np.ptp(b) == 0
    if constant:
        # the same value(s) in every replication: no sampling error left to test
        difference = float(b.mean() - a.mean())
        return {
            "difference": difference,
            "diff_ci_low": difference,
            "diff_ci_high": difference,
            "p_value": 1.0 if difference == 0 else 0.0,
            "variance_reduction": math.nan,
            "method": "exact (no variation)",
        }
    if paired:
        result = stats.ttest_rel(b, a, nan_policy="omit")
        diff = b - a
        var_paired = np.nanvar(diff, ddof=1) / np.sum(~np.isnan(diff))
        var_unpaired = np.nanvar(a, ddof=1) / len(a) + np.nanvar(b, ddof=1) / len(b)
        reduction = var_unpaired / var_paired if var_paired > 0 else math.inf
        difference = float(np.nanmean(diff))
    else:
        with warnings.catch_warnings():
            # one sample may be exactly constant (zero variance): Welch's test is still exact,
            # but scipy warns of "catastrophic cancellation" for it
            warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
            result = stats.ttest_ind(b, a, equal_var=False, nan_policy="omit")
        reduction = math.nan
        difference = float(np.nanmean(b) - np.nanmean(a))
    try:
        low, high = result.confidence_interval(level)
    except (ValueError, ZeroDivisionError):
        low = high = math.nan
    if not math.isfinite(low) and difference == 0:
        low = high = 0.0
    return {
        "difference": difference,
        "diff_ci_low": float(low),
        "diff_ci_high": float(high),
        "p_value": float(result.pvalue),
        "variance_reduction": float(reduction),
        "method": "paired t" if paired else "Welch t",
    }


def comparison_row(
    a: np.ndarray,
    b: np.ndarray,
    pair: Pairing,
    level: float,
    reference: str,
    scenario: str,
    **labels: str,
) -> dict | None:
    """One row of a comparison table (``labels`` say what was compared: a KPI, a period), or
    None when either side has fewer than two values."""
    if len(a) < 2 or len(b) < 2:
        return None
    return {
        "reference": reference,
        "scenario": scenario,
        **labels,
        "reference_mean": float(a.mean()),
        "scenario_mean": float(b.mean()),
        "n": len(b),
        **compare_kpi(a, b, pair.pairable, level),
        "note": pair.reason,
    }


def compare_runs(runs: list[RunResults], level: float = LEVEL) -> pd.DataFrame:
    """Every KPI of every run against the first run (the reference)."""
    reference = runs[0]
    ref_kpis = reference.kpis.set_index("replication")
    rows = []
    for other in runs[1:]:
        pair = pairing(reference, other)
        kpis = other.kpis.set_index("replication")
        common = ref_kpis.index.intersection(kpis.index) if pair.pairable else None
        for name in kpi_names(reference):
            if name not in kpis.columns:
                continue
            if common is not None:
                a = ref_kpis.loc[common, name].to_numpy(dtype=float)
                b = kpis.loc[common, name].to_numpy(dtype=float)
                usable = ~(np.isnan(a) | np.isnan(b))
                a, b = a[usable], b[usable]
            else:
                a = ref_kpis[name].dropna().to_numpy(dtype=float)
                b = kpis[name].dropna().to_numpy(dtype=float)
            row = comparison_row(a, b, pair, level, reference.name, other.name, kpi=name)
            if row:
                rows.append(row)
    return pd.DataFrame(rows)
