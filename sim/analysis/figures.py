"""The figures every run writes: personnel by site, and incidents by sector, over dates
(and, with a geography, the map of ``sim.analysis.map``).

Lines are means across replications. A 95% confidence band is drawn only where it is wider
than its line can show (a drawdown is nearly deterministic), never for one replication, and
a title promises only the bands drawn. Incidents are small multiples, one panel per sector
on shared axes, in the scenario's colour (``palette``). Dates are ticked for the horizon
and the width drawn (``format_dates``); phase starts and repositioning triggers are marked;
axes carry units; titles name the scenario and the number of replications.

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
from dataclasses import dataclass
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pyarrow.compute as pc
from dateutil import rrule
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.bands import Band, as_numpy, factorize
from sim.analysis.drawn import COLUMNS, Drawn, column, new_figure, replications
from sim.analysis.forces import site_totals
from sim.analysis.map import map_figure
from sim.analysis.palette import scenario_color, sector_label
from sim.experiment.results import RunResults
from sim.experiment.store import atomic_write_bytes

DPI = 110
PHASE_NAME_INCHES = 0.55  # room a phase's name takes beside its line
INCHES_PER_TICK = 0.8  # a concise date label is four characters: room to spare
TRIGGER = "repositioning trigger (any replication)"


def mark_phases(ax, run: RunResults, *, names: bool = True) -> None:
    """Dashed lines at the phase start dates of ``run``'s scenario (the first in the key),
    named on the axes unless not ``names`` (small multiples name them once); a name too
    close to the one before it on the page goes a line lower."""
    inches = ax.get_position().width * ax.figure.get_figwidth() / max(run.scenario.horizon_days, 1)
    row, last = 0, None
    for k, phase in enumerate(run.scenario.forces.phases):
        when = np.datetime64(str(phase.start_date))
        ax.axvline(when, color="0.3", linestyle="--", linewidth=0.8, label="_phase" if k else
                   "phase start")  # fmt: skip
        if not names:
            continue
        near = last is not None and (phase.start_date - last).days * inches < PHASE_NAME_INCHES
        row = row + 1 if near else 0
        last = phase.start_date
        ax.annotate(
            phase.name.replace("_", " "),
            (when, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12 - 10 * row),
            textcoords="offset points",
            fontsize=8,
            color="0.3",
        )


def trigger_dates(run: RunResults) -> np.ndarray:
    """The dates repositioning rules held the drawdown (in any replication)."""
    action, actions = factorize(column(run, "policy", "action"))
    return as_numpy(column(run, "policy", "date"))[
        np.isin(action, np.flatnonzero(actions == "hold"))
    ]


def mark_triggers(ax, when: np.ndarray) -> None:
    """Triangles on the time axis at the dates ``when`` (``trigger_dates``)."""
    if len(when):
        ax.plot(
            when,
            np.zeros(len(when)),
            linestyle="none",
            marker="v",
            color="crimson",
            alpha=0.5,
            label=TRIGGER,
        )


def format_dates(ax) -> None:
    """Dates on the x axis, ticked for the span and the width drawn: months over a year,
    quarters or half-years over a few, years or decades beyond (about one tick per
    ``INCHES_PER_TICK``), each labelled once concisely ("2026", then "Apr", "Jul")."""
    width = ax.get_position().width * ax.figure.get_figwidth()
    most = max(5, round(width / INCHES_PER_TICK))
    # years while there are enough of them, else months: at most half-years, so they fit
    locator = mdates.AutoDateLocator(minticks=max(2, (most - 1) // 2 - 1), maxticks=most)
    locator.intervald[rrule.YEARLY] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    locator.intervald[rrule.MONTHLY] = [1, 2, 3, 6]  # quarters and half-years, not thirds
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


VISIBLE_HEIGHT = 0.015
"""Of the axis' span: a band narrower than this hides under its 1.4-point line."""
VISIBLE_LENGTH = 0.01
"""Of the points drawn: a band wide on fewer (a few days of transit) is a sliver."""


def band_shows(low: np.ndarray, high: np.ndarray, span: float) -> bool:
    """Whether the band from ``low`` to ``high`` is wide enough to see on an axis spanning
    ``span``: wider than ``VISIBLE_HEIGHT`` of it over ``VISIBLE_LENGTH`` of the points."""
    wide = np.nan_to_num(np.asarray(high, float) - np.asarray(low, float)) > VISIBLE_HEIGHT * span
    return wide.size > 0 and wide.mean() >= VISIBLE_LENGTH


def band_note(n: int, shown: list[bool]) -> str:
    """What a title may promise of ``n`` replications whose bands were ``shown`` or not: no
    interval of one replication, and none that no line shows."""
    if n < 2:
        return f"{n} replication{'s' * (n != 1)}"
    if not any(shown):
        return f"mean of {n} replications; the 95% band is narrower than the lines"
    if all(shown):
        return f"mean and 95% CI, {n} replications"
    return f"mean and 95% CI, {n} replications; bands narrower than their line not drawn"


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


def draw_series(
    ax, x, mean, low, high, *, span: float, n: int, step: bool = False, alpha: float = 0.2,
    band: str = "", **line,
) -> bool:  # fmt: skip
    """A mean line, and its band where ``band_shows`` it on an axis spanning ``span`` (never
    of one replication); return whether the band was drawn. ``band`` labels it."""
    drawn = ax.plot(x, mean, drawstyle="steps-post" if step else "default", **line)[0]
    shows = n > 1 and band_shows(low, high, span)
    if shows:
        ax.fill_between(
            x, low, high, color=drawn.get_color(), alpha=alpha, linewidth=0,
            step="post" if step else None, label=band or "_band",
        )  # fmt: skip
    return shows


def span_of(*arrays: np.ndarray) -> float:
    """The height an axis needs for ``arrays`` and zero."""
    values = np.concatenate([np.ravel(a) for a in arrays] + [[0.0]])
    return float(np.nanmax(values) - np.nanmin(values))


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
    """Personnel at each site and in Iraq over dates, with the threshold, phase starts and
    repositioning triggers; bands only where they show (``draw_series``)."""
    labels = {site.name: site.label or site.name for site in run.scenario.forces.sites}
    labels["in_transit"] = "in transit"
    sites, dates, band = site_bands(run)
    mean, low, high = band.interval()
    when, in_iraq = in_iraq_band(run)
    total = in_iraq.interval()
    threshold = run.scenario.forces.in_iraq_threshold_personnel
    span = span_of(high, total[2], [threshold])
    n = replications(run, "posture")  # what is plotted, even of an unfinished run
    fig = new_figure()
    ax = fig.add_subplot()
    shown = [
        draw_series(ax, dates, *bands, span=span, n=n, label=labels.get(site, site), linewidth=1.4)
        for site, *bands in zip(sites, mean, low, high, strict=True)
    ]
    shown.append(
        draw_series(ax, when, *total, span=span, n=n, color="black", alpha=0.15, linewidth=2.2,
                    label="total in Iraq")
    )  # fmt: skip
    ax.axhline(threshold, color="black", linestyle=":", linewidth=0.8,
               label=f"threshold ({threshold:,.0f} in Iraq)")  # fmt: skip
    mark_phases(ax, run)
    mark_triggers(ax, trigger_dates(run))
    format_dates(ax)
    ax.set_ylabel("personnel")
    ax.set_xlabel("date")
    ax.set_title(f"{run.name}: coalition personnel by site\n{band_note(n, shown)}", fontsize=11)
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


DAYS_PER_MONTH = 365.25 / 12
PERIOD_DAYS = {"MS": DAYS_PER_MONTH, "QS": 3 * DAYS_PER_MONTH, "YS": 365.25}
MAX_STEPS = 60
"""Periods in a run's incidents panel: months up to five years, then quarters, then years."""


def period_for(horizon_days: float, steps: int) -> str:
    """The finest of month, quarter and year that cuts ``horizon_days`` into at most
    ``steps`` periods: a step narrower than the eye can follow is noise."""
    return next((f for f, days in PERIOD_DAYS.items() if horizon_days / days <= steps), "YS")


@dataclass(frozen=True)
class PerMonth:
    """Each sector's incidents per month in each period (mean, and the 95% interval of the
    mean over replications), drawn as steps: ``edges`` are the period starts and where the
    record ends, and each series repeats its last value there to close the last step."""

    sectors: np.ndarray
    edges: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: int
    unit: str  # "incidents per month", with the period averaged over when not a month


def incidents_per_month(run: RunResults, freq: str) -> PerMonth:
    """``incidents_by_period`` per month recorded: a period the horizon cuts short (or a
    quarter) is divided by the months it holds, so every step reads in one unit."""
    sectors, periods, band = incidents_by_period(run, freq)
    dates = as_numpy(pc.drop_null(pc.unique(column(run, "daily", "date"))))
    recorded = np.bincount(
        np.searchsorted(periods, period_starts(dates, freq)), minlength=len(periods)
    )
    months = np.maximum(recorded, 1) * run.scenario.clock.record_interval_days / DAYS_PER_MONTH
    end = dates.max().astype("datetime64[D]") if len(dates) else np.datetime64("NaT", "D")
    edges = np.append(periods, max(end, periods[-1])) if len(periods) else periods
    closed = [np.append(x / months, (x / months)[:, -1:], axis=1) for x in band.interval()]
    mean, low, high = (x if len(periods) else np.empty((len(sectors), 0)) for x in closed)
    name = PERIODS.get(freq[:1].upper(), freq)
    unit = "incidents per month" + ("" if name == "month" else f" (mean of each {name})")
    return PerMonth(sectors, edges, mean, low.clip(min=0), high, replications(run, "daily"), unit)


def scenario_order(run: RunResults, sectors: np.ndarray) -> list[int]:
    """Indices of ``sectors`` in the scenario's order (north to south), any other after."""
    listed = [sector.name for sector in run.scenario.border.sectors]
    rank = {name: k for k, name in enumerate(listed)}
    return sorted(range(len(sectors)), key=lambda i: (rank.get(str(sectors[i]), len(rank)), i))


def small_multiples(fig: Figure, count: int, ncols: int = 3) -> tuple[list[Axes], Axes | None]:
    """``count`` panels sharing both axes, ``ncols`` a row, dates under every panel with no
    panel below it; and the grid's first spare cell (blank, for the key), if any."""
    ncols = max(1, min(ncols, count))
    grid = fig.subplots(-(-count // ncols), ncols, sharex=True, sharey=True, squeeze=False)
    cells = list(grid.ravel())
    for k, ax in enumerate(cells[:count]):
        if k + ncols >= count:
            ax.xaxis.set_tick_params(labelbottom=True)
    for ax in cells[count:]:
        ax.set_axis_off()
    return cells[:count], (cells[count] if len(cells) > count else None)


def panel_legend(fig: Figure, panel: Axes, spare: Axes | None) -> None:
    """The key of small multiples, from ``panel``: in the grid's spare cell where it covers
    nothing, else under the panels."""
    handles, labels = panel.get_legend_handles_labels()
    if spare is not None:
        spare.legend(handles, labels, loc="center", frameon=False, fontsize=8.5)
    else:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)),
                   fontsize=8, frameon=False)  # fmt: skip


def incidents_figure(run: RunResults, freq: str | None = None) -> Figure:
    """One panel per sector, north to south, sharing both axes: incidents per month (per
    ``freq``, else by ``period_for`` the horizon) in the scenario's colour with the band of
    its mean, phase starts and triggers. Five sectors' bands overlaid hide each other."""
    rates = incidents_per_month(run, freq or period_for(run.scenario.horizon_days, MAX_STEPS))
    fig = new_figure()
    panels, spare = small_multiples(fig, len(rates.sectors))
    span, triggers, n = span_of(rates.high), trigger_dates(run), rates.n
    shown = []
    for k, (ax, i) in enumerate(zip(panels, scenario_order(run, rates.sectors), strict=True)):
        shown.append(
            draw_series(
                ax, rates.edges, rates.mean[i], rates.low[i], rates.high[i], span=span, n=n,
                step=True, color=scenario_color(run.name), linewidth=1.3,
                label=f"mean of {n} replication{'s' * (n != 1)}", band="95% CI of the mean",
            )
        )  # fmt: skip
        mark_phases(ax, run, names=k == 0)
        mark_triggers(ax, triggers)
        format_dates(ax)
        ax.set_title(sector_label(str(rates.sectors[i])), fontsize=10)
    fig.supylabel(rates.unit, fontsize=10)
    fig.suptitle(f"{run.name}: border incidents by sector\n{band_note(n, shown)}", fontsize=11)
    panel_legend(fig, panels[0], spare)
    return fig


def run_figures(run_dir: str | Path) -> list[Path]:
    """Write the standard figures of a run into its folder.

    Parameters
    ----------
    run_dir
        A finished run folder.

    Returns
    -------
    list of pathlib.Path
        ``personnel.png``, ``incidents.png`` and, when the scenario has a geography,
        ``map.png``.
    """
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
