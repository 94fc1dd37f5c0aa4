"""``withdrawal-sim compare``: a KPI table and figures for several runs against the first.

Figures: personnel in Iraq over dates per scenario, incidents per month in small multiples
by sector, and a forest plot of every KPI's difference from the reference (as a percentage
of the reference mean, with its 95% interval). Each scenario has one colour, keyed by its
name (``palette``), in every figure and every comparison; bands are drawn as the run
figures draw them (only where they show), and for the reference alone past a few runs.

The runs must cover one horizon (``sim.analysis.runs``); the outputs have fixed names and
go only into the folder the user named.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import palette
from sim.analysis.bands import mean_band
from sim.analysis.exceedance import chosen_thresholds, exceedance_table
from sim.analysis.figures import (
    draw_series,
    format_dates,
    incidents_per_month,
    mark_phases,
    panel_legend,
    period_for,
    save_figure,
    scenario_order,
    small_multiples,
    span_of,
)
from sim.analysis.palette import sector_label
from sim.analysis.periods import chosen_periods, compare_periods
from sim.analysis.runs import COMPARE_TABLES, load_runs
from sim.analysis.summary import compare_runs
from sim.analysis.timeline import timeline_figure
from sim.experiment.errors import RunError
from sim.experiment.results import RunResults
from sim.experiment.store import atomic_write_bytes
from sim.tables import PER_SECTOR


def scenario_colors(runs: list[RunResults]) -> dict[str, str]:
    """Each run's colour, by its scenario's name (``palette.scenario_colors``): the same in
    every figure, whatever else is compared."""
    return palette.scenario_colors(run.name for run in runs)


MAX_BANDS = 4
"""With more scenarios than this, only the reference keeps its 95% band: a dozen overlapping
bands hide every line, and the reference's band alone says how far a line must stray from
it to differ."""
COMPARE_STEPS = 16
"""Periods in an incidents panel: quarters over three years, years over twelve (monthly
noise makes a dozen lines cross at every step)."""


def _label(run: RunResults) -> str:
    return f"{run.name} (n={run.kpis['replication'].nunique()})"


def _banded(runs: list[RunResults]) -> list[int]:
    """The replications of each run for ``draw_series``: one, so no band, for all but the
    reference past ``MAX_BANDS`` runs."""
    n = [run.kpis["replication"].nunique() for run in runs]
    return [count if len(runs) <= MAX_BANDS or k == 0 else 1 for k, count in enumerate(n)]


def _note(runs: list[RunResults], shown: list[bool]) -> str:
    """What a title may promise of the bands ``shown`` (one per run): none of one
    replication, none no line shows, and whose they are when only the reference has one."""
    single = [n < 2 for n in _banded(runs)]
    if len(runs) > MAX_BANDS:
        reference = f"the reference ({runs[0].name})"
        if shown[0]:
            return f"means; 95% CI of {reference} only"
        if single[0]:
            return f"means; no 95% CI: {reference} has one replication, others left out"
        return f"means; the 95% CI of {reference} is narrower than its line, others left out"
    if any(shown):
        return "means and 95% CI" + ("" if all(shown) else ", where wider than the lines")
    if all(single):
        return "means; no 95% CI of a single replication"
    return "means; the 95% bands are narrower than the lines"


def _style(k: int) -> dict:
    """The reference drawn wide under the others: where a scenario follows it, both show."""
    return {"linewidth": 3.2, "zorder": 1.8} if k == 0 else {"linewidth": 1.3}


def in_iraq_figure(runs: list[RunResults], colors: dict[str, str]) -> Figure:
    """Personnel in Iraq over dates, a line per scenario, the key beside the axes."""
    fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    bands = [mean_band(run.posture, "in_iraq", ["date"]) for run in runs]
    span = span_of(*(band["ci_high"] for band in bands))
    shown = [
        draw_series(
            ax, band["date"], band["mean"], band["ci_low"], band["ci_high"], span=span,
            n=n, color=colors[run.name], label=_label(run), **_style(k),
        )
        for k, (run, band, n) in enumerate(zip(runs, bands, _banded(runs), strict=True))
    ]  # fmt: skip
    mark_phases(ax, runs[0])
    format_dates(ax)
    ax.set_ylabel("coalition personnel in Iraq")
    ax.set_xlabel(f"date (phase starts of {runs[0].name})")
    ax.set_title(f"Personnel in Iraq by scenario\n{_note(runs, shown)}", fontsize=11)
    fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    return fig


def incidents_by_scenario_figure(runs: list[RunResults], colors: dict[str, str]) -> Figure:
    """One panel per sector (the reference's, north to south) on shared axes, a line per
    scenario of incidents per month averaged over quarters or years (``COMPARE_STEPS``).

    Built to read at fourteen scenarios: lines only, coarse enough periods that they cross
    rarely, the reference wide under the others and alone in keeping its band beyond
    ``MAX_BANDS`` scenarios; the key in the grid's spare cell, or under the panels."""
    freq = period_for(runs[0].scenario.horizon_days, COMPARE_STEPS)
    rates = [incidents_per_month(run, freq) for run in runs]
    sectors = [str(rates[0].sectors[i]) for i in scenario_order(runs[0], rates[0].sectors)]
    ncols = min(3, len(sectors))
    nrows = -(-len(sectors) // ncols)
    fig = plt.figure(figsize=(4.2 * ncols, 3.2 * nrows), layout="constrained")
    panels, spare = small_multiples(fig, len(sectors), ncols)
    span = max(span_of(r.high) for r in rates)
    shown = []
    for k, (run, r, n) in enumerate(zip(runs, rates, _banded(runs), strict=True)):
        row = {str(name): i for i, name in enumerate(r.sectors)}
        drawn = [
            draw_series(
                ax, r.edges, r.mean[row[sector]], r.low[row[sector]], r.high[row[sector]],
                span=span, n=min(n, r.n), step=True, color=colors[run.name],
                label=_label(run), band=f"95% CI of {run.name}", **_style(k),
            )
            for ax, sector in zip(panels, sectors, strict=True)
            if sector in row
        ]  # fmt: skip
        shown.append(any(drawn))
    for ax, sector in zip(panels, sectors, strict=True):
        format_dates(ax)
        ax.set_title(sector_label(sector), fontsize=10)
    fig.supylabel(rates[0].unit, fontsize=10)
    fig.suptitle(f"Border incidents by sector and scenario\n{_note(runs, shown)}", fontsize=11)
    panel_legend(fig, panels[0], spare)
    return fig


def kpi_label(kpi: str) -> str:
    """A KPI as the table names it, its sector as people write it."""
    if kpi.startswith(PER_SECTOR):
        return f"{PER_SECTOR.rstrip('_')}: {sector_label(kpi.removeprefix(PER_SECTOR))}"
    return kpi


def forest_figure(table: pd.DataFrame, colors: dict[str, str]) -> Figure:
    """Each KPI's difference from the reference, in percent of the reference mean. A KPI whose
    reference mean is near zero (incidents still waiting at the horizon) makes percentages of
    thousands that would squeeze every other row to a dot, so the axis spans the bulk of the
    intervals (``forest_limit``) and what lies beyond is cut at the edge, the point drawn
    hollow there."""
    usable = table[table["reference_mean"].abs() > 0].copy()
    scale = 100.0 / usable["reference_mean"].abs()
    for col in ("difference", "diff_ci_low", "diff_ci_high"):
        usable[col + "_pct"] = usable[col] * scale
    limit = forest_limit(usable[["diff_ci_low_pct", "diff_ci_high_pct"]].to_numpy())
    kpis = list(dict.fromkeys(usable["kpi"]))
    scenarios = list(dict.fromkeys(usable["scenario"]))
    height = 1.2 + len(kpis) * (0.25 + 0.08 * max(1, len(scenarios)))
    fig, ax = plt.subplots(figsize=(10, height), layout="constrained")
    step = 0.8 / max(1, len(scenarios))
    for k, scenario in enumerate(scenarios):
        rows = usable[usable["scenario"] == scenario].set_index("kpi").reindex(kpis)
        y = np.arange(len(kpis)) + k * step
        point = rows["difference_pct"].to_numpy()
        low, high = (
            np.clip(rows[c].to_numpy(), -limit, limit)
            for c in ("diff_ci_low_pct", "diff_ci_high_pct")
        )
        inside = np.abs(point) <= limit
        shown = np.clip(point, -limit, limit)
        color = colors.get(scenario)
        ax.errorbar(
            shown,
            y,
            xerr=np.vstack([shown - low, high - shown]),
            fmt="none",
            ecolor=color,
            capsize=2,
        )
        ax.plot(shown[inside], y[inside], "o", color=color, markersize=4, label=scenario)
        ax.plot(shown[~inside], y[~inside], "o", mfc="white", color=color, markersize=5)
    ax.set_xlim(-limit * 1.03, limit * 1.03)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ticks = np.arange(len(kpis)) + step * (len(scenarios) - 1) / 2
    ax.set_yticks(ticks, [kpi_label(kpi) for kpi in kpis], fontsize=8)
    ax.invert_yaxis()
    reference = table["reference"].iloc[0]
    ax.set_xlabel(
        f"difference from {reference} (% of the reference mean, 95% CI; beyond ±{limit:.0f}% "
        "cut at the edge, hollow points)"
    )
    ax.set_title(f"KPI differences against {reference}")
    fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    return fig


def forest_limit(ends: np.ndarray) -> float:
    """The half-width of the forest plot's axis: everything when nothing is extreme (the
    largest end within twice the bulk), else the bulk: 1.2 × the 90th percentile of the
    intervals' ends in absolute value, at least 110% so that −100% (all gone) always shows."""
    ends = np.abs(ends[np.isfinite(ends)])
    if not len(ends):
        return 110.0
    bulk = max(110.0, 1.2 * float(np.percentile(ends, 90)))
    largest = float(ends.max())
    return largest * 1.05 if largest <= 2 * bulk else bulk


def _rows(frame: pd.DataFrame, cols: list[str]) -> list[str]:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame[cols].iterrows():
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _markdown(table: pd.DataFrame, periods: pd.DataFrame, exceedance: pd.DataFrame) -> str:
    differences = [
        "reference_mean",
        "scenario_mean",
        "difference",
        "diff_ci_low",
        "diff_ci_high",
        "p_value",
    ]
    lines = _rows(table, ["scenario", "kpi", *differences, "variance_reduction", "method"])
    notes = sorted(set(table["scenario"] + ": " + table["note"])) if len(table) else []
    lines += ["", *(f"- {n}" for n in notes), "", "## By period (a month)", ""]
    lines += _rows(periods, ["scenario", "period", "kpi", *differences, "method"])
    lines += ["", "## Exceedance probabilities (Wilson 95% intervals)", ""]
    cols = ["scenario", "rule", "threshold_from", "exceed", "n", "probability", "ci_low", "ci_high"]
    lines += _rows(exceedance, cols)
    return "\n".join(lines) + "\n"


def compare(
    run_dirs: list[str | Path],
    out: str | Path,
    *,
    overwrite: bool = False,
    periods: list[str] | None = None,
    exceed: list[str] | None = None,
) -> dict[str, Path]:
    """Write the comparison tables (CSV, Markdown: KPIs, by period, exceedance) and figures
    into ``out``; return the paths. ``periods`` (``NAME=START..END``) replace the phase
    periods and ``exceed`` (``KPI>=VALUE``) the default thresholds (docs/analysis.md).

    An ``out`` that already holds files is refused unless ``overwrite``: a second comparison
    must not silently replace the first one's tables."""
    if len(run_dirs) < 2:
        raise RunError("compare needs at least two run folders")
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise RunError(f"{out} already holds files; choose another --out or pass --overwrite")
    runs = load_runs(run_dirs, COMPARE_TABLES)
    spans = chosen_periods(periods, runs[0])
    thresholds = chosen_thresholds(exceed)
    table = compare_runs(runs)
    by_period = compare_periods(runs, spans)
    exceedance = exceedance_table(runs, thresholds)
    colors = scenario_colors(runs)
    out.mkdir(parents=True, exist_ok=True)
    written = {
        "csv": out / "comparison.csv",
        "periods": out / "periods.csv",
        "exceedance": out / "exceedance.csv",
        "markdown": out / "comparison.md",
    }
    atomic_write_bytes(written["csv"], table.to_csv(index=False).encode())
    atomic_write_bytes(written["periods"], by_period.to_csv(index=False).encode())
    atomic_write_bytes(written["exceedance"], exceedance.to_csv(index=False).encode())
    atomic_write_bytes(written["markdown"], _markdown(table, by_period, exceedance).encode())
    written["in_iraq"] = save_figure(in_iraq_figure(runs, colors), out / "in_iraq.png")
    written["incidents"] = save_figure(
        incidents_by_scenario_figure(runs, colors), out / "incidents_by_sector.png"
    )
    written["forest"] = save_figure(forest_figure(table, colors), out / "kpi_differences.png")
    written["timeline"] = save_figure(timeline_figure(runs), out / "timeline.png")
    return written
