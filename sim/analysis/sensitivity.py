"""What a sweep shows: response curves, heatmaps (scatters for a Latin hypercube), panels of
the KPI against each parameter (three or more), and Sobol or Morris sensitivity indices.

Indices are computed by SALib on the per-point mean of a KPI over replications (all points
share one seed, so the means differ by parameters, not by luck), against the design's
sample as drawn (``sim.experiment.designs.sample``: unrounded floats, in SALib's order).
SALib's bootstrap gives a 95% confidence half-width for each index; an output that is
constant, or missing at some point, leaves every index undefined (NaN).
``indices_over_time`` repeats the analysis at every n-th date that every point recorded.

Everything is written into ``<sweep>/analysis/``, a real folder (never a link), under names
made of fixed words and KPI names that are checked against the KPI table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from pydantic import ValidationError

from sim.analysis.bands import mean_band
from sim.analysis.figures import save_figure
from sim.config.schema.sweep import Sweep
from sim.experiment.designs import salib_problem, sample
from sim.experiment.errors import RunError
from sim.experiment.manifest import read_manifest
from sim.experiment.store import atomic_write_bytes
from sim.experiment.sweep import load_sweep_results

COLUMNS = {
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu_star", "mu_star_conf", "sigma"],
}
KPI_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # every KPI column; safe inside a file name
NOT_KPIS = {"replication", "seed", "point"}


def sweep_spec(sweep_dir: str | Path) -> Sweep:
    """The sweep that wrote ``sweep_dir``, refused unless its manifest holds a valid one."""
    manifest = read_manifest(sweep_dir, "sweep")
    try:
        return Sweep.model_validate(manifest.sweep)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RunError(f"{sweep_dir}/manifest.json: sweep.{where}: {first['msg']}") from None


def point_means(kpis: pd.DataFrame, value: str) -> np.ndarray:
    """The mean of ``value`` over replications, in point order (SALib's sample order)."""
    return kpis.groupby("point")[value].mean().sort_index().to_numpy(dtype=float)


def indices(sweep_dir: str | Path, kpi: str, kpis: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sobol first-order and total indices, or Morris μ* and σ, of ``kpi`` per parameter."""
    sweep = sweep_spec(sweep_dir)
    kpis = load_sweep_results(sweep_dir) if kpis is None else kpis
    return _indices(sweep, kpis, kpi)


def _indices(sweep: Sweep, frame: pd.DataFrame, value: str) -> pd.DataFrame:
    if sweep.design not in COLUMNS:
        raise RunError(f"sensitivity indices need a sobol or morris design, not {sweep.design}")
    problem = salib_problem(sweep)
    x = sample(sweep)
    if not np.array_equal(np.sort(frame["point"].unique()), np.arange(len(x))):
        raise RunError(
            f"sweep '{sweep.name}' has results for {frame['point'].nunique()} of its {len(x)} "
            "design points; finish it with --resume before analysing it"
        )
    y = point_means(frame, value)
    if not np.isfinite(y).all() or np.ptp(y) == 0:
        columns = COLUMNS[sweep.design]
        undefined = {c: np.full(len(problem["names"]), np.nan) for c in columns}
        return pd.DataFrame({"parameter": problem["names"], **undefined})
    if sweep.design == "sobol":
        from SALib.analyze import sobol

        found = sobol.analyze(problem, y, calc_second_order=False, seed=sweep.seed)
    else:
        from SALib.analyze import morris

        found = morris.analyze(problem, x, y, num_levels=sweep.morris_levels, seed=sweep.seed)
    return pd.DataFrame(
        {"parameter": problem["names"], **{c: found[c] for c in COLUMNS[sweep.design]}}
    )


def indices_over_time(
    sweep_dir: str | Path, table: str = "posture", value: str = "in_iraq", every: int = 30
) -> pd.DataFrame:
    """Indices of a recorded series at every ``every``-th date that every point recorded."""
    sweep = sweep_spec(sweep_dir)
    frame = load_sweep_results(sweep_dir, table)
    per = frame.groupby(["point", "replication", "date"], observed=True)[value].sum().reset_index()
    points_per_date = per.groupby("date")["point"].nunique()
    shared = points_per_date.index[points_per_date == frame["point"].nunique()]
    rows = []
    for date in np.sort(shared.to_numpy())[::every]:
        found = _indices(sweep, per[per["date"] == date], value)
        rows.append(found.assign(date=date))
    if not rows:  # the points' horizons do not overlap
        return pd.DataFrame(columns=["parameter", *COLUMNS[sweep.design], "date"])
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


def scatter_map(kpis: pd.DataFrame, x: str, y: str, kpi: str, label: str) -> Figure:
    """Mean KPI at each sampled point of two parameters (a Latin hypercube is not a grid:
    as a heatmap its points would sit on a diagonal of unevenly spaced cells)."""
    means = kpis.groupby("point").agg({x: "first", y: "first", kpi: "mean"})
    fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
    dots = ax.scatter(means[x], means[y], c=means[kpi], cmap="viridis", s=60, edgecolors="0.3")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(dots, ax=ax, label=f"mean {kpi}")
    ax.set_title(f"{label}: mean {kpi} at {len(means)} sampled points")
    return fig


def panels_figure(
    kpis: pd.DataFrame,
    names: list[str],
    kpi: str,
    label: str,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """The mean KPI of every point against each parameter in turn, one panel each: for a
    grid or Latin hypercube of three or more parameters, a first look at which matter
    (a spread around a flat trend means the others drive it)."""
    means = kpis.groupby(["point", *names], observed=True)[kpi].mean().reset_index()
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4 * columns, 3.2 * rows), sharey=True, layout="constrained"
    )
    axes = np.atleast_1d(axes).ravel()
    for ax, name in zip(axes, names, strict=False):
        ax.scatter(means[name], means[kpi], s=14, alpha=0.7, edgecolors="none")
        ax.set_xlabel((labels or {}).get(name, name))
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    for ax in axes[::columns]:
        ax.set_ylabel(f"mean {kpi} per point")
    fig.suptitle(f"{label}: {kpi} against each parameter ({len(means)} points)")
    return fig


def indices_figure(
    found: pd.DataFrame, kpi: str, label: str, labels: Mapping[str, str] | None = None
) -> Figure:
    """Bars of the indices with their 95% confidence half-widths; ``labels`` names the
    parameters (default: their columns)."""
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(found) + 1.8), layout="constrained")
    y = np.arange(len(found))
    names = [(labels or {}).get(p, p) for p in found["parameter"]]
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


def _check_kpis(chosen: list[str], known: list[str]) -> list[str]:
    """``chosen``, refused unless each is a KPI of the sweep (its name becomes a file name)."""
    for kpi in chosen:
        if kpi not in known or not KPI_NAME.match(kpi):
            raise RunError(f"--kpi {kpi!r:.60}: not a KPI of this sweep ({', '.join(known)})")
    return chosen


def _analysis_folder(sweep_dir: Path) -> Path:
    """``<sweep_dir>/analysis``, created if missing; a link or a file there is refused, so
    nothing is written outside the sweep folder."""
    out = sweep_dir / "analysis"
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise RunError(f"{out} exists and is not a folder; move it away to analyse the sweep")
    out.mkdir(exist_ok=True)
    return out


def analyse_sweep(sweep_dir: str | Path, kpis_of_interest: list[str] | None = None) -> list[Path]:
    """Write the standard tables and figures of a sweep into ``<sweep_dir>/analysis``."""
    sweep_dir = Path(sweep_dir)
    sweep = sweep_spec(sweep_dir)
    kpis = load_sweep_results(sweep_dir)
    names = [p.column for p in sweep.parameters]
    labels = {p.column: p.label for p in sweep.parameters}
    chosen = _check_kpis(
        kpis_of_interest or ["incidents", "severity_unstopped", "final_in_iraq"],
        [c for c in kpis.columns if c not in {*NOT_KPIS, *names}],
    )
    out = _analysis_folder(sweep_dir)
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
                save_figure(
                    indices_figure(found, kpi, sweep.name, labels), out / f"indices_{kpi}.png"
                )
            )
        else:
            name, figure = _design_figure(sweep, kpis, names, kpi, labels)
            written.append(save_figure(figure, out / f"{name}_{kpi}.png"))
    if sweep.design in ("sobol", "morris"):
        over_time = indices_over_time(sweep_dir, table="daily", value="incidents", every=30)
        path = out / "indices_over_time_incidents.csv"
        atomic_write_bytes(path, over_time.to_csv(index=False).encode())
        written.append(path)
        written.append(
            save_figure(
                over_time_figure(over_time, sweep.name, labels),
                out / "indices_over_time_incidents.png",
            )
        )
    return written


def _design_figure(
    sweep: Sweep, kpis: pd.DataFrame, names: list[str], kpi: str, labels: Mapping[str, str]
) -> tuple[str, Figure]:
    """The figure of a grid or Latin hypercube, by its number of parameters: a response
    curve (one), a scatter or heatmap (two), or panels of the KPI against each (more)."""
    if len(names) == 1:
        return "response", response_curve(kpis, names[0], kpi, sweep.name)
    if len(names) == 2 and sweep.design == "lhs":
        return "scatter", scatter_map(kpis, names[0], names[1], kpi, sweep.name)
    if len(names) == 2:
        return "heatmap", heatmap(kpis, names[0], names[1], kpi, sweep.name)
    return "panels", panels_figure(kpis, names, kpi, sweep.name, labels)


def over_time_figure(
    over_time: pd.DataFrame, label: str, labels: Mapping[str, str] | None = None
) -> Figure:
    """Total (Sobol) or μ* (Morris) index of each parameter at each analysed date."""
    column = "ST" if "ST" in over_time else "mu_star"
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    for parameter, rows in over_time.groupby("parameter", sort=False):
        ax.plot(
            rows["date"], rows[column], marker=".", label=(labels or {}).get(parameter, parameter)
        )
    fig.autofmt_xdate()
    ax.set_xlabel("date (gaps: dates where no point differs from another)")
    ax.set_ylabel(f"{column} of daily incidents")
    ax.set_title(f"{label}: sensitivity of daily incidents over time")
    ax.legend(fontsize=8)
    return fig
