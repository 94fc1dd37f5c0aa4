"""``withdrawal-sim compare``: a KPI table and figures for several runs against the first.

Figures: personnel in Iraq over dates with 95% bands per scenario, monthly incidents per
sector per scenario, and a forest plot of every KPI's difference from the reference (as a
percentage of the reference mean, with its 95% interval). Each scenario keeps one colour
across every figure.

The runs must cover one horizon (``sim.analysis.runs``); the outputs have fixed names and
go only into the folder the user named.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.bands import mean_band
from sim.analysis.figures import format_dates, mark_phases, save_figure
from sim.analysis.runs import COMPARE_TABLES, load_runs
from sim.analysis.summary import compare_runs
from sim.experiment.errors import RunError
from sim.experiment.results import RunResults
from sim.experiment.store import atomic_write_bytes


def scenario_colors(runs: list[RunResults]) -> dict[str, str]:
    """One stable colour per scenario, in the order the runs are given: ten of tab10, or up
    to twenty distinct ones of tab20 for more runs (colours repeat only past twenty)."""
    palette = plt.get_cmap("tab10" if len(runs) <= 10 else "tab20").colors
    return {
        run.name: matplotlib.colors.to_hex(palette[i % len(palette)]) for i, run in enumerate(runs)
    }


def _label(run: RunResults) -> str:
    return f"{run.name} (n={run.kpis['replication'].nunique()})"


def in_iraq_figure(runs: list[RunResults], colors: dict[str, str]) -> Figure:
    fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    for run in runs:
        band = mean_band(run.posture, "in_iraq", ["date"])
        color = colors[run.name]
        ax.plot(band["date"], band["mean"], color=color, linewidth=1.6, label=_label(run))
        ax.fill_between(band["date"], band["ci_low"], band["ci_high"], color=color, alpha=0.2)
    mark_phases(ax, runs[0])
    format_dates(ax)
    ax.set_ylabel("coalition personnel in Iraq")
    ax.set_xlabel("date")
    ax.set_title("Personnel in Iraq by scenario (mean and 95% CI)")
    ax.legend(fontsize=8)
    return fig


def incidents_by_scenario_figure(runs: list[RunResults], colors: dict[str, str]) -> Figure:
    sectors = list(dict.fromkeys(runs[0].daily["sector"]))
    ncols = min(3, len(sectors))
    nrows = int(np.ceil(len(sectors) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(4.2 * ncols, 3.2 * nrows),
        sharex=True,
        squeeze=False,
        layout="constrained",
    )
    for run in runs:
        daily = run.daily
        month = daily["date"].dt.to_period("M").dt.start_time
        per = (
            daily.assign(month=month)
            .groupby(["replication", "month", "sector"], observed=True)["incidents"]
            .sum()
            .reset_index()
        )
        band = mean_band(per, "incidents", ["sector", "month"])
        for ax, sector in zip(axes.flat, sectors, strict=False):
            rows = band[band["sector"] == sector]
            ax.plot(
                rows["month"],
                rows["mean"],
                color=colors[run.name],
                label=_label(run),
                drawstyle="steps-post",
                linewidth=1.2,
            )
            ax.fill_between(
                rows["month"],
                rows["ci_low"].clip(lower=0),
                rows["ci_high"],
                color=colors[run.name],
                alpha=0.15,
                step="post",
            )
            ax.set_title(sector, fontsize=9)
    for ax in axes.flat[len(sectors) :]:
        ax.set_visible(False)
    for ax in axes.flat[: len(sectors)]:
        format_dates(ax, months=(1, 7))
        ax.set_ylabel("incidents per month", fontsize=8)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Border incidents per month by sector and scenario (mean and 95% CI)")
    return fig


def forest_figure(table: pd.DataFrame, colors: dict[str, str]) -> Figure:
    """Each KPI's difference from the reference, in percent of the reference mean."""
    usable = table[table["reference_mean"].abs() > 0].copy()
    scale = 100.0 / usable["reference_mean"].abs()
    for col in ("difference", "diff_ci_low", "diff_ci_high"):
        usable[col + "_pct"] = usable[col] * scale
    kpis = list(dict.fromkeys(usable["kpi"]))
    scenarios = list(dict.fromkeys(usable["scenario"]))
    height = 1.2 + len(kpis) * (0.25 + 0.08 * max(1, len(scenarios)))
    fig, ax = plt.subplots(figsize=(9, height), layout="constrained")
    step = 0.8 / max(1, len(scenarios))
    for k, scenario in enumerate(scenarios):
        rows = usable[usable["scenario"] == scenario].set_index("kpi").reindex(kpis)
        y = np.arange(len(kpis)) + k * step
        err = np.vstack(
            [
                rows["difference_pct"] - rows["diff_ci_low_pct"],
                rows["diff_ci_high_pct"] - rows["difference_pct"],
            ]
        )
        ax.errorbar(
            rows["difference_pct"],
            y,
            xerr=err,
            fmt="o",
            color=colors.get(scenario),
            label=scenario,
            capsize=2,
            markersize=4,
        )
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(np.arange(len(kpis)) + step * (len(scenarios) - 1) / 2, kpis, fontsize=8)
    ax.invert_yaxis()
    reference = table["reference"].iloc[0]
    ax.set_xlabel(f"difference from {reference} (% of the reference mean, 95% CI)")
    ax.set_title(f"KPI differences against {reference}")
    ax.legend(fontsize=8)
    return fig


def _markdown(table: pd.DataFrame) -> str:
    cols = [
        "scenario",
        "kpi",
        "reference_mean",
        "scenario_mean",
        "difference",
        "diff_ci_low",
        "diff_ci_high",
        "p_value",
        "variance_reduction",
        "method",
    ]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table[cols].iterrows():
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    notes = sorted(set(table["scenario"] + ": " + table["note"])) if len(table) else []
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"


def compare(
    run_dirs: list[str | Path], out: str | Path, *, overwrite: bool = False
) -> dict[str, Path]:
    """Write the comparison table (CSV, Markdown) and figures into ``out``; return the paths.

    An ``out`` that already holds files is refused unless ``overwrite``: a second comparison
    must not silently replace the first one's tables."""
    if len(run_dirs) < 2:
        raise RunError("compare needs at least two run folders")
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise RunError(f"{out} already holds files; choose another --out or pass --overwrite")
    runs = load_runs(run_dirs, COMPARE_TABLES)
    table = compare_runs(runs)
    colors = scenario_colors(runs)
    out.mkdir(parents=True, exist_ok=True)
    written = {
        "csv": out / "comparison.csv",
        "markdown": out / "comparison.md",
    }
    atomic_write_bytes(written["csv"], table.to_csv(index=False).encode())
    atomic_write_bytes(written["markdown"], _markdown(table).encode())
    written["in_iraq"] = save_figure(in_iraq_figure(runs, colors), out / "in_iraq.png")
    written["incidents"] = save_figure(
        incidents_by_scenario_figure(runs, colors), out / "incidents_by_sector.png"
    )
    written["forest"] = save_figure(forest_figure(table, colors), out / "kpi_differences.png")
    return written
