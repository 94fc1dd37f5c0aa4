"""The figures every run writes: personnel by site, and incidents by sector, over dates.

Lines are means across replications with shaded 95% confidence bands; phase starts and
repositioning triggers are marked; axes carry units; titles name the scenario and the
number of replications.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.bands import mean_band
from sim.analysis.forces import forces_at
from sim.experiment.results import RunResults, load_results
from sim.experiment.store import atomic_write_bytes


def mark_phases(ax, run: RunResults) -> None:
    """Dashed lines at the phase start dates of ``run``'s scenario."""
    config = run.manifest["config"]
    for phase in config["forces"]["phases"]:
        when = pd.Timestamp(phase["start_date"])
        ax.axvline(when, color="0.3", linestyle="--", linewidth=0.8)
        ax.annotate(
            phase["name"].replace("_", " "),
            (when, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=8,
            color="0.3",
        )


def mark_triggers(ax, run: RunResults) -> None:
    """Triangles at the dates repositioning rules triggered (in any replication)."""
    policy = run.policy
    holds = policy[policy["action"] == "hold"]
    if len(holds):
        ax.plot(
            holds["date"],
            [0] * len(holds),
            linestyle="none",
            marker="v",
            color="crimson",
            alpha=0.5,
            label="repositioning trigger (any replication)",
        )


def format_dates(ax, months: tuple[int, ...] = (1, 4, 7, 10)) -> None:
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=months))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def figure_bytes(fig: Figure, kind: str = "png") -> bytes:
    """The figure encoded as ``kind`` (png or svg), released: reports embed these bytes, so
    no file name is ever made from a run's data."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=kind, dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def save_figure(fig: Figure, path: Path) -> Path:
    """Write the figure atomically (PNG, or SVG by suffix) and release it."""
    atomic_write_bytes(path, figure_bytes(fig, path.suffix.lstrip(".") or "png"))
    return path


def _plot_days(days: np.ndarray, series: int, rows: int = 5_000_000) -> np.ndarray:
    """Every record day, or evenly spaced ones (always the last) when ``series`` (site and
    role series of all replications) on every day would exceed ``rows`` rows."""
    days = np.unique(days)
    step = max(1, math.ceil(len(days) * series / rows))
    return np.union1d(days[::step], days[-1:])


def personnel_figure(run: RunResults) -> Figure:
    series = len(run.forces[["replication", "site", "role"]].drop_duplicates())
    forces = forces_at(run.forces, _plot_days(run.posture["day"].to_numpy(), series))
    labels = {
        s["name"]: s.get("label") or s["name"] for s in run.manifest["config"]["forces"]["sites"]
    }
    labels["in_transit"] = "in transit"
    per_site = forces.groupby(["replication", "date", "site"], observed=True)["personnel"].sum()
    band = mean_band(per_site.reset_index(), "personnel", ["site", "date"])
    in_iraq = mean_band(run.posture, "in_iraq", ["date"])
    fig, ax = plt.subplots(figsize=(10, 5.5), layout="constrained")
    for site, rows in band.groupby("site", sort=False):
        line = ax.plot(rows["date"], rows["mean"], label=labels.get(site, site), linewidth=1.4)
        ax.fill_between(
            rows["date"], rows["ci_low"], rows["ci_high"], alpha=0.2, color=line[0].get_color()
        )
    ax.plot(in_iraq["date"], in_iraq["mean"], color="black", linewidth=2.2, label="total in Iraq")
    ax.fill_between(
        in_iraq["date"], in_iraq["ci_low"], in_iraq["ci_high"], color="black", alpha=0.15
    )
    threshold = run.manifest["config"]["forces"]["in_iraq_threshold_personnel"]
    ax.axhline(threshold, color="black", linestyle=":", linewidth=0.8)
    mark_phases(ax, run)
    mark_triggers(ax, run)
    format_dates(ax)
    ax.set_ylabel("personnel")
    ax.set_xlabel("date")
    n = run.posture["replication"].nunique()  # what is plotted, even of an unfinished run
    ax.set_title(f"{run.name}: coalition personnel by site (mean and 95% CI, {n} replications)")
    fig.legend(fontsize=8, ncols=4, loc="outside lower center")
    return fig


def incidents_figure(run: RunResults, freq: str = "MS") -> Figure:
    daily = run.daily
    periods = daily.assign(period=daily["date"].dt.to_period(freq[0]).dt.start_time)
    per = periods.groupby(["replication", "period", "sector"], observed=True)["incidents"].sum()
    band = mean_band(per.reset_index(), "incidents", ["sector", "period"])
    fig, ax = plt.subplots(figsize=(10, 5.5), layout="constrained")
    for sector, rows in band.groupby("sector", sort=False):
        line = ax.plot(
            rows["period"], rows["mean"], label=sector, linewidth=1.4, drawstyle="steps-post"
        )
        ax.fill_between(
            rows["period"],
            rows["ci_low"].clip(lower=0),
            rows["ci_high"],
            alpha=0.2,
            color=line[0].get_color(),
            step="post",
        )
    mark_phases(ax, run)
    mark_triggers(ax, run)
    format_dates(ax)
    unit = {"M": "month", "W": "week", "D": "day"}.get(freq[0], freq)
    ax.set_ylabel(f"incidents per {unit}")
    ax.set_xlabel("date")
    n = daily["replication"].nunique()
    ax.set_title(f"{run.name}: border incidents by sector (mean and 95% CI, {n} replications)")
    fig.legend(fontsize=8, ncols=6, loc="outside lower center")
    return fig


def run_figures(run_dir: str | Path) -> list[Path]:
    """Write the standard figures of a run into its folder; return their paths."""
    run = load_results(run_dir)
    folder = Path(run_dir)
    return [
        save_figure(personnel_figure(run), folder / "personnel.png"),
        save_figure(incidents_figure(run), folder / "incidents.png"),
    ]
