"""Comparison statistics against a hand computation, figures, and the HTML report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

import sim
from sim.analysis import comparison, drawn, figures
from sim.analysis.palette import sector_label
from sim.analysis.summary import compare_kpi, compare_runs, pairing, summarize_kpis
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHORT = ["clock.end_date=2026-12-31"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A baseline and a variant with a quicker airlift, same seed; and one with another seed."""
    root = tmp_path_factory.mktemp("runs")

    def run(label, overrides, seed):
        scenario = sim.load_scenario(BASELINE, [*SHORT, f"metadata.name={label}", *overrides])
        return sim.run_experiment(
            scenario, 5, seed, out=root / label, executor="serial", progress=False
        )

    return {
        "base": run("base", [], 7),
        "busy": run("busy", ["threats.processes.al_qaim_isis.background_rate_per_day=0.4"], 7),
        "other_seed": run("other_seed", [], 8),
        # Phase 1 (Ain al-Asad, the base nearest the western sectors) three months early:
        # the al-Qaeda sectors feel it (moving Phase 2, in Erbil, would not reach them)
        "early": run("early", ["forces.phases.phase_1.start_date=2025-06-01"], 7),
    }


def test_paired_difference_and_interval_match_a_hand_computation(runs):
    base, busy = sim.load_results(runs["base"]), sim.load_results(runs["busy"])
    table = compare_runs([base, busy])
    row = table.set_index("kpi").loc["incidents"]
    a = base.kpis.sort_values("replication")["incidents"].to_numpy(float)
    b = busy.kpis.sort_values("replication")["incidents"].to_numpy(float)
    d = b - a
    n = len(d)
    half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)  # the textbook interval
    assert row["difference"] == pytest.approx(d.mean())
    assert row["diff_ci_low"] == pytest.approx(d.mean() - half)
    assert row["diff_ci_high"] == pytest.approx(d.mean() + half)
    assert row["method"] == "paired t"
    unpaired = (a.var(ddof=1) + b.var(ddof=1)) / n
    assert row["variance_reduction"] == pytest.approx(unpaired / (d.var(ddof=1) / n))
    assert row["difference"] > 0, "a fourfold al-Qaim rate must add incidents"


def test_common_random_numbers_shrink_the_interval(runs):
    # A drawdown change leaves every thinning bound alone, so the Poisson processes' candidate
    # times are shared and only acceptances differ: pairing removes most of the noise. (Hawkes
    # processes decorrelate faster: one changed incident changes Ogata's bound from then on.)
    def al_qaeda_counts(run_dir):
        incidents = sim.load_results(run_dir).incidents
        counts = incidents[incidents["actor"] == "al_qaeda"].groupby("replication").size()
        return counts.reindex(range(5), fill_value=0).to_numpy(float)

    result = compare_kpi(al_qaeda_counts(runs["base"]), al_qaeda_counts(runs["early"]), True)
    assert result["variance_reduction"] > 5.0


def test_runs_with_different_seeds_fall_back_to_welch_with_a_note(runs):
    base, other = sim.load_results(runs["base"]), sim.load_results(runs["other_seed"])
    assert not pairing(base, other).pairable
    table = compare_runs([base, other])
    assert set(table["method"]) <= {"Welch t", "exact (no variation)"}
    assert table.set_index("kpi").loc["incidents", "method"] == "Welch t"
    assert table["note"].str.contains("root seeds differ").all()
    a, b = base.kpis["incidents"].to_numpy(float), other.kpis["incidents"].to_numpy(float)
    expected = stats.ttest_ind(b, a, equal_var=False).confidence_interval()
    row = table.set_index("kpi").loc["incidents"]
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx(tuple(expected))


def test_constant_differences_are_reported_without_spurious_intervals():
    a = np.array([1.0, 2.0, 3.0])
    result = compare_kpi(a, a + 2.0, paired=True)
    assert result["difference"] == 2.0
    assert result["diff_ci_low"] == result["diff_ci_high"] == 2.0
    assert result["p_value"] == 0.0


def test_kpi_summary_interval_is_the_t_interval(runs):
    run = sim.load_results(runs["base"])
    row = summarize_kpis(run).set_index("kpi").loc["incidents"]
    values = run.kpis["incidents"].to_numpy(float)
    low, high = stats.t.interval(0.95, len(values) - 1, values.mean(), stats.sem(values))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))


def test_compare_command_writes_tables_and_valid_figures(runs, tmp_path):
    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        main, ["compare", str(runs["base"]), str(runs["busy"]), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    csv = (out / "comparison.csv").read_text()
    assert csv.startswith("reference,scenario,kpi,")
    assert "| busy | incidents |" in (out / "comparison.md").read_text()
    for name in ("in_iraq.png", "incidents_by_sector.png", "kpi_differences.png"):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC


def test_comparison_figures_have_one_line_per_scenario_and_labelled_axes(runs):
    loaded = [sim.load_results(runs[k]) for k in ("base", "busy")]
    colors = comparison.scenario_colors(loaded)
    fig = comparison.in_iraq_figure(loaded, colors)
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if line.get_label()[:1] != "_"]
    lines = [line for line in lines if line.get_label() != "phase start"]
    assert [line.get_label().split(" ")[0] for line in lines] == ["base", "busy"]
    assert [line.get_color() for line in lines] == [colors["base"], colors["busy"]]
    assert ax.get_ylabel() == "coalition personnel in Iraq"
    sectors = fig.axes
    forest = comparison.forest_figure(compare_runs(loaded), colors)
    assert "% of the reference mean" in forest.axes[0].get_xlabel()
    incidents = comparison.incidents_by_scenario_figure(loaded, colors)
    titled = [ax.get_title() for ax in incidents.axes if ax.axison]
    assert titled == [sector_label(sector.name) for sector in loaded[0].scenario.border.sectors]
    assert len(sectors) == 1


def test_run_figures_mark_phases_and_name_the_scenario(runs):
    run = sim.load_results(runs["base"])
    fig = figures.personnel_figure(run)
    ax = fig.axes[0]
    assert "base" in ax.get_title() and "5 replications" in ax.get_title()
    assert ax.get_ylabel() == "personnel" and ax.get_xlabel() == "date"
    annotations = {t.get_text() for t in ax.texts}
    assert {"phase 1", "phase 2"} <= annotations


def test_report_is_one_self_contained_html_file(runs, tmp_path):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        main, ["report", str(runs["base"]), str(runs["busy"]), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "Comparison against base" in page
    assert "KPIs (mean with 95% confidence interval; 5th, 50th, 95th" in page
    assert ">incidents<" in page and "By period" in page and "KPI definitions" in page
    assert "What it changes from base" in page and "Exceedance probabilities" in page
    # comparison 3, the risk timeline 1, each run's personnel and incidents 2
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 3 + 1 + 2 * 2
    assert "config_hash" in page and sim.load_results(runs["base"]).manifest.config_hash in page
    assert not re.search(r'src="(?!data:)', page), "no external resources"


# The run figures: computed with numpy from the columns they draw, equal to the long-table
# computation (forces_at, pandas groupby, mean_band) that they replace.


def _long_table_bands(run):
    from sim.analysis.bands import mean_band
    from sim.analysis.forces import forces_at

    at = forces_at(run.forces, run.posture["day"].unique())
    per_site = at.groupby(["replication", "date", "site"], observed=True)["personnel"].sum()
    daily = run.daily
    months = daily.assign(period=daily["date"].dt.to_period("M").dt.start_time)
    per_month = months.groupby(["replication", "period", "sector"], observed=True)["incidents"]
    return (
        mean_band(per_site.reset_index(), "personnel", ["site", "date"]),
        mean_band(run.posture, "in_iraq", ["date"]),
        mean_band(per_month.sum().reset_index(), "incidents", ["sector", "period"]),
    )


@pytest.fixture(scope="module")
def triggered(tmp_path_factory):
    """A short repositioning run whose rule holds the drawdown several times."""
    rule = "forces.repositioning.emergency_return"
    scenario = sim.load_scenario(
        ROOT / "scenarios" / "repositioning.yaml",
        [*SHORT, f"{rule}.hold_above_expected=1.2", f"{rule}.release_below_expected=0.6"],
    )
    out = tmp_path_factory.mktemp("triggered") / "run"
    return sim.run_experiment(scenario, 3, 7, out=out, executor="serial", progress=False)


@pytest.mark.parametrize("opened", ["load_results", "run_figures"])
@pytest.mark.parametrize("which", ["base", "triggered"])
def test_run_figure_bands_equal_the_long_table_computation(runs, triggered, which, opened):
    run_dir = triggered if which == "triggered" else runs["base"]
    # run_figures opens a run reading only the columns it draws, as pyarrow tables
    run = drawn.Drawn(run_dir) if opened == "run_figures" else sim.load_results(run_dir)
    full = sim.load_results(run_dir)
    sites_band, in_iraq_band, incidents_band = _long_table_bands(full)

    sites, dates, band = figures.site_bands(run)
    mean, low, high = band.interval()
    assert list(sites) == sorted(full.forces["site"].unique())
    for i, site in enumerate(sites):
        expected = sites_band[sites_band["site"] == site]
        assert (expected["date"].to_numpy() == dates).all()
        assert np.allclose(expected["mean"], mean[i], rtol=1e-12, atol=1e-9)
        assert np.allclose(expected["ci_low"], low[i], rtol=1e-12, atol=1e-9)
        assert np.allclose(expected["ci_high"], high[i], rtol=1e-12, atol=1e-9)
        assert (expected["n"].to_numpy() == band.n[i]).all()

    when, in_iraq = figures.in_iraq_band(run)
    assert (in_iraq_band["date"].to_numpy() == when).all()
    for got, column in zip(in_iraq.interval(), ["mean", "ci_low", "ci_high"], strict=True):
        assert np.allclose(in_iraq_band[column], got, rtol=1e-12, atol=1e-9)

    sectors, periods, by_month = figures.incidents_by_period(run)
    assert list(sectors) == sorted(full.daily["sector"].unique())
    mean, low, high = by_month.interval()
    for i, sector in enumerate(sectors):
        expected = incidents_band[incidents_band["sector"] == sector]
        assert (pd.DatetimeIndex(expected["period"]).to_numpy() == periods).all()
        assert np.allclose(expected["mean"], mean[i], rtol=1e-12, atol=1e-12)
        assert np.allclose(expected["ci_low"], low[i], rtol=1e-12, atol=1e-12)


def test_run_figures_mark_triggers_and_label_both_figures(triggered):
    run = sim.load_results(triggered)
    fig = figures.personnel_figure(run)
    ax = fig.axes[0]
    holds = (run.policy["action"] == "hold").sum()
    marks = [line for line in ax.get_lines() if line.get_marker() == "v"]
    assert len(marks) == 1 and len(marks[0].get_xdata()) == holds > 0
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    (erbil,) = [site.label for site in run.scenario.forces.sites if site.name == "erbil"]
    assert "total in Iraq" in labels and erbil in labels  # sites by their label
    incidents = figures.incidents_figure(run)
    ax = incidents.axes[0]
    assert incidents.get_supylabel() == "incidents per month"
    assert "repositioning" in incidents.get_suptitle()
    assert "3 replications" in incidents.get_suptitle()
    assert {"phase 1", "phase 2"} <= {t.get_text() for t in ax.texts}
    sectors = [ax.get_title() for ax in incidents.axes if ax.axison]
    assert sectors == [sector_label(x.name) for x in run.scenario.border.sectors]
    marked = [line for ax in incidents.axes for line in ax.get_lines() if line.get_marker() == "v"]
    assert len(marked) == len(sectors) and len(marked[0].get_xdata()) == holds


def test_run_figures_write_pngs_of_the_usual_size(triggered, tmp_path):
    import shutil

    from PIL import Image

    run_dir = tmp_path / "run"
    shutil.copytree(triggered, run_dir)
    written = figures.run_figures(run_dir)
    assert [p.name for p in written] == ["personnel.png", "incidents.png", "map.png"]
    for path in written:
        assert path.read_bytes()[:8] == PNG_MAGIC
    for path in written[:2]:
        with Image.open(path) as image:
            assert image.size == (1100, 605)  # 10 x 5.5 inches at 110 dpi


@pytest.mark.parametrize("freq", ["D", "W", "MS", "Q", "Y"])
def test_period_starts_are_those_of_pandas(freq):
    dates = pd.date_range("1969-12-20", "2028-03-03", freq="37h").to_numpy()
    expected = pd.DatetimeIndex(dates).to_period(freq[0]).start_time.to_numpy()
    assert (figures.period_starts(dates, freq) == expected.astype("datetime64[D]")).all()


def test_bands_merged_from_chunks_equal_one_pass():
    from sim.analysis.bands import Band

    rng = np.random.default_rng(3)
    values = rng.normal(1000.0, 50.0, size=(37, 4, 9))
    present = rng.random((37, 4, 9)) > 0.2
    whole = Band.of(values, present)
    chunked = Band.empty((4, 9))
    for start in range(0, 37, 5):
        chunked.add(values[start : start + 5], present[start : start + 5])
    assert (chunked.n == whole.n).all()
    assert np.allclose(chunked.interval(), whole.interval(), rtol=1e-12, equal_nan=True)
    cell = values[:, 2, 5][present[:, 2, 5]]
    n = len(cell)
    half = stats.t.ppf(0.975, n - 1) * cell.std(ddof=1) / np.sqrt(n)
    mean, low, high = whole.interval()
    assert (mean[2, 5], low[2, 5], high[2, 5]) == pytest.approx(
        (cell.mean(), cell.mean() - half, cell.mean() + half), rel=1e-12
    )


def test_site_totals_in_small_chunks_equal_one_chunk(runs):
    from sim.analysis.forces import site_totals

    run = sim.load_results(runs["base"])
    days = run.posture["day"].to_numpy()
    sites, kept, chunks = site_totals(run.forces, days)
    one = list(chunks)
    assert len(one) == 1 and one[0][0].shape == (5, len(sites), len(kept))
    _, _, small = site_totals(run.forces, days, cells=1)  # a replication per chunk
    parts = list(small)
    assert len(parts) == 5
    assert (np.concatenate([values for values, _ in parts]) == one[0][0]).all()
    assert (np.concatenate([present for _, present in parts]) == one[0][1]).all()


def test_as_numpy_reads_arrow_buffers_as_pyarrow_would():
    import pyarrow as pa

    from sim.analysis.bands import as_numpy

    cases = [
        pa.array(np.arange(10, dtype=np.int64)).slice(3, 4),
        pa.array(np.linspace(0, 1, 7)).slice(2),
        pa.array(np.arange(5, dtype=np.int32)),
        pa.array(np.array(["2025-01-01", "2026-06-30"], dtype="datetime64[ms]")).slice(1),
        pa.array(["b", "a", "b"]),
        pa.array([1.0, None, 3.0]),  # missing values: pyarrow's own conversion
        pa.chunked_array([pa.array([1, 2]), pa.array([3])]),
        pa.array(np.zeros(0)),
    ]
    for array in cases:
        expected = array.to_numpy(zero_copy_only=False)
        got = as_numpy(array)
        assert got.dtype == expected.dtype
        assert np.array_equal(got, expected, equal_nan=got.dtype.kind == "f")


@pytest.mark.parametrize(
    "module",
    [
        "figures",
        "drawn",
        "map",
        "bands",
        "forces",
        "comparison",
        "sensitivity",
        "report",
        "summary",
    ],
)
def test_importing_the_analysis_leaves_the_matplotlib_backend_alone(module):
    """A notebook's inline backend must survive ``import sim.analysis.<module>``."""
    code = (
        "import matplotlib, matplotlib.pyplot\n"
        f"import sim.analysis.{module}\n"
        "print(matplotlib.get_backend())"
    )
    env = {**os.environ, "MPLBACKEND": "svg"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "svg", f"importing sim.analysis.{module} switched the backend"


def test_run_figures_need_neither_pyplot_nor_pandas(triggered, tmp_path):
    """Pyplot would tie the figures to a backend; pandas costs 0.4 s a run (import, exit)."""
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(triggered, run_dir)
    code = (
        "import sys\n"
        "from sim.analysis.figures import run_figures\n"
        f"run_figures({str(run_dir)!r})\n"
        "print(sorted(m for m in ('matplotlib.pyplot', 'pandas') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_scenario_of_compare_all_gets_its_own_colour():
    from types import SimpleNamespace

    runs = [SimpleNamespace(name=f"s{i}") for i in range(20)]
    colors = comparison.scenario_colors(runs)
    assert len(set(colors.values())) == 20
    assert len(set(comparison.scenario_colors(runs[:10]).values())) == 10
