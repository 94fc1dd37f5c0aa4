"""The figures every run writes: personnel by site, and incidents by sector, over dates
(and, with a geography, the map of ``sim.analysis.map``).

Lines are means across replications with shaded 95% confidence bands; phase starts and
repositioning triggers are marked; axes carry units; titles name the scenario and the
number of replications.

The figures are plain ``matplotlib.figure.Figure`` objects with an Agg canvas, outside
pyplot: importing this module never changes the backend (a notebook keeps its inline
figures), and saving works in any process. In a notebook, make a figure the last
expression of a cell to see it (``plt.show()`` shows only pyplot's own figures).

Every recorded day is plotted, each line and band in one call. The statistics are numpy
on the columns drawn (``run_figures`` reads only those, with pyarrow, and never imports
pandas or pyplot): both figures of a 200-replication run take about half a second once
matplotlib is imported (``python -m benchmarks.figures`` measures it).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
from matplotlib.figure import Figure

from sim.analysis.bands import Band, as_numpy, factorize
from sim.analysis.drawn import COLUMNS, Drawn, column, new_figure, replications
from sim.analysis.forces import site_totals
from sim.analysis.map import map_figure
from sim.experiment.results import RunResults
from sim.experiment.store import atomic_write_bytes

DPI = 110


def mark_phases(ax, run: RunResults) -> None:
    """Dashed lines at the phase start dates of ``run``'s scenario."""
    for phase in run.scenario.forces.phases:
        when = np.datetime64(str(phase.start_date))
        ax.axvline(when, color="0.3", linestyle="--", linewidth=0.8)
        ax.annotate(
            phase.name.replace("_", " "),
            (when, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=8,
            color="0.3",
        )


def mark_triggers(ax, run: RunResults) -> None:
    """Triangles at the dates repositioning rules triggered (in any replication)."""
    action, actions = factorize(column(run, "policy", "action"))
    when = as_numpy(column(run, "policy", "date"))[
        np.isin(action, np.flatnonzero(actions == "hold"))
    ]
    if len(when):
        ax.plot(
            when,
            np.zeros(len(when)),
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
    fig.savefig(buffer, format=kind, dpi=DPI)
    pyplot = sys.modules.get("matplotlib.pyplot")  # only loaded if someone uses it
    if pyplot is not None and fig.canvas.manager is not None:
        pyplot.close(fig)  # a pyplot figure (comparison, sensitivity): let pyplot drop it
    return buffer.getvalue()


def save_figure(fig: Figure, path: Path) -> Path:
    """Write the figure atomically (PNG, or SVG by suffix) and release it."""
    atomic_write_bytes(path, figure_bytes(fig, path.suffix.lstrip(".") or "png"))
    return path


def _band(ax, x, mean, low, high, *, alpha: float = 0.2, color=None, **line) -> None:
    """One mean line and its shaded band: two calls whatever the number of points."""
    drawn = ax.plot(x, mean, color=color, **line)[0]
    step = {"step": "post"} if line.get("drawstyle") == "steps-post" else {}
    ax.fill_between(x, low, high, color=drawn.get_color(), alpha=alpha, **step)


def _days_since(start: np.datetime64, days: np.ndarray) -> np.ndarray:
    """The dates ``days`` (fractions too) after ``start``, to the second."""
    offsets = np.round(np.asarray(days, dtype=float) * 86_400_000).astype("timedelta64[ms]")
    return (start.astype("datetime64[ms]") + offsets).astype("datetime64[s]")


def in_iraq_band(run: RunResults) -> tuple[np.ndarray, Band]:
    """Dates and the band of personnel in Iraq across replications, from ``posture``."""
    rep, _ = factorize(column(run, "posture", "replication"))
    when, dates = factorize(column(run, "posture", "date"))
    in_iraq = as_numpy(column(run, "posture", "in_iraq")).astype(float)
    keep = (rep >= 0) & (when >= 0)
    values = np.zeros((rep.max() + 1 if len(rep) else 0, len(dates)))
    present = np.zeros(values.shape, dtype=bool)
    values[rep[keep], when[keep]] = in_iraq[keep]
    present[rep[keep], when[keep]] = True
    return dates, Band.of(values, present)


def site_bands(run: RunResults) -> tuple[np.ndarray, np.ndarray, Band]:
    """Site names, dates and the band of each site's personnel (all roles) on every
    recorded day, from the exact ``forces`` spells (as ``forces_at`` reads them)."""
    forces = {name: column(run, "forces", name) for name in COLUMNS["forces"]}
    recorded = as_numpy(column(run, "posture", "day")).astype(float)
    sites, days, chunks = site_totals(forces, recorded)
    band = Band.empty((len(sites), len(days)))
    for values, present in chunks:
        band.add(values, present[:, :, None])
    if len(forces["start_day"]):
        first = as_numpy(forces["start_date"][:1])[0]
        origin = first - np.timedelta64(round(forces["start_day"][0].as_py() * 86_400_000), "ms")
    else:
        origin = np.datetime64(str(run.scenario.clock.start_date))
    return sites, _days_since(origin, days), band


def personnel_figure(run: RunResults) -> Figure:
    labels = {site.name: site.label or site.name for site in run.scenario.forces.sites}
    labels["in_transit"] = "in transit"
    sites, dates, band = site_bands(run)
    mean, low, high = band.interval()
    fig = new_figure()
    ax = fig.add_subplot()
    for i, site in enumerate(sites):
        _band(ax, dates, mean[i], low[i], high[i], label=labels.get(site, site), linewidth=1.4)
    when, in_iraq = in_iraq_band(run)
    mean, low, high = in_iraq.interval()
    _band(
        ax, when, mean, low, high, color="black", alpha=0.15, linewidth=2.2, label="total in Iraq"
    )
    threshold = run.scenario.forces.in_iraq_threshold_personnel
    ax.axhline(threshold, color="black", linestyle=":", linewidth=0.8)
    mark_phases(ax, run)
    mark_triggers(ax, run)
    format_dates(ax)
    ax.set_ylabel("personnel")
    ax.set_xlabel("date")
    n = replications(run, "posture")  # what is plotted, even of an unfinished run
    ax.set_title(f"{run.name}: coalition personnel by site (mean and 95% CI, {n} replications)")
    fig.legend(fontsize=8, ncols=4, loc="outside lower center")
    return fig


PERIODS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}


def period_starts(dates: np.ndarray, freq: str) -> np.ndarray:
    """The first day of the period (``freq``'s first letter: D, W from Monday, M, Q or Y)
    holding each of ``dates``, as pandas' ``to_period(...).start_time`` gives it."""
    days = np.asarray(dates).astype("datetime64[D]")
    unit = freq[:1].upper()
    if unit == "D":
        return days
    if unit == "W":
        return days - (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    if unit in ("M", "Q"):
        months = days.astype("datetime64[M]").astype(np.int64)
        months -= months % 3 if unit == "Q" else 0
        return months.astype("datetime64[M]").astype("datetime64[D]")
    if unit == "Y":
        return days.astype("datetime64[Y]").astype("datetime64[D]")
    raise ValueError(f"unknown period {freq!r}: use one of {', '.join(PERIODS)}")


def incidents_by_period(run: RunResults, freq: str = "MS") -> tuple[np.ndarray, np.ndarray, Band]:
    """Sectors, period starts and the band of each sector's incidents per period."""
    rep, _ = factorize(column(run, "daily", "replication"))
    sector, sectors = factorize(column(run, "daily", "sector"))
    day, dates = factorize(column(run, "daily", "date"))
    periods, period_of_day = np.unique(period_starts(dates, freq), return_inverse=True)
    incidents = as_numpy(column(run, "daily", "incidents")).astype(float)
    shape = (rep.max() + 1 if len(rep) else 0, len(sectors), len(periods))
    cell = (rep * shape[1] + sector) * shape[2] + period_of_day[day]
    keep = (rep >= 0) & (sector >= 0) & (day >= 0)  # a missing key drops, as in groupby
    if not keep.all():
        cell, incidents = cell[keep], incidents[keep]
    size = int(np.prod(shape))
    totals = np.bincount(cell, incidents, size).reshape(shape)
    present = np.bincount(cell, minlength=size).reshape(shape) > 0
    return sectors, periods, Band.of(totals, present)


def incidents_figure(run: RunResults, freq: str = "MS") -> Figure:
    sectors, periods, band = incidents_by_period(run, freq)
    mean, low, high = band.interval()
    fig = new_figure()
    ax = fig.add_subplot()
    for i, sector in enumerate(sectors):
        seen = band.n[i] > 0  # the periods this sector has records for
        _band(
            ax,
            periods[seen],
            mean[i][seen],
            low[i][seen].clip(min=0),
            high[i][seen],
            label=sector,
            linewidth=1.4,
            drawstyle="steps-post",
        )
    mark_phases(ax, run)
    mark_triggers(ax, run)
    format_dates(ax)
    ax.set_ylabel(f"incidents per {PERIODS.get(freq[:1].upper(), freq)}")
    ax.set_xlabel("date")
    n = replications(run, "daily")
    ax.set_title(f"{run.name}: border incidents by sector (mean and 95% CI, {n} replications)")
    fig.legend(fontsize=8, ncols=6, loc="outside lower center")
    return fig


def run_figures(run_dir: str | Path) -> list[Path]:
    """Write the standard figures of a run into its folder (and ``map.png`` when its
    scenario has a geography); return their paths."""
    run = Drawn(run_dir)
    folder = Path(run_dir)
    written = [
        save_figure(personnel_figure(run), folder / "personnel.png"),
        save_figure(incidents_figure(run), folder / "incidents.png"),
    ]
    drawn = map_figure(run)  # reuses the forces and daily columns read above
    if drawn is not None:
        written.append(save_figure(drawn, folder / "map.png"))
    return written
