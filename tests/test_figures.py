"""The figures read as a policy analyst needs them to (issue 20): one colour per scenario in
every figure, dates ticked for the horizon, incidents in small multiples that read at
fourteen scenarios, no 95% band promised that is not drawn, sector names as people write
them."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PolyCollection

import sim
from sim.analysis import comparison, figures, palette
from sim.analysis.drawn import SIZE, new_figure
from sim.analysis.palette import sector_label
from sim.analysis.summary import compare_runs
from sim.experiment.results import RunResults

ROOT = Path(__file__).resolve().parents[1]
# a year and a fortnight from mid-January: the first and last months are cut short
CLOCK = ["clock.start_date=2025-01-16", "clock.end_date=2026-01-31"]
HOLDS = [
    "forces.repositioning.emergency_return.hold_above_expected=1.2",
    "forces.repositioning.emergency_return.release_below_expected=0.6",
]


def make(tmp_path_factory, scenario: str, replications: int, *overrides: str) -> RunResults:
    """A run of ``scenario`` over ``CLOCK`` unless ``overrides`` set the clock."""
    clock = [] if any(o.startswith("clock.") for o in overrides) else CLOCK
    loaded = sim.load_scenario(ROOT / "scenarios" / f"{scenario}.yaml", [*clock, *overrides])
    out = tmp_path_factory.mktemp(scenario) / "run"
    sim.run_experiment(loaded, replications, 11, out=out, executor="serial", progress=False)
    return sim.load_results(out)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> RunResults:
    return make(tmp_path_factory, "baseline", 3)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> RunResults:
    """The baseline over its own three years: a drawdown whose spread never shows."""
    return make(tmp_path_factory, "baseline", 2, "clock.end_date=2027-12-31")


@pytest.fixture(scope="module")
def resurgence(tmp_path_factory) -> RunResults:
    return make(tmp_path_factory, "isis_resurgence", 3)


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> RunResults:
    return make(tmp_path_factory, "baseline", 1)


@pytest.fixture(scope="module")
def holding(tmp_path_factory) -> RunResults:
    """A repositioning run whose rule holds the drawdown: personnel vary between runs."""
    return make(tmp_path_factory, "repositioning", 3, *HOLDS)


class Renamed(RunResults):
    """A run folder shown under another scenario's name (fourteen scenarios from one run)."""

    def __init__(self, run_dir: Path, name: str) -> None:
        super().__init__(run_dir)
        self._name = name

    @property
    def name(self) -> str:
        return self._name


def bands(ax) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def panels(fig) -> list:
    return [ax for ax in fig.axes if ax.axison]


def tick_labels(fig, ax) -> list:
    """The x tick labels drawn inside the view, after a draw."""
    fig.canvas.draw()
    low, high = ax.get_xlim()
    locs = ax.xaxis.get_majorticklocs()
    ticks = ax.xaxis.get_major_ticks(len(locs))
    return [
        tick.label1
        for loc, tick in zip(locs, ticks, strict=True)
        if low <= loc <= high and tick.label1.get_text() and tick.label1.get_visible()
    ]


def overlapping(fig, labels) -> bool:
    renderer = fig.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in labels]
    return any(a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1 :])


@pytest.mark.parametrize("years", [1, 3, 10, 30])
def test_date_ticks_stay_readable_whatever_the_horizon(years):
    start = np.datetime64("2025-01-01", "s")
    dates = start + np.arange(0, round(years * 365.25) + 1, 7).astype("timedelta64[D]")
    # the shipped width, then a panel of three across it (the incidents' small multiples)
    wide = new_figure()
    assert tuple(wide.get_size_inches()) == SIZE
    axes = [wide.add_subplot()]
    narrow = new_figure()
    axes += figures.small_multiples(narrow, 5)[0][3:4]  # bottom left: it carries dates
    for ax, most in zip(axes, (14, 6), strict=True):
        ax.plot(dates, np.arange(len(dates)))
        figures.format_dates(ax)
        labels = tick_labels(ax.figure, ax)
        assert 3 <= len(labels) <= most, [label.get_text() for label in labels]
        assert not overlapping(ax.figure, labels)
    # the year is written, once per year at most (concise labels, not "Jan 2025" on each)
    texts = [label.get_text() for label in tick_labels(wide, axes[0])]
    assert any(text.isdigit() and len(text) == 4 for text in texts)
    assert len(texts) == len(set(texts)) or years <= 1


def test_run_figures_carry_readable_dates(base):
    for fig in (figures.personnel_figure(base), figures.incidents_figure(base)):
        for ax in panels(fig):
            labels = tick_labels(fig, ax)
            if ax.xaxis.get_tick_params()["labelbottom"]:
                assert 3 <= len(labels) <= 14 and not overlapping(fig, labels)
                assert "2025" in {label.get_text() for label in labels}


def test_one_colour_per_scenario_in_every_figure(base, resurgence):
    both = [base, resurgence]
    colours = comparison.scenario_colors(both)
    assert colours == {n: palette.scenario_color(n) for n in ("baseline", "isis_resurgence")}
    # reversed, the scenarios keep their colours: they go by name, not by position
    assert comparison.scenario_colors(both[::-1]) == colours
    for runs in (both, both[::-1]):
        drawn = {}
        in_iraq = comparison.in_iraq_figure(runs, colours).axes[0]
        incidents = comparison.incidents_by_scenario_figure(runs, colours)
        forest = comparison.forest_figure(compare_runs(runs), colours).axes[0]
        for ax in [in_iraq, *panels(incidents), forest]:  # the forest's points are lines
            for line in ax.get_lines():
                name = line.get_label().split(" (n=")[0]
                if name in colours:
                    drawn.setdefault(name, set()).add(line.get_color())
        for bars in forest.containers:  # and its interval bars are drawn in the same colours
            (segments,) = bars.lines[2]
            hexes = {matplotlib.colors.to_hex(c) for c in segments.get_colors()}
            assert hexes <= set(colours.values()) and len(hexes) == 1
        assert drawn["baseline"] == {colours["baseline"]}
        assert drawn["isis_resurgence"] == {colours["isis_resurgence"]}
    # a run's own incidents figure is drawn in its scenario's colour too
    for run in both:
        fig = figures.incidents_figure(run)
        assert {line.get_color() for ax in panels(fig) for line in ax.get_lines()[:1]} == {
            palette.scenario_color(run.name)
        }


def test_incidents_are_one_panel_per_sector_named_as_people_write_them(base):
    fig = figures.incidents_figure(base)
    shown = panels(fig)
    sectors = [sector.name for sector in base.scenario.border.sectors]
    assert len(shown) == len(sectors) == 5
    assert [ax.get_title() for ax in shown] == [sector_label(name) for name in sectors]
    assert "Al-Qaim" in [ax.get_title() for ax in shown]
    first = shown[0]
    for ax in shown[1:]:
        assert first.get_shared_x_axes().joined(first, ax)
        assert first.get_shared_y_axes().joined(first, ax)
    for ax in shown:
        steps = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-post"]
        assert len(steps) == 1 and len(bands(ax)) == 1  # one sector, one line, one band
    # the key sits in the grid's sixth, empty cell, where it covers no panel
    (spare,) = [ax for ax in fig.axes if not ax.axison]
    key = [t.get_text() for t in spare.get_legend().get_texts()]
    assert key == ["mean of 3 replications", "95% CI of the mean", "phase start"]
    assert not fig.legends


def test_a_month_cut_short_reads_in_incidents_per_month(base):
    rates = figures.incidents_per_month(base, "MS")
    daily = base.daily.assign(month=base.daily["date"].dt.to_period("M").dt.start_time)
    days = daily.groupby("month")["date"].nunique()
    assert days.iloc[0] == 15 and days.iloc[-1] == 31  # 17–31 January 2025; January 2026
    totals = daily.groupby(["replication", "sector", "month"], observed=True)["incidents"].sum()
    per_month = totals / days.reindex(totals.index.get_level_values("month")).to_numpy()
    expected = (per_month * 365.25 / 12).groupby(["sector", "month"], observed=True).mean()
    for i, sector in enumerate(rates.sectors):
        np.testing.assert_allclose(rates.mean[i][:-1], expected[sector].to_numpy())
        assert rates.mean[i][-1] == rates.mean[i][-2]  # the last step closed at the end
    assert rates.edges[-1] == np.datetime64("2026-01-31")
    assert rates.unit == "incidents per month"
    assert (
        figures.incidents_per_month(base, "QS").unit == "incidents per month (mean of each quarter)"
    )


@pytest.mark.parametrize(
    ("years", "run", "compared"),
    [(1, "MS", "MS"), (3, "MS", "QS"), (12, "QS", "YS"), (30, "YS", "YS")],
)
def test_periods_coarsen_with_the_horizon(years, run, compared):
    days = years * 365.25
    assert figures.period_for(days, figures.MAX_STEPS) == run
    assert figures.period_for(days, comparison.COMPARE_STEPS) == compared


def test_compared_incidents_read_at_fourteen_scenarios(base):
    names = list(palette.SHIPPED)
    assert len(names) == 14
    runs = [Renamed(base.run_dir, name) for name in names]
    colours = comparison.scenario_colors(runs)
    assert len(set(colours.values())) == 14
    fig = comparison.incidents_by_scenario_figure(runs, colours)
    shown = panels(fig)
    assert [ax.get_title() for ax in shown] == [
        sector_label(sector.name) for sector in base.scenario.border.sectors
    ]
    for ax in shown:
        lines = [line for line in ax.get_lines() if line.get_label().split(" (n=")[0] in colours]
        assert [line.get_color() for line in lines] == [colours[name] for name in names]
        # the reference alone keeps its band, and it is drawn wide under the others
        assert len(bands(ax)) == 1
        assert lines[0].get_linewidth() > lines[1].get_linewidth()
        assert lines[0].get_zorder() < lines[1].get_zorder()
    assert "95% CI of the reference (baseline) only" in fig.get_suptitle()
    (spare,) = [ax for ax in fig.axes if not ax.axison]
    key = [t.get_text() for t in spare.get_legend().get_texts()]
    assert key[:2] == ["baseline (n=3)", "95% CI of baseline"] and len(key) == 15
    # with a few scenarios, every band that shows is drawn
    few = comparison.incidents_by_scenario_figure(runs[:3], colours)
    assert all(len(bands(ax)) == 3 for ax in panels(few))


def test_no_band_is_promised_that_is_not_drawn(shipped, base, single, holding):
    # the drawdown is nearly deterministic: no band shows, and the title says so
    fig = figures.personnel_figure(shipped)
    assert not bands(fig.axes[0])
    assert "the 95% band is narrower than the lines" in fig.axes[0].get_title()
    # where the rule holds the drawdown in some replications, the bands show
    fig = figures.personnel_figure(holding)
    assert bands(fig.axes[0])
    assert "mean and 95% CI" in fig.axes[0].get_title()
    # one replication: no band, and no interval named
    for fig in (figures.personnel_figure(single), figures.incidents_figure(single)):
        title = fig.get_suptitle() or fig.axes[0].get_title()
        assert "1 replication" in title and "CI" not in title and "band" not in title
        assert not any(bands(ax) for ax in fig.axes)
    # over a short horizon a few days of transit make a band wide enough to see: only it
    fig = figures.personnel_figure(base)
    assert 0 < len(bands(fig.axes[0])) < len(fig.axes[0].get_lines())
    assert "bands narrower than their line not drawn" in fig.axes[0].get_title()
    in_iraq = comparison.in_iraq_figure([base, single], comparison.scenario_colors([base, single]))
    assert not bands(in_iraq.axes[0])
    assert "narrower than the lines" in in_iraq.axes[0].get_title()


def test_a_band_shows_only_when_wide_enough_for_long_enough():
    low = np.zeros(1000)
    assert not figures.band_shows(low, low + 5, span=1000)  # thinner than a line
    assert figures.band_shows(low, low + 50, span=1000)
    brief = np.where(np.arange(1000) < 5, 50.0, 0.0)  # five points of a thousand: a sliver
    assert not figures.band_shows(low, brief, span=1000)
    assert figures.band_shows(low, np.where(np.arange(1000) < 20, 50.0, 0.0), span=1000)
    assert not figures.band_shows(np.array([]), np.array([]), span=1)
    assert figures.band_note(1, []) == "1 replication"
    assert figures.band_note(4, [True, False]).startswith("mean and 95% CI, 4 replications; ")


def test_the_forest_axis_spans_the_bulk_and_cuts_the_extremes():
    """A KPI with a near-zero reference mean gives percentages of thousands; the axis keeps
    the bulk, with −100% always inside, and shows everything when nothing is extreme."""
    from sim.analysis.comparison import forest_limit

    rows = [[-100.0, -90.0], *([[-5.0, 20.0], [10.0, 40.0]] * 10), [-1300.0, 1250.0]]
    assert forest_limit(np.array(rows)) == 110.0  # the bulk, with −100% inside
    wide = np.array([[-300.0, 290.0]] * 20 + [[-1300.0, 1250.0]])
    assert forest_limit(wide) == pytest.approx(1.2 * 300.0)
    assert forest_limit(np.array([[-3.0, 4.0], [1.0, 8.0]])) == pytest.approx(8.0 * 1.05)
    assert forest_limit(np.array([[np.nan, np.inf]])) == 110.0
