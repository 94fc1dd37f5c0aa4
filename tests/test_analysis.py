"""Comparison statistics against a hand computation, figures, and the HTML report."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

import sim
from sim.analysis import comparison, figures
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
            scenario, 5, seed, out=root / label, executor="serial", progress=False, plots=False
        )

    return {
        "base": run("base", [], 7),
        "busy": run("busy", ["threats.processes.al_qaim_isis.background_rate_per_day=0.4"], 7),
        "other_seed": run("other_seed", [], 8),
        "early": run("early", ["forces.phases.phase_2.start_date=2026-03-01"], 7),
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
    lines = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label().split(" ")[0] for line in lines] == ["base", "busy"]
    assert [line.get_color() for line in lines] == [colors["base"], colors["busy"]]
    assert ax.get_ylabel() == "coalition personnel in Iraq"
    sectors = fig.axes
    forest = comparison.forest_figure(compare_runs(loaded), colors)
    assert "% of the reference mean" in forest.axes[0].get_xlabel()
    incidents = comparison.incidents_figure(loaded, colors)
    titled = [ax.get_title() for ax in incidents.axes if ax.get_visible()]
    assert titled == ["al_walid", "al_qaim", "jazira", "sinjar", "rabia"]
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
    assert "KPIs (mean with 95% confidence interval)" in page and ">incidents<" in page
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 3 + 2 * 2
    assert "config_hash" in page and sim.load_results(runs["base"]).manifest["config_hash"] in page
    assert not re.search(r'src="(?!data:)', page), "no external resources"
