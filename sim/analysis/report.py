"""``withdrawal-sim report``: one self-contained HTML file for one or more runs.

Figures are embedded as base64 PNG and tables as HTML, so the file opens in any browser
with no server and no other files. With several runs, the first is the reference and the
report adds the paired comparison.

Run folders may come from someone else, so the report writes exactly one file, the one the
user named: figures are rendered in memory (no file name is ever made from a scenario
name), and the output must be an ``.html`` file that, inside a run folder, replaces nothing
but a previous report.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from sim.analysis import comparison, figures
from sim.analysis.changes import config_changes, describe
from sim.analysis.exceedance import chosen_thresholds, exceedance_table
from sim.analysis.figures import figure_bytes
from sim.analysis.periods import (
    PERIOD_KPIS,
    Period,
    chosen_periods,
    compare_periods,
    period_kpis,
)
from sim.analysis.runs import REPORT_TABLES, check_output, load_runs
from sim.analysis.summary import compare_runs, kpi_definitions, kpi_names, summarize_kpis
from sim.analysis.timeline import exposure, timeline_figure
from sim.experiment.results import RunResults
from sim.experiment.store import atomic_write_bytes

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1, h2, h3 { font-weight: 600; } table { border-collapse: collapse; font-size: 0.85rem; }
td, th { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5rem 0; }
.meta td { text-align: left; } .scroll { overflow-x: auto; }
td { white-space: nowrap; } .note { color: #555; font-size: 0.9rem; }
.flag { background: #fff3cd; border-left: 4px solid #d39e00; padding: 0.4rem 0.6rem; }
"""


TITLE = "withdrawal-sim: "  # every report's <title> starts so; it marks a previous report


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def _number(value: float) -> str:
    """Four significant digits, but large amounts (person-days) in full with separators,
    not as 2.546e+05."""
    return f"{value:,.0f}" if abs(value) >= 1e5 else f"{value:.4g}"


def _table(frame: pd.DataFrame, cls: str = "") -> str:
    body = frame.to_html(index=False, float_format=_number, classes=cls, border=0)
    return f'<div class="scroll">{body}</div>'


def _parameters(run: RunResults) -> pd.DataFrame:
    config = run.manifest.config
    rows = []
    for phase in config["forces"]["phases"]:
        shares = ", ".join(f"{k} {v:g}" for k, v in phase["destinations"].items())
        rows.append(
            (
                "phase",
                phase["name"],
                f"from {phase['start_date']}: reduce {', '.join(phase['reduce'])} -> {shares}",
            )
        )
    for asset in config["forces"]["lift"]:
        rows.append(
            (
                "lift",
                asset["name"],
                f"{asset['capacity_personnel']} personnel x {asset['lifts_per_day']} per day",
            )
        )
    for rule in config["forces"]["repositioning"]:
        rows.append(
            (
                "repositioning",
                rule["name"],
                f"{rule['signal']} >= {rule['hold_above']}: "
                f"hold, return {rule['return_personnel']} to {rule['return_to']}",
            )
        )
    for proc in config["threats"]["processes"]:
        rate = proc.get("rate_per_day", proc.get("background_rate_per_day"))
        extra = f", n={proc['branching_ratio']}" if proc["kind"] == "hawkes" else ""
        where = proc.get("sector") or f"{proc.get('place')} (Syrian side)"
        rows.append(
            (
                "process",
                proc["name"],
                f"{proc['kind']} {proc['actor']} in {where}: {rate}/day{extra}",
            )
        )
    return pd.DataFrame(rows, columns=["part", "name", "setting"])


def _provenance(run: RunResults) -> pd.DataFrame:
    m = run.manifest
    keys = [
        "scenario",
        "status",
        "replications",
        "completed_replications",
        "root_seed",
        "config_hash",
        "git_commit",
        "executor",
        "jobs",
        "started_at",
        "finished_at",
        "elapsed_seconds",
        "stop_reason",
        "source",
    ]
    rows = [(k, str(getattr(m, k))) for k in keys]
    versions = ", ".join(f"{k} {v}" for k, v in (m.versions or {}).items())
    rows.append(("versions", versions or "None"))
    rows.append(("run folder", str(run.run_dir)))
    return pd.DataFrame(rows, columns=["field", "value"])


def _changes(run: RunResults, reference: RunResults) -> str:
    """What ``run`` changes from the reference: every merged value that differs."""
    if run is reference:
        return "<h3>Key parameters</h3>" + _table(_parameters(run), "meta")
    changes = config_changes(reference.manifest.config, run.manifest.config)
    if not changes:
        return f"<p>Same configuration as {html.escape(reference.name)}.</p>"
    frame = pd.DataFrame(
        [(c.path, describe(c.reference), describe(c.scenario)) for c in changes],
        columns=["setting (dotted path)", reference.name, run.name],
    )
    return f"<h3>What it changes from {html.escape(reference.name)}</h3>" + _table(frame, "meta")


def _waits(run: RunResults) -> str:
    """A flag when incidents were still waiting for a unit at the horizon: the mean wait of
    those answered then understates the queue."""
    kpis = run.kpis
    if "waiting_at_horizon" not in kpis.columns or not (kpis["waiting_at_horizon"] > 0).any():
        return ""
    return (
        '<p class="flag">Overloaded queue: on average '
        f"{kpis['waiting_at_horizon'].mean():.1f} detected incidents were still waiting for a "
        f"unit at the horizon (in {(kpis['waiting_at_horizon'] > 0).mean():.0%} of "
        "replications). The mean wait counting them as censored (Kaplan–Meier restricted "
        f"mean) is {kpis['mean_wait_censored_days'].mean():.2f} days, against "
        f"{kpis['mean_wait_days'].mean():.2f} days over the incidents answered.</p>"
    )


def _run_section(run: RunResults, reference: RunResults, periods: list[Period]) -> str:
    m = run.manifest
    personnel = figure_bytes(figures.personnel_figure(run))
    incidents = figure_bytes(figures.incidents_figure(run))
    by_period = (
        period_kpis(run, periods)
        .groupby("period", sort=False)[list(PERIOD_KPIS)]
        .agg(["mean", lambda v: v.quantile(0.05), lambda v: v.quantile(0.95)])
    )
    by_period.columns = [f"{kpi} {stat}" for kpi in PERIOD_KPIS for stat in ("mean", "p05", "p95")]
    return "\n".join(
        [
            f"<h2>{html.escape(run.name)}</h2>",
            f"<p>{html.escape(m.description or '')}</p>",
            _changes(run, reference),
            "<h3>KPIs (mean with 95% confidence interval; 5th, 50th, 95th percentiles)</h3>",
            _waits(run),
            _table(summarize_kpis(run)),
            "<h3>By period (a month; mean and 5th/95th percentiles over replications)</h3>",
            _table(by_period.reset_index()),
            "<h3>Exposure: person-days at each site in theatre (mean, 95% CI)</h3>",
            _table(exposure(run, periods)),
            _img(personnel, f"{run.name}: personnel by site"),
            _img(incidents, f"{run.name}: incidents by sector"),
            "<h3>Provenance</h3>",
            _table(_provenance(run), "meta"),
        ]
    )


def _is_report(path: Path) -> bool:
    with open(path, "rb") as handle:
        return f"<title>{TITLE}".encode() in handle.read(4096)


def _comparison(runs: list[RunResults], periods: list[Period]) -> list[str]:
    table = compare_runs(runs)
    colors = comparison.scenario_colors(runs)
    by_period = compare_periods(runs, periods)
    return [
        f"<h2>Comparison against {html.escape(runs[0].name)}</h2>",
        '<p class="note">Differences are scenario minus reference; paired on common '
        "replications where the runs share a root seed (common random numbers), "
        "otherwise Welch's t test.</p>",
        _table(table.drop(columns=["reference", "note"])),
        "<ul>"
        + "".join(
            f"<li>{html.escape(s)}: {html.escape(n)}</li>"
            for s, n in table[["scenario", "note"]].drop_duplicates().itertuples(False)
        )
        + "</ul>",
        _img(
            figure_bytes(comparison.in_iraq_figure(runs, colors)),
            "personnel in Iraq by scenario",
        ),
        _img(
            figure_bytes(comparison.incidents_by_scenario_figure(runs, colors)),
            "incidents by sector and scenario",
        ),
        _img(figure_bytes(comparison.forest_figure(table, colors)), "KPI differences"),
        "<h3>By period (a month; scenario minus reference, paired where the seeds are common)</h3>",
        _table(by_period.drop(columns=["reference", "note"])),
    ]


def report(
    run_dirs: list[str | Path],
    out: str | Path,
    periods: list[str] | None = None,
    exceed: list[str] | None = None,
) -> Path:
    """Write the HTML report of ``run_dirs`` to ``out`` and return its path; ``periods``
    (``NAME=START..END``) replace the phase periods, ``exceed`` (``KPI>=VALUE``) the default
    thresholds."""
    out = Path(out)
    check_output(out, (".html",), "a report", _is_report)
    runs = load_runs(run_dirs, REPORT_TABLES)
    names = ", ".join(run.name for run in runs)
    parts = [
        f"<h1>withdrawal-sim report: {html.escape(names)}</h1>",
        '<p class="note">Strategic and notional model built on public information only. '
        "Bands and intervals are 95% t-based confidence intervals of the mean over "
        "replications.</p>",
    ]
    spans = chosen_periods(periods, runs[0])
    thresholds = chosen_thresholds(exceed)
    if len(runs) > 1:
        parts += _comparison(runs, spans)
    parts += [
        "<h2>Risk</h2>",
        '<p class="note">Exceedance probabilities: the share of replications reaching each '
        "threshold, with Wilson 95% intervals; without thresholds given, the reference's 90th "
        "percentile of each window KPI.</p>",
        _table(exceedance_table(runs, thresholds)),
        _img(figure_bytes(timeline_figure(runs)), "expected incidents a day by sector"),
    ]
    parts += [_run_section(run, runs[0], spans) for run in runs]
    parts += [
        "<h2>KPI definitions</h2>",
        _table(kpi_definitions(kpi_names(runs[0]))),
        '<p class="note">By period: '
        + "; ".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in PERIOD_KPIS.items())
        + ". Periods are cut at the reference's scheduled phase start dates unless given.</p>",
    ]
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{TITLE}{html.escape(names)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, page.encode("utf-8"))
    return out
