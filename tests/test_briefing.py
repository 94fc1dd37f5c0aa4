"""The briefing layer: KPIs by period against a direct count, exceedance probabilities
against a direct count and the Wilson formula, what a scenario changes, and the one-page
brief (one PDF page; HTML that a strict parser accepts and that refers to nothing outside)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import html5lib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim.analysis.brief import brief
from sim.analysis.changes import config_changes, grouped
from sim.analysis.exceedance import Threshold, exceedance_table, parse_threshold
from sim.analysis.periods import Period, compare_periods, parse_period, period_kpis, phase_periods
from sim.analysis.report import report
from sim.cli import main
from sim.experiment.errors import RunError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The baseline and the resurgence, 8 replications each, one root seed (paired)."""
    folder = tmp_path_factory.mktemp("briefing")
    return [
        sim.load_results(
            sim.run_experiment(
                ROOT / f"scenarios/{name}.yaml", 8, 3, executor="serial", out=folder / name
            )
        )
        for name in ("baseline", "isis_resurgence")
    ]


def test_phase_periods_cut_the_clock_at_the_phase_dates(runs):
    periods = phase_periods(runs[0])
    assert [p.name for p in periods] == [
        "before phase_1",
        "phase_1 to phase_2",
        "after phase_2",
    ]
    # baseline: 2025-01-01 to 2027-12-31 (exclusive), phases 2025-09-01 and 2026-09-01
    assert [(p.start_day, p.end_day) for p in periods] == [(0, 243), (243, 608), (608, 1094)]


def test_a_paired_period_comparison_is_the_direct_count_from_the_incidents_table(runs):
    """By hand: count each replication's incidents in [start, end) from the incidents table,
    divide by the period's months, take scenario minus baseline replication by replication,
    and average; the comparison must give the same number, and its interval the paired t."""
    periods = [parse_period("spring 2026=2026-03-01..2026-06-01", runs[0]), *phase_periods(runs[0])]
    table = compare_periods(runs, periods)
    for period in periods:
        counts = []
        for run in runs:
            incidents = run.incidents
            inside = incidents[
                (incidents["day"] >= period.start_day) & (incidents["day"] < period.end_day)
            ]
            per = inside.groupby("replication").size().reindex(range(8), fill_value=0)
            counts.append(per.to_numpy() / period.months)
        difference = counts[1] - counts[0]
        row = table[(table["period"] == period.name) & (table["kpi"] == "incidents_per_month")]
        assert len(row) == 1
        row = row.iloc[0]
        assert row["difference"] == pytest.approx(difference.mean(), abs=1e-12)
        assert row["reference_mean"] == pytest.approx(counts[0].mean(), abs=1e-12)
        half = 2.3646242510102993 * difference.std(ddof=1) / math.sqrt(8)  # t(0.975, 7)
        assert row["diff_ci_high"] - row["difference"] == pytest.approx(half, rel=1e-9)
        assert row["method"] == "paired t"
    spring = periods[0]
    assert spring.months == pytest.approx(92 / (365.25 / 12))


def test_period_kpis_list_every_replication_even_without_incidents(runs):
    empty = Period("one hour", 10.0, 10.0 + 1 / 24)
    rows = period_kpis(runs[0], [empty])
    assert sorted(rows["replication"]) == list(range(8))
    assert (rows["incidents_per_month"] >= 0).all()


@pytest.mark.parametrize(
    "text, says",
    [
        ("nodates", "expected NAME=YYYY-MM-DD..YYYY-MM-DD"),
        ("x=2026-02-30..2026-03-01", "day is out of range"),
        ("x=2024-01-01..2025-03-01", "within the run's clock, 2025-01-01 to 2027-12-31"),
        ("x=2026-03-01..2026-03-01", "non-empty"),
    ],
)
def test_a_bad_period_says_what_is_wrong(runs, text, says):
    with pytest.raises(RunError, match=re.escape(says)):
        parse_period(text, runs[0])


def test_exceedance_is_the_direct_count_with_the_wilson_interval(runs):
    values = runs[1].kpis["incidents"].to_numpy(float)
    threshold = float(np.median(values))
    table = exceedance_table(runs, [Threshold("incidents", threshold, "given")])
    row = table[table["scenario"] == runs[1].name].iloc[0]
    k, n = int((values >= threshold).sum()), len(values)
    assert (row["exceed"], row["n"], row["probability"]) == (k, n, k / n)
    z, p = 1.959963984540054, k / n  # Wilson (1927) by hand
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert row["ci_low"] == pytest.approx(centre - half, rel=1e-9)
    assert row["ci_high"] == pytest.approx(centre + half, rel=1e-9)
    assert row["method"] == "Wilson score"


def test_exceedance_thresholds_are_checked(runs):
    assert parse_threshold("peak_week_incidents>=5") == Threshold(
        "peak_week_incidents", 5.0, "given"
    )
    with pytest.raises(RunError, match="expected KPI>=NUMBER"):
        parse_threshold("peak_week_incidents > five")
    with pytest.raises(RunError, match="no KPI 'nonsense'"):
        exceedance_table(runs, [Threshold("nonsense", 1.0, "given")])


def test_changes_match_named_items_and_leave_out_metadata_and_run_settings():
    a = {
        "metadata": {"name": "a"},
        "run": {"seed": 1},
        "threats": {"processes": [{"name": "p", "rate": 1}, {"name": "q", "rate": 2}]},
        "clock": {"end_date": "2027-12-31"},
    }
    b = {
        "metadata": {"name": "b"},
        "run": {"seed": 2},
        "threats": {"processes": [{"name": "q", "rate": 3}, {"name": "r", "rate": 1}]},
        "clock": {"end_date": "2027-12-31"},
    }
    changes = config_changes(a, b)
    assert [(c.path, c.reference, c.scenario) for c in changes] == [
        ("threats.processes[p]", {"name": "p", "rate": 1}, "(absent)"),
        ("threats.processes[q].rate", 2, 3),
        ("threats.processes[r]", "(absent)", {"name": "r", "rate": 1}),
    ]
    assert grouped(changes) == ["threats.processes[…] ×2", "threats.processes[…].rate"]


def test_the_resurgence_changes_what_its_story_says(runs):
    """isis_resurgence raises the ISIS sectors' background and branching from 2026: its
    changes are those steps, nothing of the drawdown."""
    changes = config_changes(runs[0].manifest.config, runs[1].manifest.config)
    assert changes and all(c.path.startswith("threats.processes[") for c in changes)
    assert {c.path.rsplit(".", 1)[1] for c in changes} == {"background_steps", "branching_steps"}


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


def test_the_brief_is_one_a4_page_and_its_html_stands_alone(runs, tmp_path):
    dirs = [r.run_dir for r in runs]
    pdf = brief(dirs, tmp_path / "brief.pdf").read_bytes()
    assert _pdf_pages(pdf) == 1
    assert re.search(rb"/MediaBox\s*\[\s*0 0 595\.\d+ 841\.\d+\s*\]", pdf)  # A4 in points
    page = brief(dirs, tmp_path / "brief.html").read_text()
    html5lib.HTMLParser(strict=True).parse(page)  # raises on any parse error
    assert not re.search(r"""(?:href|src|action)\s*=\s*(?!["']?data:)""", page)
    assert "<link" not in page and "<script" not in page and "@import" not in page
    assert "isis_resurgence" in page and "95% CI" in page and "NOTIONAL" in page
    for run in runs:
        assert run.manifest.config_hash[:12] in page


def test_brief_refusals_are_one_line_exit_2(runs, tmp_path):
    dirs = [str(r.run_dir) for r in runs]
    cases = [
        ([*dirs, "--out", str(tmp_path / "b.txt")], "a brief is a .pdf or an .html file"),
        ([*dirs * 3, "--out", str(tmp_path / "b.pdf")], "holds 1 to 4 runs, not 6"),
        (
            [*dirs, "--out", str(runs[0].run_dir / "kpis.parquet.pdf")],
            None,  # a new file in a run folder is fine
        ),
    ]
    for args, says in cases:
        result = CliRunner().invoke(main, ["brief", *args])
        if says is None:
            assert result.exit_code == 0, result.output
            (runs[0].run_dir / "kpis.parquet.pdf").unlink()
            continue
        assert result.exit_code == 2, result.output
        assert says in result.output and "Traceback" not in result.output
    other = runs[0].run_dir / "notes.pdf"
    other.write_bytes(b"%PDF-1.4 someone else's file")
    result = CliRunner().invoke(main, ["brief", *dirs, "--out", str(other)])
    assert result.exit_code == 2 and "that is not a brief" in result.output
    assert other.read_bytes() == b"%PDF-1.4 someone else's file"
    other.unlink()


def test_kpi_periods_from_the_incidents_table_agree_with_the_kpis_total(runs):
    """The periods tile the clock, so their counts add up to the run's incidents KPI."""
    periods = phase_periods(runs[0])
    rows = period_kpis(runs[0], periods)
    months = pd.Series({p.name: p.months for p in periods})
    counts = (
        (rows.set_index("period")["incidents_per_month"] * months)
        .groupby(rows["replication"].to_numpy())
        .sum()
    )
    assert counts.round(9).to_numpy() == pytest.approx(
        runs[0].kpis.sort_values("replication")["incidents"].to_numpy()
    )


def test_a_hostile_description_is_text_in_both_briefs(runs, tmp_path):
    """A description is the scenario author's words: markup stays text in the HTML, and
    dollar signs stay dollars in the PDF (matplotlib would read "$…$" as mathtext)."""
    words = 'Costs $5 or $6 a_b^c <script>alert("x")</script> & more. Second sentence.'
    hostile = sim.run_experiment(
        ROOT / "scenarios/isis_resurgence.yaml",
        2,
        3,
        executor="serial",
        out=tmp_path / "hostile",
        overrides=[f"metadata.description={words}"],
    )
    pdf = brief([runs[0].run_dir, hostile], tmp_path / "b.pdf").read_bytes()
    assert _pdf_pages(pdf) == 1
    page = brief([runs[0].run_dir, hostile], tmp_path / "b.html").read_text()
    html5lib.HTMLParser(strict=True).parse(page)
    assert "<script" not in page and "&lt;script&gt;" in page


def test_the_report_flags_an_overloaded_queue(tmp_path):
    """M/M/1 at four arrivals a day for a day's handling: the queue grows without bound; the
    report says how many wait at the horizon and gives both means."""
    overloaded = sim.run_experiment(
        ROOT / "scenarios/validation/mmk.yaml",
        3,
        7,
        executor="serial",
        out=tmp_path / "mm1",
        overrides={
            "clock.end_date": "2025-03-02",
            "border.sectors.sector_a.response_units": 1,
            "threats.processes.arrivals_a.rate_per_day": 4,
        },
    )
    kpis = sim.load_results(overloaded).kpis
    assert (kpis["mean_wait_censored_days"] > kpis["mean_wait_days"]).all()
    page = report([overloaded], tmp_path / "r.html").read_text()
    flag = re.search(r'<p class="flag">(.*?)</p>', page, re.S)
    assert flag, "no overload flag"
    text = flag[1]
    assert f"{kpis['waiting_at_horizon'].mean():.1f} detected incidents were still waiting" in text
    assert f"{kpis['mean_wait_censored_days'].mean():.2f} days, against" in text
    assert f"{kpis['mean_wait_days'].mean():.2f} days over the incidents answered" in text


def test_the_risk_timeline_starts_on_the_first_day_and_totals_the_sectors(runs):
    from sim.analysis.timeline import TOTAL, weekly_intensity

    weekly = weekly_intensity(runs[0])
    assert weekly["week"].min() == pd.Timestamp("2025-01-01")  # not the Monday before
    by = weekly.pivot(index="week", columns="sector", values="mean")
    sectors = [c for c in by.columns if c != TOTAL]
    assert by[TOTAL].to_numpy() == pytest.approx(by[sectors].sum(axis=1).to_numpy())


def test_outputs_never_go_among_a_runs_tables(runs, tmp_path):
    """A stray file inside RUN/kpis.parquet/ breaks every reader of that table."""
    inside = runs[0].run_dir / "kpis.parquet" / "brief.pdf"
    for command, out in (("brief", inside), ("report", inside.with_suffix(".html"))):
        result = CliRunner().invoke(main, [command, str(runs[0].run_dir), "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert "among its tables" in result.output and not out.exists()


def test_periods_need_names_of_their_own_and_thresholds_name_kpis(runs):
    twice = [parse_period("x=2025-02-01..2025-03-01", runs[0])] * 2
    with pytest.raises(RunError, match="x is given twice"):
        compare_periods(runs, twice)
    with pytest.raises(RunError, match="no KPI 'replication'"):
        exceedance_table(runs, [parse_threshold("replication>=3")])
    same = parse_threshold("incidents>=300")
    assert len(exceedance_table(runs, [same, same])) == len(runs)  # counted once
    assert parse_threshold("incidents>=-0").rule == "incidents ≥ 0"
