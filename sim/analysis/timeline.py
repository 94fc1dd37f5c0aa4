"""The risk timeline: expected incidents a day by sector and in total, and exposure.

The model records each sector's intensity λ(t) (``daily.intensity_per_day``, the expected
incidents a day given the history): its mean over replications is a risk index over time
that does not depend on which incidents happened to be drawn. Weekly means keep the curve
readable; the band is the 95% t-interval over replications of each week's mean (the same
interval as every other band, ``bands.mean_band``). Exposure is the person-days spent at
each site (personnel × days, from the ``forces`` spells), in total and by period, the
denominator a planner needs for "incidents per 1,000 person-days".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.bands import mean_band
from sim.analysis.drawn import new_figure
from sim.analysis.figures import format_dates
from sim.analysis.palette import scenario_colors, sector_label
from sim.analysis.periods import Period
from sim.experiment.results import RunResults

TOTAL = "all sectors"


def weekly_intensity(run: RunResults) -> pd.DataFrame:
    """Per week (its Monday, or the run's first day for the first week), sector (and
    ``TOTAL``): n, mean expected incidents a day, the 95% interval of that mean, and the
    5th/95th percentiles over replications."""
    daily = run.table("daily")[["replication", "date", "sector", "intensity_per_day"]]
    start = pd.Timestamp(run.scenario.clock.start_date)
    week = daily["date"].dt.to_period("W-SUN").dt.start_time.clip(lower=start)
    per = (
        daily.assign(week=week)
        .groupby(["replication", "week", "sector"], observed=True)["intensity_per_day"]
        .mean()
        .reset_index()
    )
    total = per.groupby(["replication", "week"], observed=True)["intensity_per_day"].sum()
    both = pd.concat([per, total.reset_index().assign(sector=TOTAL)], ignore_index=True)
    both["sector"] = both["sector"].astype(str)
    return mean_band(both, "intensity_per_day", ["sector", "week"])


def exposure(run: RunResults, periods: list[Period]) -> pd.DataFrame:
    """Mean person-days at each site in theatre (Iraq and Syria; personnel on a lift or out
    of theatre left out) over the run and in each period, with the 95% interval over
    replications."""
    sites = {s.name: s for s in run.scenario.forces.sites if s.country != "out_of_theatre"}
    forces = run.table("forces")
    forces = forces[forces["site"].astype(str).isin(sites)]
    start, end = forces["start_day"].to_numpy(float), forces["end_day"].to_numpy(float)
    horizon = run.scenario.horizon_days
    spans = [Period("whole run", 0.0, horizon), *periods]
    rows = []
    for span in spans:
        overlap = np.clip(
            np.minimum(end, span.end_day) - np.maximum(start, span.start_day), 0, None
        )
        days = forces.assign(person_days=forces["personnel"].to_numpy() * overlap)
        per = days.groupby(["replication", "site"], observed=True)["person_days"].sum()
        band = mean_band(per.reset_index(), "person_days", ["site"])
        rows.append(band.assign(period=span.name))
    out = pd.concat(rows, ignore_index=True)
    out["site"] = out["site"].astype(str)
    out["country"] = [sites[name].country for name in out["site"]]
    return out[["period", "site", "country", "n", "mean", "ci_low", "ci_high"]]


def timeline_figure(runs: list[RunResults], width: float = 10.0) -> Figure:
    """Small multiples: expected incidents a day in total and in each sector, one line per
    scenario (its palette colour), the reference a wide line underneath the others so a
    scenario that matches it shows inside it, the reference's band only (several bands would
    hide one another), the reference's phase starts dashed."""
    bands = {run.name: weekly_intensity(run) for run in runs}
    own = list(dict.fromkeys(runs[0].table("daily")["sector"].astype(str)))
    sectors = own if len(own) == 1 else [TOTAL, *own]  # one sector is its own total
    colors = scenario_colors(run.name for run in runs)
    cols = 2 if len(sectors) > 3 else 1
    rows = int(np.ceil(len(sectors) / cols))
    fig = new_figure((width, 1.9 * rows + 0.8))
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    phases = [(np.datetime64(str(p.start_date)), p.name) for p in runs[0].scenario.forces.phases]
    for ax, sector in zip(axes.flat, sectors, strict=False):
        for when, _ in phases:
            ax.axvline(when, color="0.5", linestyle="--", linewidth=0.7)
        for k, run in enumerate(runs):
            part = bands[run.name][bands[run.name]["sector"] == sector]
            color = colors[run.name]
            width, layer = (2.6, 1) if k == 0 else (1.2, 2)  # the reference wide, underneath
            ax.plot(part["week"], part["mean"], color=color, lw=width, zorder=layer, label=run.name)
            if k == 0 and part["n"].max() > 1:
                ax.fill_between(
                    part["week"], part["ci_low"], part["ci_high"], color=color, alpha=0.2
                )
        ax.set_title(sector if sector == TOTAL else sector_label(sector), fontsize=9)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=8)
        format_dates(ax)
    for when, name in phases:
        axes.flat[0].annotate(
            name.replace("_", " "),
            (when, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, -10),
            textcoords="offset points",
            fontsize=7,
            color="0.4",
        )
    for ax in axes.flat[len(sectors) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("incidents a day", fontsize=8)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    band_note = (
        f"; band: 95% CI of {runs[0].name}'s mean" if runs[0].manifest.replications > 1 else ""
    )
    fig.suptitle(f"Expected incidents a day (weekly mean of the intensity{band_note})", fontsize=10)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(runs), 4), fontsize=8)
    return fig
