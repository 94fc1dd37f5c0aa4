"""What a sweep shows: response curves, heatmaps, and Sobol or Morris sensitivity indices.

Indices are computed by SALib on the per-point mean of a KPI over replications (all points
share one seed, so the means differ by parameters, not by luck). SALib's bootstrap gives a
95% confidence half-width for each index. ``indices_over_time`` repeats the analysis at
every n-th recorded date of a time series (for example personnel in Iraq, or incidents).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.bands import mean_band
from sim.analysis.figures import save_figure
from sim.config.schema.sweep import Sweep
from sim.experiment.designs import salib_problem
from sim.experiment.store import RunStore, atomic_write_bytes
from sim.experiment.sweep import load_sweep_results


def sweep_spec(sweep_dir: str | Path) -> Sweep:
    return Sweep.model_validate(RunStore(sweep_dir).read_manifest()["sweep"])


def point_means(kpis: pd.DataFrame, value: str) -> np.ndarray:
    """The mean of ``value`` over replications, in point order (SALib's sample order)."""
    return kpis.groupby("point")[value].mean().sort_index().to_numpy(dtype=float)


def indices(sweep_dir: str | Path, kpi: str, kpis: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sobol first-order and total indices, or Morris μ* and σ, of ``kpi`` per parameter."""
    sweep = sweep_spec(sweep_dir)
    kpis = load_sweep_results(sweep_dir) if kpis is None else kpis
    return _indices(sweep, kpis, kpi)


def _indices(sweep: Sweep, frame: pd.DataFrame, value: str) -> pd.DataFrame:
    problem = salib_problem(sweep)
    y = point_means(frame, value)
    if np.ptp(y) == 0:  # the output does not vary: every index is undefined
        columns = (
            ["S1", "S1_conf", "ST", "ST_conf"]
            if sweep.design == "sobol"
            else ["mu_star", "mu_star_conf", "sigma"]
        )
        return pd.DataFrame(
            {
                "parameter": problem["names"],
                **{c: np.full(len(problem["names"]), np.nan) for c in columns},
            }
        )
    if sweep.design == "sobol":
        from SALib.analyze import sobol

        found = sobol.analyze(problem, y, calc_second_order=False, seed=sweep.seed)
        return pd.DataFrame(
            {
                "parameter": problem["names"],
                "S1": found["S1"],
                "S1_conf": found["S1_conf"],
                "ST": found["ST"],
                "ST_conf": found["ST_conf"],
            }
        )
    if sweep.design == "morris":
        from SALib.analyze import morris

        x = frame.drop_duplicates("point").sort_values("point")[problem["names"]].to_numpy()
        found = morris.analyze(problem, x, y, num_levels=sweep.morris_levels, seed=sweep.seed)
        return pd.DataFrame(
            {
                "parameter": problem["names"],
                "mu_star": found["mu_star"],
                "mu_star_conf": found["mu_star_conf"],
                "sigma": found["sigma"],
            }
        )
    raise ValueError(f"sensitivity indices need a sobol or morris design, not {sweep.design}")


def indices_over_time(
    sweep_dir: str | Path, table: str = "posture", value: str = "in_iraq", every: int = 30
) -> pd.DataFrame:
    """Indices of a recorded series at every ``every``-th recorded date."""
    sweep = sweep_spec(sweep_dir)
    frame = load_sweep_results(sweep_dir, table)
    per = frame.groupby(["point", "replication", "date"], observed=True)[value].sum().reset_index()
    dates = np.sort(per["date"].unique())[::every]
    rows = []
    for date in dates:
        found = _indices(sweep, per[per["date"] == date], value)
        rows.append(found.assign(date=date))
    return pd.concat(rows, ignore_index=True)


def response_curve(kpis: pd.DataFrame, parameter: str, kpi: str, label: str) -> Figure:
    """Mean KPI with its 95% band against one swept parameter."""
    per_point = kpis.groupby(["point", parameter], observed=True)[kpi].mean().reset_index()
    band = mean_band(kpis, kpi, [parameter])
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    x = band[parameter]
    ax.plot(x, band["mean"], marker="o", label="mean over replications")
    ax.fill_between(x, band["ci_low"], band["ci_high"], alpha=0.25, label="95% CI")
    ax.set_xlabel(parameter)
    ax.set_ylabel(kpi)
    ax.set_title(f"{label}: {kpi} against {parameter.rsplit('.', 1)[-1]} ({len(per_point)} points)")
    ax.legend(fontsize=8)
    return fig


def heatmap(kpis: pd.DataFrame, rows: str, columns: str, kpi: str, label: str) -> Figure:
    """Mean KPI over a two-parameter grid."""
    table = kpis.pivot_table(index=rows, columns=columns, values=kpi, aggfunc="mean")
    fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
    image = ax.imshow(table.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(
        range(len(table.columns)),
        [f"{v:g}" if isinstance(v, float) else v for v in table.columns],
        rotation=30,
    )
    ax.set_yticks(
        range(len(table.index)), [f"{v:g}" if isinstance(v, float) else v for v in table.index]
    )
    ax.set_xlabel(columns)
    ax.set_ylabel(rows)
    fig.colorbar(image, ax=ax, label=f"mean {kpi}")
    ax.set_title(f"{label}: mean {kpi}")
    return fig


def indices_figure(found: pd.DataFrame, kpi: str, label: str) -> Figure:
    """Bars of the indices with their 95% confidence half-widths."""
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(found) + 1.8), layout="constrained")
    y = np.arange(len(found))
    names = [p.rsplit(".", 2)[-2] + "." + p.rsplit(".", 1)[-1] for p in found["parameter"]]
    if "S1" in found:
        ax.barh(y - 0.2, found["S1"], 0.4, xerr=found["S1_conf"], label="first order S1")
        ax.barh(y + 0.2, found["ST"], 0.4, xerr=found["ST_conf"], label="total ST")
        ax.set_xlabel("Sobol index (95% CI)")
    else:
        ax.barh(y, found["mu_star"], 0.5, xerr=found["mu_star_conf"], label="Morris μ*")
        ax.set_xlabel(f"Morris μ* of {kpi} (95% CI)")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    ax.set_title(f"{label}: sensitivity of {kpi}")
    return fig


def analyse_sweep(sweep_dir: str | Path, kpis_of_interest: list[str] | None = None) -> list[Path]:
    """Write the standard tables and figures of a sweep into ``<sweep_dir>/analysis``."""
    sweep_dir = Path(sweep_dir)
    sweep = sweep_spec(sweep_dir)
    kpis = load_sweep_results(sweep_dir)
    out = sweep_dir / "analysis"
    out.mkdir(exist_ok=True)
    chosen = kpis_of_interest or ["incidents", "severity_unstopped", "final_in_iraq"]
    names = [p.path for p in sweep.parameters]
    written: list[Path] = []
    summary = kpis.groupby(["point", *names], observed=True)[chosen].mean().reset_index()
    atomic_write_bytes(out / "points_mean.csv", summary.to_csv(index=False).encode())
    written.append(out / "points_mean.csv")
    for kpi in chosen:
        if sweep.design in ("sobol", "morris"):
            found = _indices(sweep, kpis, kpi)
            atomic_write_bytes(out / f"indices_{kpi}.csv", found.to_csv(index=False).encode())
            written.append(out / f"indices_{kpi}.csv")
            written.append(
                save_figure(indices_figure(found, kpi, sweep.name), out / f"indices_{kpi}.png")
            )
        elif len(names) == 1:
            written.append(
                save_figure(
                    response_curve(kpis, names[0], kpi, sweep.name), out / f"response_{kpi}.png"
                )
            )
        elif len(names) == 2:
            written.append(
                save_figure(
                    heatmap(kpis, names[0], names[1], kpi, sweep.name), out / f"heatmap_{kpi}.png"
                )
            )
    if sweep.design in ("sobol", "morris"):
        over_time = indices_over_time(sweep_dir, table="daily", value="incidents", every=30)
        path = out / "indices_over_time_incidents.csv"
        atomic_write_bytes(path, over_time.to_csv(index=False).encode())
        written.append(path)
        written.append(
            save_figure(
                over_time_figure(over_time, sweep.name), out / "indices_over_time_incidents.png"
            )
        )
    return written


def over_time_figure(over_time: pd.DataFrame, label: str) -> Figure:
    """Total (Sobol) or μ* (Morris) index of each parameter at each analysed date."""
    column = "ST" if "ST" in over_time else "mu_star"
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    for parameter, rows in over_time.groupby("parameter", sort=False):
        ax.plot(rows["date"], rows[column], marker=".", label=parameter.rsplit(".", 2)[-2:][-1])
    ax.set_xlabel("date")
    ax.set_ylabel(f"{column} of daily incidents")
    ax.set_title(f"{label}: sensitivity of daily incidents over time")
    ax.legend(fontsize=8)
    return fig
